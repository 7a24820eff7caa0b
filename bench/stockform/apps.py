from django.apps import AppConfig


class StockFormConfig(AppConfig):
    """A stock Wagtail form page, the baseline of bench/ingest (installed by bench/settings.py only)."""

    name = "bench.stockform"
    label = "stockform"
    default_auto_field = "django.db.models.BigAutoField"
