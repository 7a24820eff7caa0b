"""Forms (Wagtail pages), their published versions and their submissions."""

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, HelpPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import DraftStateMixin, Page, RevisionMixin, WorkflowMixin

from places.models import Area, Place
from places.selectors import place_in_use

from .blocks import FormFieldsBlock
from .keys import assign_keys, check_against_version

KIND_CHECKPOINT = "checkpoint"
KIND_TRACING = "tracing"
KIND_QUARANTINE_CHECKIN = "quarantine_checkin"
KIND_VACCINATION = "vaccination"
KIND_TESTING = "testing"
KIND_HEALTH_DECLARATION = "health_declaration"
KIND_QUARANTINE_RELEASE = "quarantine_release"
KIND_CUSTOM = "custom"
KIND_CHOICES = [
    (KIND_CHECKPOINT, _("Checkpoint declaration")),
    (KIND_TRACING, _("Tracing interview")),
    (KIND_QUARANTINE_CHECKIN, _("Quarantine check-in")),
    (KIND_VACCINATION, _("Vaccination record")),
    (KIND_TESTING, _("Test result")),
    (KIND_HEALTH_DECLARATION, _("Health declaration")),
    (KIND_QUARANTINE_RELEASE, _("End of quarantine")),
    (KIND_CUSTOM, _("Custom")),
]

ROLES_HELP = _(
    "Roles tell the system what a field means. Checkpoint: person, direction, place, origin, "
    "destination, vehicle_plate, symptoms, companions. Tracing: person, "
    "interview_subject (case/contact), workplace, workshop, onset_date, contacts (repeat with "
    "relationship, setting, exposure_date). Quarantine check-in: person, "
    "quarantine_type, place, temperature, spo2, symptoms. Vaccination: person, vaccine, dose, "
    "vaccination_date, place, lot_number. Testing: person, test_type, pooled_sample_id, "
    "sample_date, place, test_result, ct_value. Health declaration: person, place, symptoms, "
    "exposure, consent. End of quarantine: person, release_date. See docs/forms.md."
)


# What a public form says about the data it collects (FormPage.consent_notice), unless its
# editor wrote a text of its own. Decree 13/2023/NĐ-CP asks for: what, why, how long, who.
CONSENT_DEFAULT = _(
    "What you enter here is used only for the prevention and control of the epidemic. "
    "It is seen by the health staff of the province and of your area, and shared with nobody else. "
    "By sending it you agree to this processing (Decree 13/2023/ND-CP on personal data protection)."
)
CONSENT_DECLARATION = _(
    "We collect what you declare (name, phone number, citizen ID, address, the place and time, "
    "your health and travel) only to find and warn the people at risk if an infected person "
    "was at the same place. It is seen by the health staff of the province and of your area, "
    "and shared with nobody else. %(days)s days after your declaration your personal data is "
    "erased; only counts without names are kept. By sending it you agree to this processing "
    "(Decree 13/2023/ND-CP on personal data protection)."
)

# fn(form page, request) -> None or {"values", "area_chains"}: what the form opens with.
FORM_INITIAL_HOOK = "form_initial_values"


