"""The event outbox: state changes that must cause work, written in the transaction that makes them.

A row here is committed with the change it records (a submission accepted, rejected…), so a
change can never happen without its event nor an event without its change. The relay
(``workflows/relay.py``) hands each event to RQ after commit, once per handler; a job marks
its handler done in the transaction of its own work (``EventHandled``), so an event relayed
twice is handled once.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    kind = models.CharField(_("kind"), max_length=64)
    # One state change, one event: "submission.accepted:42" cannot be recorded twice.
    key = models.CharField(_("key"), max_length=128, unique=True)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    relayed_at = models.DateTimeField(_("relayed at"), null=True, blank=True)
    relay_count = models.PositiveIntegerField(_("times relayed"), default=0)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    last_error = models.TextField(_("last relay error"), blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            # The relay's and the sweep's scans: what is not yet relayed, what is not yet done.
            models.Index(fields=["id"], condition=models.Q(relayed_at=None), name="event_unrelayed"),
            models.Index(fields=["relayed_at"], condition=models.Q(done_at=None), name="event_undone"),
        ]

    def __str__(self):
        return self.key


class EventHandled(models.Model):
    """One handler's work on one event, committed together with that work."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="handled")
    handler = models.CharField(_("handler"), max_length=128)
    handled_at = models.DateTimeField(_("handled at"), default=timezone.now)
    result = models.JSONField(_("result"), null=True, blank=True)

    class Meta:
        verbose_name = _("handled event")
        verbose_name_plural = _("handled events")
        constraints = [models.UniqueConstraint(fields=["event", "handler"], name="unique_event_handler")]

    def __str__(self):
        return f"{self.event.key} → {self.handler}"


# The task types live in tasks.py; importing them here is how Django finds their models.
from .tasks import AreaGroupApprovalTask, AreaTaskState, RuleTask  # noqa: E402, F401
