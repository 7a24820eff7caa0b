"""Administrative areas (a tree of any depth), places in them, and each user's area."""

import secrets

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node
from wagtailgeowidget.helpers import geosgeometry_str_to_struct

from .folding import fold

PLACE_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,19}$"
PLACE_CODE_MESSAGE = _("Use 3 to 20 capital letters, digits or dashes, e.g. CK-QL1A-BAC.")
CAPACITY_NOT_APPLICABLE = _("Capacity applies only to facilities and sites that receive people.")


class LocationMixin(models.Model):
    """A point picked on a map (wagtailgeowidget stores ``SRID=4326;POINT(lng lat)``)."""

    location = models.CharField(_("location"), max_length=250, blank=True)

    class Meta:
        abstract = True

    @property
    def latitude(self) -> float | None:
        point = geosgeometry_str_to_struct(self.location) if self.location else None
        return float(point["y"]) if point else None

    @property
    def longitude(self) -> float | None:
        point = geosgeometry_str_to_struct(self.location) if self.location else None
        return float(point["x"]) if point else None

    @staticmethod
    def location_from(latitude: float, longitude: float) -> str:
        return f"SRID=4326;POINT({longitude} {latitude})"


class Area(LocationMixin, MP_Node):
    """One administrative unit: province, district, commune, village or residential group.

    The tree is a materialised path (treebeard): the subtree of an area is every row whose
    ``path`` starts with the area's path, one indexed query at any depth.
    """

    code = models.CharField(
        _("official code"),
        max_length=32,
        unique=True,
        help_text=_("The statistics office code (e.g. 56 for a province, 568 for a district)."),
    )
    name = models.CharField(_("name"), max_length=200)
    name_folded = models.CharField(max_length=200, editable=False, db_index=True)
    level_label = models.CharField(
        _("level"),
        max_length=40,
        help_text=_("As people say it: tỉnh, huyện, thị xã, xã, phường, thôn, tổ dân phố…"),
    )
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.name_folded = fold(self.name)
        super().save(*args, **kwargs)

    @property
    def level(self) -> int:
        """1 for the top of the tree (a province), 2 below it, and so on."""
        return self.depth

    def subtree(self, include_self: bool = True) -> models.QuerySet["Area"]:
        queryset = Area.objects.filter(path__startswith=self.path)
        return queryset if include_self else queryset.exclude(pk=self.pk)

    def contains(self, other: "Area") -> bool:
        return other.path.startswith(self.path)


class Place(LocationMixin, models.Model):
    """A checkpoint, industrial park, facility, site or venue; people check in by its code."""

    KIND_CHECKPOINT = "checkpoint"
    KIND_INDUSTRIAL_PARK = "industrial_park"
    KIND_QUARANTINE_FACILITY = "quarantine_facility"
    KIND_VACCINATION_SITE = "vaccination_site"
    KIND_TESTING_SITE = "testing_site"
    KIND_HEALTH_FACILITY = "health_facility"
    KIND_VENUE = "venue"
    KIND_CHOICES = [
        (KIND_CHECKPOINT, _("Checkpoint")),
        (KIND_INDUSTRIAL_PARK, _("Industrial park")),
        (KIND_QUARANTINE_FACILITY, _("Quarantine facility")),
        (KIND_VACCINATION_SITE, _("Vaccination site")),
        (KIND_TESTING_SITE, _("Testing site")),
        (KIND_HEALTH_FACILITY, _("Health facility")),
        (KIND_VENUE, _("Venue")),
    ]
    KINDS_WITH_CAPACITY = {
        KIND_QUARANTINE_FACILITY,
        KIND_VACCINATION_SITE,
        KIND_TESTING_SITE,
        KIND_HEALTH_FACILITY,
    }
    # Short, readable prefixes for generated QR codes.
    CODE_PREFIXES = {
        KIND_CHECKPOINT: "CK",
        KIND_INDUSTRIAL_PARK: "KCN",
        KIND_QUARANTINE_FACILITY: "CL",
        KIND_VACCINATION_SITE: "TC",
        KIND_TESTING_SITE: "XN",
        KIND_HEALTH_FACILITY: "YT",
        KIND_VENUE: "DD",
    }

    kind = models.CharField(_("kind"), max_length=32, choices=KIND_CHOICES)
    name = models.CharField(_("name"), max_length=200)
    name_folded = models.CharField(max_length=200, editable=False, db_index=True)
    code = models.CharField(
        _("short code"),
        max_length=20,
        unique=True,
        blank=True,
        validators=[RegexValidator(PLACE_CODE_PATTERN, PLACE_CODE_MESSAGE)],
        help_text=_("Printed in the place's QR code. Left blank, one is generated."),
    )
    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="places")
    address = models.CharField(_("address"), max_length=300, blank=True)
    capacity = models.PositiveIntegerField(
        _("capacity"),
        null=True,
        blank=True,
        help_text=_("Beds or people a day; for facilities and sites only."),
    )
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.name_folded = fold(self.name)
        if not self.code:
            self.code = self.generate_code()
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.capacity is not None and self.kind not in self.KINDS_WITH_CAPACITY:
            raise ValidationError({"capacity": CAPACITY_NOT_APPLICABLE})

    def generate_code(self) -> str:
        """A prefix for the kind and random letters that read unambiguously aloud."""
        alphabet = "ACDEFGHJKLMNPQRTUVWXY3479"  # no 0/O, 1/I, 5/S, 8/B, 2/Z look-alikes
        prefix = self.CODE_PREFIXES.get(self.kind, "DD")
        while True:
            code = f"{prefix}-{''.join(secrets.choice(alphabet) for _ in range(5))}"
            if not Place.objects.filter(code=code).exists():
                return code


class UserArea(models.Model):
    """The area a user works in: everything they read or write is inside its subtree."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="area_scope",
    )
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="user_scopes"
    )

    class Meta:
        verbose_name = _("user's area")
        verbose_name_plural = _("users' areas")

    def __str__(self):
        return f"{self.user} — {self.area}"


class GroupRole(models.Model):
    """Ties a permission group to one of the product's roles.

    Admins may rename groups freely; code finds a role's group through this row.
    """

    ROLE_PROVINCE_ADMIN = "province_admin"
    ROLE_AREA_IT_TEAM = "area_it_team"
    ROLE_FIELD_STAFF = "field_staff"
    ROLE_APPROVER = "approver"
    ROLE_LEADER = "leader"
    ROLE_COMMUNICATIONS = "communications"
    ROLE_CHOICES = [
        (ROLE_PROVINCE_ADMIN, _("Province admin")),
        (ROLE_AREA_IT_TEAM, _("Area IT team")),
        (ROLE_FIELD_STAFF, _("Field staff")),
        (ROLE_APPROVER, _("Approver")),
        (ROLE_LEADER, _("Leader")),
        (ROLE_COMMUNICATIONS, _("Communications")),
    ]

    role = models.CharField(_("role"), max_length=32, choices=ROLE_CHOICES, unique=True)
    group = models.OneToOneField(
        Group, verbose_name=_("group"), on_delete=models.CASCADE, related_name="product_role"
    )

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self):
        return self.get_role_display()
