from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaSequence(models.Model):
    """The number of the last live event sent to one area's group (realtime/sequence.py).

    Kept in the database, not in Redis: Redis holds nothing that must outlive it (it may be
    restarted empty), and a number that went back to 0 would make every open page skip the
    events after a restart as "already seen". ``code`` is the area's code, not a foreign key:
    realtime imports no domain app, and a number must survive its area being renamed.
    """

    code = models.CharField(_("area code"), max_length=100, primary_key=True)
    value = models.BigIntegerField(_("last sequence number"), default=0)

    class Meta:
        verbose_name = _("live sequence number")
        verbose_name_plural = _("live sequence numbers")

    def __str__(self):
        return f"{self.code}: {self.value}"