class FormPage(Page):
    """A form an admin designs: its fields are blocks; each publication is a new version."""

    kind = models.CharField(_("kind"), max_length=32, choices=KIND_CHOICES, default=KIND_CUSTOM)
    area = models.ForeignKey(
        Area,
        verbose_name=_("area"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where the form is used; area pickers start here."),
    )
    is_public = models.BooleanField(
        _("public"),
        default=False,
        help_text=_("Anyone may submit without logging in (health declarations by QR)."),
    )
    intro = RichTextField(_("introduction"), blank=True)
    fields = StreamField(FormFieldsBlock(), verbose_name=_("fields"), blank=True)
    thank_you_text = models.CharField(
        _("thank-you text"), max_length=300, blank=True, default="Đã ghi nhận. Cảm ơn bạn!"
    )
    consent_text = models.TextField(
        _("consent text"),
        blank=True,
        help_text=_(
            "Shown above a public form: what is collected, why, for how long and who sees it. "
            "Empty: the standard text, with the retention period of health declarations."
        ),
    )
    submission_workflow = models.ForeignKey(
        "wagtailcore.Workflow",
        verbose_name=_("approval workflow for submissions"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "Empty: every valid submission is accepted at once. Chosen: each submission waits "
            "in review until the workflow approves it (Settings › Workflows defines them)."
        ),
    )

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [
                FieldPanel("kind"),
                FieldPanel("area"),
                FieldPanel("is_public"),
                FieldPanel("consent_text"),
                FieldPanel("submission_workflow"),
            ],
            heading=_("form"),
        ),
        FieldPanel("intro"),
        HelpPanel(content=ROLES_HELP, heading=_("roles")),
        FieldPanel("fields"),
        FieldPanel("thank_you_text"),
    ]
    subpage_types = []

    class Meta:
        verbose_name = _("form")
        verbose_name_plural = _("forms")

    def clean(self):
        super().clean()
        errors = assign_keys(self.fields)
        latest = self.current_version if self.pk else None
        if latest and self.submissions.exists():
            errors += check_against_version(self.fields, latest.schema)
        if errors:
            raise ValidationError({"fields": errors})

    def get_template(self, request, *args, **kwargs):
        return "forms_engine/form_page.html"

    def get_context(self, request, *args, **kwargs):
        """The page renders from the same schema document the API serves."""
        from .schema import form_document
        from .selectors import may_use_staff_form

        context = super().get_context(request, *args, **kwargs)
        version = self.current_version
        qr_place = place_in_use(request.GET.get("qr", ""))
        login_required = not self.is_public and not may_use_staff_form(self, user=request.user)
        context.update(
            form_document=form_document(version) if version else None,
            qr_place={"code": qr_place.code, "name": qr_place.name} if qr_place else None,
            login_required=login_required,
            consent_notice=self.consent_notice() if self.is_public else "",
            form_initial=self.initial_values(request) if version and not login_required else None,
            map_tile_url=settings.MAP_TILE_URL,
            map_tile_attribution=settings.MAP_TILE_ATTRIBUTION,
        )
        return context

    def consent_notice(self) -> str:
        """What a public form tells the citizen before they fill it: the page's own consent
        text, else the standard one (a health declaration's with its retention period)."""
        if self.consent_text.strip():
            return self.consent_text
        if self.kind == KIND_HEALTH_DECLARATION:
            days = settings.HEALTH_DECLARATION_RETENTION_DAYS
            return str(CONSENT_DECLARATION % {"days": days})
        return str(CONSENT_DEFAULT)

    def initial_values(self, request) -> dict | None:
        """Values to open the form with, from the first FORM_INITIAL_HOOK that has some:
        ``{"values": {field key: value}, "area_chains": {area code: [codes down to it]}}``
        (a test request opens the testing form with its person: tracing/testing.py)."""
        for initial in hooks.get_hooks(FORM_INITIAL_HOOK):
            found = initial(self, request)
            if found:
                return found
        return None

    @property
    def current_version(self) -> "FormVersion | None":
        return self.versions.order_by("-number").first()


