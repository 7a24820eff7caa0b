"""The demo province's quarantine rules and tracing settings, as Khánh Hòa had them in
August 2021: data an admin edits in the admin as guidance changes, loaded idempotently.

F1: 14 days in a facility, then 14 days of self-monitoring at home; F2: 7 days at home.
Travellers from Hồ Chí Minh City and Bình Dương were put in home quarantine on arrival.
"""

from tracing.models import QuarantineRule, TracingSettings

RULES = (
    # level, where, days, self-monitoring days after
    ("F1", QuarantineRule.KIND_FACILITY, 14, 14),
    ("F2", QuarantineRule.KIND_HOME, 7, 0),
)
# Origins as the checkpoint form stores them (its province choices' values: demo/forms.py).
HOT_ORIGINS = ("79", "74")  # TP. Hồ Chí Minh, Bình Dương


def demo_tracing_rules_load() -> str:
    """The rules by level, and the hot origins added to whatever the settings list already."""
    for level, kind, days, monitoring in RULES:
        QuarantineRule.objects.update_or_create(
            level=level, defaults={"kind": kind, "days": days, "self_monitoring_days": monitoring}
        )
    settings = TracingSettings.load()
    missing = [origin for origin in HOT_ORIGINS if origin not in settings.hot_origin_values()]
    if missing:
        settings.hot_origins = "\n".join([*settings.hot_origins.splitlines(), *missing]).strip()
        settings.save(update_fields=["hot_origins"])
    return f"{len(RULES)} quarantine rules, hot origins {', '.join(sorted(settings.hot_origin_values()))}"
