"""The person registry: one row per real person, however many forms name them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from forms_engine.models import Submission
from places.models import Area, Place

LEVEL_NONE = ""
LEVEL_SUSPECTED = "suspected"
LEVEL_CLEARED = "cleared"
LEVEL_RECOVERED = "recovered"
LEVEL_DECEASED = "deceased"
MAX_DEGREE = 5  # F0 … F5: deeper links are not classified


def f_level(degree: int) -> str:
    """ "F0" for a confirmed case, "F1" for its close contacts, and so on."""
    return f"F{degree}"


def f_degree(level: str) -> int | None:
    """The number of an F level ("F2" → 2); None for the other states."""
    return int(level[1:]) if level[:1] == "F" and level[1:].isdigit() else None


LEVEL_CHOICES = [
    (LEVEL_NONE, _("Not classified")),
    *((f_level(n), f"F{n}") for n in range(MAX_DEGREE + 1)),
    (LEVEL_SUSPECTED, _("Suspected")),
    (LEVEL_CLEARED, _("Cleared")),
    (LEVEL_RECOVERED, _("Recovered")),
    (LEVEL_DECEASED, _("Deceased")),
]


class Person(models.Model):
    SEX_CHOICES = [("female", _("Female")), ("male", _("Male"))]

    national_id = models.CharField(_("citizen ID / ID card"), max_length=12, blank=True)
    full_name = models.CharField(_("full name"), max_length=100)
    name_folded = models.CharField(max_length=100, editable=False)  # accent-free, lower case
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
    level = models.CharField(_("level"), max_length=12, choices=LEVEL_CHOICES, blank=True)
    level_at = models.DateTimeField(_("level since"), null=True, blank=True)
    merged_into = models.ForeignKey(  # set when staff merged this duplicate into another person
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
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
        # An expansion updates the levels of a hundred persons at once. With no index on the
        # columns it changes (level, level_at, updated_at) and room left in each page (fillfactor,
        # migration 0003), PostgreSQL updates them in place (HOT) without writing any index.
        # The listing's filter by level reads the area's persons instead. No db_index on text:
        # PostgreSQL would add a second, pattern-matching index nothing here uses.
        indexes = [
            models.Index(fields=["phone", "name_folded", "birth_year"], name="person_match"),
            models.Index(fields=["name_folded", "birth_year"], name="person_name_year"),  # duplicates
        ]

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


# --- Classification ---------------------------------------------------------------------


class Classification(models.Model):
    """One change of a person's level: the history the person page shows.

    Person.level holds the current level; every change to it writes one of these rows in the
    same transaction (tracing/classify.py is the only writer of both).
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="classifications")
    level_from = models.CharField(_("from"), max_length=12, choices=LEVEL_CHOICES, blank=True)
    level = models.CharField(_("level"), max_length=12, choices=LEVEL_CHOICES, blank=True)
    case = models.ForeignKey(  # the F0 whose expansion or exposure made this level
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Written a hundred at a time by expansions and read by person: no other index to keep up.
    source_submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    job = models.CharField(_("job"), max_length=160, blank=True)  # the event key a job acted on
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    # Where the person belonged when the change was counted (reports fill it in then): the
    # counters and a rebuild count the change there, even after a merge or a new home address.
    area = models.ForeignKey(
        Area,
        verbose_name=_("counted in"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("classification")
        verbose_name_plural = _("classifications")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.person_id}: {self.level_from or '-'} → {self.level or '-'}"


# --- Contact graph ----------------------------------------------------------------------


class Contact(models.Model):
    """An exposure between two persons: an edge of the contact graph (read both ways)."""

    SETTING_HOUSEHOLD = "household"
    SETTING_WORKPLACE = "workplace"
    SETTING_INDUSTRIAL_PARK = "industrial_park"
    SETTING_VENUE = "venue"
    SETTING_TRANSPORT = "transport"
    SETTING_OTHER = "other"
    SETTING_CHOICES = [
        (SETTING_HOUSEHOLD, _("Household")),
        (SETTING_WORKPLACE, _("Workplace")),
        (SETTING_INDUSTRIAL_PARK, _("Industrial park")),
        (SETTING_VENUE, _("Venue")),
        (SETTING_TRANSPORT, _("Transport")),
        (SETTING_OTHER, _("Other")),
    ]
    FOUND_INTERVIEW = "interview"
    FOUND_COLOCATION = "colocation"
    FOUND_IMPORT = "import"
    FOUND_CHOICES = [
        (FOUND_INTERVIEW, _("Tracing interview")),
        (FOUND_COLOCATION, _("Co-location (QR check-ins)")),
        (FOUND_IMPORT, _("Import")),
    ]

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contacts_named")
    contact = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contacts_of")
    exposure_date = models.DateField(_("exposure date"), null=True, blank=True)
    setting = models.CharField(_("setting"), max_length=20, choices=SETTING_CHOICES, default=SETTING_OTHER)
    place = models.ForeignKey(
        Place, verbose_name=_("place"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    found_by = models.CharField(_("found by"), max_length=12, choices=FOUND_CHOICES)
    source_submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            # Recording the same exposure again (a job run twice, a re-import) adds nothing.
            models.UniqueConstraint(
                fields=["person", "contact", "found_by", "setting"], name="unique_contact_edge"
            ),
        ]
        # The graph is walked both ways: from a person to the ones they named and back.
        indexes = [models.Index(fields=["contact", "person"], name="contact_reverse")]

    def __str__(self):
        return f"{self.person_id} — {self.contact_id} ({self.setting})"


class CheckIn(models.Model):
    """A person at a place at a time, from a QR declaration or a checkpoint passage: what
    co-location exposure is computed from."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="checkins")
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(_("time"))
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        indexes = [models.Index(fields=["place", "at"], name="checkin_place_time")]

    def __str__(self):
        return f"{self.person_id} @ {self.place_id} {self.at:%Y-%m-%d %H:%M}"


class Cluster(models.Model):
    """Cases and contacts grouped by a shared workplace: an industrial park and its workshop."""

    name = models.CharField(_("name"), max_length=200)
    place = models.ForeignKey(Place, verbose_name=_("place"), on_delete=models.PROTECT, related_name="+")
    workshop = models.CharField(_("workshop"), max_length=200, blank=True)
    workshop_folded = models.CharField(max_length=200, blank=True, editable=False)
    first_case = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")
        constraints = [
            models.UniqueConstraint(fields=["place", "workshop_folded"], name="unique_cluster_workplace")
        ]

    def __str__(self):
        return self.name


class ClusterMember(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="cluster_memberships")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "person"], name="unique_cluster_member")]

    def __str__(self):
        return f"{self.cluster_id}: {self.person_id}"


# --- Quarantine, alerts, tests ----------------------------------------------------------


class QuarantineRule(models.Model):
    """How long a level is quarantined, and where: data the province changes as guidance does."""

    KIND_FACILITY = "facility"
    KIND_HOME = "home"
    KIND_CHOICES = [(KIND_FACILITY, _("Facility quarantine")), (KIND_HOME, _("Home quarantine"))]

    level = models.CharField(_("level"), max_length=12, choices=LEVEL_CHOICES, unique=True)
    kind = models.CharField(_("where"), max_length=12, choices=KIND_CHOICES)
    days = models.PositiveSmallIntegerField(_("days"))
    self_monitoring_days = models.PositiveSmallIntegerField(_("self-monitoring days after"), default=0)

    class Meta:
        verbose_name = _("quarantine rule")
        verbose_name_plural = _("quarantine rules")
        ordering = ["level"]

    def __str__(self):
        return f"{self.level}: {self.get_kind_display()} {self.days}"


class QuarantineOrder(models.Model):
    STATUS_ACTIVE = "active"
    STATUS_COMPLETED = "completed"
    STATUS_BROKEN = "broken"
    STATUS_TRANSFERRED = "transferred"
    STATUS_CHOICES = [
        (STATUS_ACTIVE, _("Active")),
        (STATUS_COMPLETED, _("Completed")),
        (STATUS_BROKEN, _("Broken")),
        (STATUS_TRANSFERRED, _("Transferred")),
    ]

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="quarantines"
    )
    kind = models.CharField(_("where"), max_length=12, choices=QuarantineRule.KIND_CHOICES)
    facility = models.ForeignKey(  # indexed by quarantine_facility_status, below
        Place,
        verbose_name=_("facility"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    area = models.ForeignKey(  # whose teams watch it: the facility's area, or the home village
        Area, verbose_name=_("area"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(_("level when ordered"), max_length=12, choices=LEVEL_CHOICES, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    start_date = models.DateField(_("start"))
    planned_end = models.DateField(_("planned end"))
    status = models.CharField(_("status"), max_length=12, choices=STATUS_CHOICES, default=STATUS_ACTIVE)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # No indexes on the next three: nothing looks orders up by them, and every F0's expansion
    # inserts dozens of orders, each paying every index (deleting a submission or a user, which
    # sets these to NULL, is rare enough to scan for).
    source_submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    release_submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("quarantine order")
        verbose_name_plural = _("quarantine orders")
        constraints = [
            # One active order per person: a job run twice, or two rules at once, add nothing.
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="active"), name="one_active_quarantine"
            ),
        ]
        indexes = [
            # A facility's orders and its occupancy (active ones). Home orders, most of a new
            # case's, have no facility and stay out of it: each insert pays one index fewer.
            models.Index(
                fields=["facility", "status"],
                name="quarantine_facility_status",
                condition=Q(facility__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.person} — {self.get_kind_display()} {self.start_date}–{self.planned_end}"


class QuarantineCheckIn(models.Model):
    """A daily health check-in attached to the order active when it was made."""

    order = models.ForeignKey(QuarantineOrder, on_delete=models.CASCADE, related_name="checkins")
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="+")
    date = models.DateField(_("date"))
    temperature = models.DecimalField(
        _("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    spo2 = models.PositiveSmallIntegerField(_("SpO2 (%)"), null=True, blank=True)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)

    class Meta:
        verbose_name = _("quarantine check-in")
        verbose_name_plural = _("quarantine check-ins")
        indexes = [models.Index(fields=["order", "date"], name="qcheckin_order_date")]

    def __str__(self):
        return f"{self.order_id} {self.date}"


class Alert(models.Model):
    KIND_MISSED_CHECKIN = "missed_checkin"
    KIND_FEVER = "fever"
    KIND_LOW_SPO2 = "low_spo2"
    KIND_SYMPTOMS = "symptoms"
    KIND_EXPOSURE = "exposure"
    KIND_CHOICES = [
        (KIND_MISSED_CHECKIN, _("No check-in today")),
        (KIND_FEVER, _("Fever")),
        (KIND_LOW_SPO2, _("Low SpO2")),
        (KIND_SYMPTOMS, _("Symptoms")),
        (KIND_EXPOSURE, _("Co-location exposure")),
    ]

    # What makes the alert once: "missed_checkin:<order>:<date>", "fever:<submission>"…
    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=KIND_CHOICES)
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="alerts"
    )
    area = models.ForeignKey(
        Area, verbose_name=_("area"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order = models.ForeignKey(
        QuarantineOrder, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(_("message"), max_length=300)
    created_at = models.DateTimeField(_("raised at"), default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.person}"


class TestRequest(models.Model):
    __test__ = False  # a model, not a test class (pytest collects "Test*" names)

    REASON_F1 = "f1"
    REASON_SYMPTOMS = "symptoms"
    REASON_EXPOSURE = "exposure"
    REASON_CHOICES = [
        (REASON_F1, _("Close contact (F1)")),
        (REASON_SYMPTOMS, _("Symptoms or fever")),
        (REASON_EXPOSURE, _("Co-location exposure")),
    ]
    STATUS_OPEN = "open"
    STATUS_DONE = "done"
    STATUS_CANCELLED = "cancelled"
    STATUS_CHOICES = [(STATUS_OPEN, _("Open")), (STATUS_DONE, _("Done")), (STATUS_CANCELLED, _("Cancelled"))]

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="test_requests"
    )
    reason = models.CharField(_("reason"), max_length=12, choices=REASON_CHOICES)
    area = models.ForeignKey(
        Area, verbose_name=_("area"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("status"), max_length=12, choices=STATUS_CHOICES, default=STATUS_OPEN)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    result_submission = models.ForeignKey(  # not indexed, as the orders' submissions
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("test request")
        verbose_name_plural = _("test requests")
        constraints = [
            # One open request per person: an F1 with a fever is tested once, not twice.
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="open"), name="one_open_test_request"
            )
        ]

    def __str__(self):
        return f"{self.person} — {self.get_reason_display()}"


# --- Merging duplicates -----------------------------------------------------------------


class PersonMerge(models.Model):
    """Staff merged ``absorbed`` into ``kept``: every row that named ``absorbed`` now names
    ``kept``. ``moved`` lists them (model label → ids) so that a later merge record can undo it."""

    kept = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    absorbed = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    moved = models.JSONField(default=dict)
    undoes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by"
    )
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("merge of persons")
        verbose_name_plural = _("merges of persons")
        ordering = ["-merged_at"]

    def __str__(self):
        return f"{self.absorbed_id} → {self.kept_id}"


@register_setting(icon="crosshairs")
class TracingSettings(BaseGenericSetting):
    """The province's tracing rules, edited in Settings › Tracing (guidance changed often in 2021)."""

    expansion_depth = models.PositiveSmallIntegerField(
        _("contact levels to classify"), default=2, help_text=_("2: an F0's contacts are F1, theirs F2.")
    )
    colocation_window_minutes = models.PositiveIntegerField(
        _("co-location window (minutes)"),
        default=120,
        help_text=_(
            "Everyone checked in at a case's place this long before or after the case is a suspected contact."
        ),
    )
    colocation_days = models.PositiveSmallIntegerField(
        _("co-location look-back (days)"),
        default=14,
        help_text=_("Check-ins of a new case this far back count."),
    )
    fever_celsius = models.DecimalField(_("fever from (°C)"), max_digits=4, decimal_places=1, default=37.5)
    spo2_alert_below = models.PositiveSmallIntegerField(_("SpO2 alert below (%)"), default=96)
    hot_origins = models.TextField(
        _("hot areas"),
        blank=True,
        help_text=_(
            "Origins (as the checkpoint form records them, one per line) whose travellers are put in "
            "home quarantine."
        ),
    )
    traveller_quarantine_days = models.PositiveSmallIntegerField(
        _("home quarantine for travellers (days)"), default=7
    )

    class Meta:
        verbose_name = _("tracing settings")

    def hot_origin_values(self) -> set[str]:
        return {line.strip() for line in self.hot_origins.splitlines() if line.strip()}
