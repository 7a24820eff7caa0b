"""Quarantine orders by rule, daily check-ins, alerts, release and occupancy.

STUB — interfaces agreed for parallel work; the tracing issue fills them in.
"""


def orders_for_level(person_ids: list[int], level: str, *, case_id=None, job: str = "") -> list[int]:
    """An order for each person without an active one, by the level's QuarantineRule."""
    return None  # stub


def travellers_order(items) -> None:
    """Checkpoint arrivals from a hot area (TracingSettings.hot_origins): home quarantine."""
    return None  # stub


def checkins_record(items) -> None:
    """Daily check-ins attached to the person's active order; fever/SpO2/symptom alerts."""
    return None  # stub


def releases_record(items) -> None:
    """Accepted end-of-quarantine submissions complete the person's active order."""
    return None  # stub


def missed_checkins_alert(today=None) -> int:
    """An alert for each active order without a check-in today (scheduled; idempotent)."""
    return None  # stub