class FormVersion(models.Model):
    """The schema of one published revision, frozen: submissions always show these labels."""

    form = models.ForeignKey(FormPage, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    revision = models.ForeignKey(
        "wagtailcore.Revision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    schema = models.JSONField(_("schema"))
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        verbose_name = _("form version")
        verbose_name_plural = _("form versions")
        constraints = [models.UniqueConstraint(fields=["form", "number"], name="unique_form_version")]

    def __str__(self):
        return f"{self.form.title} v{self.number}"


class Submission(WorkflowMixin, DraftStateMixin, RevisionMixin, models.Model):
    """One filled form. Committed before anything else happens; never silently lost.

    A snippet under Wagtail's workflows: when its form names a submission workflow, it is
    stored ``in_review`` (not live), its first revision goes to the approvers, and the
    workflow's end sets its status (workflows/transitions.py). Without one it is live and
    ``accepted`` at once.
    """

    # Thousands arrive a minute: Wagtail's reference index ("usage") has no use for them.
    wagtail_reference_index_ignore = True

    STATUS_ACCEPTED = "accepted"
    STATUS_IN_REVIEW = "in_review"
    STATUS_REJECTED = "rejected"
    STATUS_CHOICES = [
        (STATUS_ACCEPTED, _("Accepted")),
        (STATUS_IN_REVIEW, _("In review")),
        (STATUS_REJECTED, _("Rejected")),
    ]
    SOURCE_WEB = "web"
    SOURCE_OFFLINE = "offline"
    SOURCE_API = "api"
    SOURCE_IMPORT = "import"
    SOURCE_CHOICES = [
        (SOURCE_WEB, _("Web")),
        (SOURCE_OFFLINE, _("Offline (sent later)")),
        (SOURCE_API, _("API")),
        (SOURCE_IMPORT, _("Import")),
    ]

    form = models.ForeignKey(
        FormPage, verbose_name=_("form"), on_delete=models.PROTECT, related_name="submissions"
    )
    version = models.ForeignKey(
        FormVersion, verbose_name=_("version"), on_delete=models.PROTECT, related_name="+"
    )
    client_id = models.UUIDField(_("client id"), default=uuid.uuid4)
    data = models.JSONField(_("data"))
    data_hash = models.CharField(max_length=64, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=STATUS_CHOICES, default=STATUS_ACCEPTED)
    status_reason = models.TextField(_("reason"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=SOURCE_CHOICES, default=SOURCE_WEB)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    token = models.ForeignKey(
        "wagtailcore.APIToken",
        verbose_name=_("API token"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    area = models.ForeignKey(
        Area, verbose_name=_("area"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    place = models.ForeignKey(
        Place, verbose_name=_("place"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    client_created_at = models.DateTimeField(_("filled at (device time)"), null=True, blank=True)
    created_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    # Set when the retention job blanked its personal data (tracing/retention.py).
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)

    # Deleting a submission deletes its revisions and workflow states with it.
    _revisions = GenericRelation("wagtailcore.Revision", related_query_name="submission")

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["-created_at"]
        constraints = [
            # Retries of one submission, however concurrent, can never make two rows.
            models.UniqueConstraint(fields=["form", "client_id"], name="unique_submission_client_id"),
        ]
        indexes = [
            models.Index(fields=["form", "status", "created_at"]),
            # The retention job's question, cheap however many were anonymised before.
            models.Index(
                fields=["form", "created_at"],
                name="submission_to_anonymise",
                condition=models.Q(anonymised_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.form.title} #{self.pk}"

    def get_workflow(self):
        """The workflow its form names for submissions (an inactive one counts as none)."""
        workflow = self.form.submission_workflow
        return workflow if workflow is not None and workflow.active else None


class Upload(models.Model):
    """A photo or file sent before its submission; the submission names it by id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(_("file"), upload_to="uploads/%Y/%m/")
    content_type = models.CharField(_("type"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")

    def __str__(self):
        return f"{self.content_type} {self.size} B"


class ImportJob(models.Model):
    """One uploaded file of rows to import, checked in a dry run, then imported on confirmation.

    The job keeps the importer's area: every row is judged against it, in the background,
    whatever happens to the user's own area meanwhile. Counts, progress and the first row
    errors live on the row (the progress bar polls them); every error is in ``errors_file``.
    """

    KIND_SUBMISSIONS = "submissions"
    KIND_AREAS = "areas"
    KIND_PLACES = "places"
    KIND_PERSONS = "persons"
    KIND_USERS = "users"
    KIND_CHOICES = [
        (KIND_SUBMISSIONS, _("Submissions of a form")),
        (KIND_AREAS, _("Villages and residential groups")),
        (KIND_PLACES, _("Places")),
        (KIND_PERSONS, _("Persons")),
        (KIND_USERS, _("Users and their areas")),
    ]
    FORMAT_CSV = "csv"
    FORMAT_XLSX = "xlsx"
    FORMAT_JSON = "json"
    FORMAT_CHOICES = [(FORMAT_CSV, "CSV"), (FORMAT_XLSX, "XLSX"), (FORMAT_JSON, "JSON")]
    STATUS_UPLOADED = "uploaded"
    STATUS_CHECKING = "checking"
    STATUS_CHECKED = "checked"
    STATUS_IMPORTING = "importing"
    STATUS_DONE = "done"
    STATUS_FAILED = "failed"
    STATUS_CHOICES = [
        (STATUS_UPLOADED, _("Uploaded")),
        (STATUS_CHECKING, _("Checking")),
        (STATUS_CHECKED, _("Checked")),
        (STATUS_IMPORTING, _("Importing")),
        (STATUS_DONE, _("Done")),
        (STATUS_FAILED, _("Failed")),
    ]
    RUNNING = (STATUS_UPLOADED, STATUS_CHECKING, STATUS_IMPORTING)

    kind = models.CharField(_("what"), max_length=16, choices=KIND_CHOICES)
    form = models.ForeignKey(
        FormPage, verbose_name=_("form"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=255)
    format = models.CharField(_("format"), max_length=8, choices=FORMAT_CHOICES)
    status = models.CharField(_("status"), max_length=16, choices=STATUS_CHOICES, default=STATUS_UPLOADED)
    all_or_nothing = models.BooleanField(
        _("all or nothing"),
        default=True,
        help_text=_("Import nothing when a row fails; otherwise import only the valid rows."),
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    count_new = models.PositiveIntegerField(_("new"), default=0)
    count_updated = models.PositiveIntegerField(_("updated"), default=0)
    count_skipped = models.PositiveIntegerField(_("skipped"), default=0)
    count_failed = models.PositiveIntegerField(_("failed"), default=0)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    preview = models.JSONField(_("preview"), default=dict, blank=True)
    errors = models.JSONField(_("first row errors"), default=list, blank=True)
    errors_file = models.FileField(_("row errors (CSV)"), upload_to="imports/errors/%Y/%m/", blank=True)
    message = models.TextField(_("message"), blank=True)
    scope_area = models.ForeignKey(
        Area,
        verbose_name=_("importer's area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: the whole tree (a superuser's import)."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("imported by"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.file_name}"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING
