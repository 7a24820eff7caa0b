"""The person registry: one row per real person, however many forms name them."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from forms_engine.models import Submission
from places.models import Area, Place


class Person(models.Model):
    SEX_CHOICES = [("female", _("Female")), ("male", _("Male"))]

    national_id = models.CharField(_("citizen ID / ID card"), max_length=12, blank=True)
    full_name = models.CharField(_("full name"), max_length=100)
    name_folded = models.CharField(max_length=100, editable=False, db_index=True)  # accent-free, lower case
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("year of birth"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=8, choices=SEX_CHOICES, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)  # E.164
    home_area = models.ForeignKey(
        Area, verbose_name=_("home area"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    workplace = models.ForeignKey(
        Place, verbose_name=_("workplace"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            # A citizen ID names one person; many persons may have none recorded.
            models.UniqueConstraint(
                fields=["national_id"], condition=~Q(national_id=""), name="unique_person_national_id"
            ),
        ]
        indexes = [models.Index(fields=["phone", "name_folded", "birth_year"], name="person_match")]

    def __str__(self):
        return f"{self.full_name} ({self.birth_year or '?'})"


class SubmissionPerson(models.Model):
    """Which person a submission's person field named: resolved once per submission and field."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=100)  # the field's key in the submission's data
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="submission_links")
    created = models.BooleanField(default=False)  # this submission brought the person in

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "path"], name="unique_submission_person")
        ]

    def __str__(self):
        return f"{self.submission_id}.{self.path} → {self.person_id}"


class DuplicateCandidate(models.Model):
    """Two persons that may be one (same name and birth year, different or missing identifiers),
    for staff to merge or dismiss."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [models.UniqueConstraint(fields=["person", "other"], name="unique_duplicate_pair")]

    def __str__(self):
        return f"{self.person} ~ {self.other}"
