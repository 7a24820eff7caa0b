"""Daily counters by area, and the areas' boundaries for the choropleth.

A ``DailyCount`` row is one number: how much of ``metric`` (under ``key``) happened on ``date``
in ``area`` and everything below it. Every event bumps its own area's row and each ancestor's,
so the dashboard of a province, a district or a commune reads its own rows only — a few
hundred, however many submissions made them.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.documents import get_document_model_string

from places.models import Area


class DailyCount(models.Model):
    # No index of its own: the unique constraint's index starts with the area.
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    date = models.DateField(_("date"))
    metric = models.CharField(_("metric"), max_length=32)
    # What the metric is broken down by: origin province, test type, "vaccine|dose", facility|home…
    # "" is the total over every key (metrics without a breakdown have that row only).
    key = models.CharField(_("key"), max_length=64, blank=True, default="")
    value = models.BigIntegerField(_("value"), default=0)

    class Meta:
        verbose_name = _("daily count")
        verbose_name_plural = _("daily counts")
        constraints = [
            # The one index: counters are bumped by it (upsert) and read by area and metric, a
            # range of dates (a series) or everything up to a date (a cumulative total).
            models.UniqueConstraint(fields=["area", "metric", "key", "date"], name="unique_daily_count"),
        ]

    def __str__(self):
        return f"{self.area_id} {self.date} {self.metric}[{self.key}] = {self.value}"


class AreaBoundary(models.Model):
    """An area's outline (a GeoJSON Polygon or MultiPolygon), imported by ``load_boundaries``."""

    area = models.OneToOneField(
        Area, verbose_name=_("area"), on_delete=models.CASCADE, related_name="boundary"
    )
    geometry = models.JSONField(_("geometry"))
    source = models.CharField(_("source"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("area boundary")
        verbose_name_plural = _("area boundaries")

    def __str__(self):
        return str(self.area)


class CountedOrderEnd(models.Model):
    """The end of a quarantine order as the counters hold it (area, date, kind), so that an end
    taken back (a merge undone reopens the order) is taken out of the same day's counter,
    and an order's end is counted once whatever events say it."""

    order = models.OneToOneField(
        "tracing.QuarantineOrder", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    kind = models.CharField(max_length=12)

    def __str__(self):
        return f"{self.order_id} ended {self.date}"


class MapCase(models.Model):
    """A person who reached F0, F1 or F2, on the day they first did, where they belong: what
    the map reads (by area and date, through one index) instead of the registry."""

    person = models.ForeignKey("tracing.Person", on_delete=models.CASCADE, related_name="+", db_index=False)
    level = models.CharField(max_length=12)
    date = models.DateField()
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "level"], name="unique_map_case")]
        indexes = [models.Index(fields=["area", "date"], name="map_case_area_date")]

    def __str__(self):
        return f"{self.person_id} {self.level} {self.date}"


class SituationReport(models.Model):
    """The daily situation report of one area for one date: a PDF stored as a Wagtail document.

    The row is the outcome: queued when asked for, then done (with its document) or failed
    (with the error). While the job renders, its transaction hides the row's changes until it
    commits, so the progress a page shows meanwhile lives in the cache (reports.situation_jobs).
    """

    STATUS_QUEUED = "queued"
    STATUS_RENDERING = "rendering"
    STATUS_DONE = "done"
    STATUS_FAILED = "failed"
    STATUS_CHOICES = [
        (STATUS_QUEUED, _("Queued")),
        (STATUS_RENDERING, _("Rendering")),
        (STATUS_DONE, _("Done")),
        (STATUS_FAILED, _("Failed")),
    ]

    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.CASCADE, related_name="+")
    date = models.DateField(_("report date"))
    status = models.CharField(_("status"), max_length=12, choices=STATUS_CHOICES, default=STATUS_QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    document = models.ForeignKey(
        get_document_model_string(),
        verbose_name=_("document"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    rendered_at = models.DateTimeField(_("rendered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("situation report")
        verbose_name_plural = _("situation reports")
        ordering = ["-date", "area__path"]
        constraints = [models.UniqueConstraint(fields=["area", "date"], name="unique_situation_report")]

    def __str__(self):
        return f"{self.area} {self.date:%d/%m/%Y}"
