"""The access log: who saw, exported or printed personal data, or was refused it.

Rows are only ever added. The model refuses updates and deletes, and on PostgreSQL a trigger
(migration 0002) refuses them for any SQL, so that nobody with application access can hide a
look at someone's data. Purging old rows, if the law requires it, is a DBA procedure
(docs/security.md, "Audit").
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

APPEND_ONLY_MESSAGE = "Audit records are append-only: they cannot be changed or deleted."
USER_AGENT_MAX_LENGTH = 300


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit record."""


# Deleting a user or an area sets these to NULL (on_delete=SET_NULL): the only change allowed,
# in the model and in the PostgreSQL trigger alike. The copied username keeps the "who".
NULLABLE_ON_DELETE = frozenset({"user", "user_id", "area", "area_id"})


class AccessRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if kwargs and set(kwargs) <= NULLABLE_ON_DELETE and all(v is None for v in kwargs.values()):
            return super().update(**kwargs)
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)

    def delete(self):
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)

    # bulk_update goes through update(); _raw_delete is what Collector uses for fast deletes.
    def _raw_delete(self, using):
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)


class AccessRecord(models.Model):
    """One access to personal data (or one refusal of it)."""

    class Outcome(models.TextChoices):
        SHOWN = "shown", _("shown")
        EXPORTED = "exported", _("exported")
        REFUSED = "refused", _("refused")
        LOGGED_IN = "logged_in", _("logged in")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Copied so that the record still says who it was after the account is deleted.
    username = models.CharField(_("username"), max_length=150, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=20, db_index=True)
    kind = models.CharField(_("kind"), max_length=60, db_index=True)
    object_id = models.CharField(_("object ID"), max_length=255, blank=True, db_index=True)
    area = models.ForeignKey(
        "places.Area",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, db_index=True)
    ip = models.CharField(_("IP address"), max_length=64, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=USER_AGENT_MAX_LENGTH, blank=True)
    path = models.CharField(_("path"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    detail = models.TextField(_("detail"), blank=True)

    objects = AccessRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("access record")
        verbose_name_plural = _("access records")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.username or '-'} {self.action} {self.kind} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(APPEND_ONLY_MESSAGE)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)
