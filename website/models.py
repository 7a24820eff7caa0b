"""Page types of the site: HomePage; the live MapPage, DashboardPage and PublicMapPage; the
GuidanceIndexPage with its GuidancePages, and the PDF of each published guide (GuidancePdf)."""

from django.contrib.auth.views import redirect_to_login
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from forms_engine.models import KIND_CHOICES
from places.folding import fold

from . import live
from .blocks import GuidanceBodyBlock


class HomePage(Page):
    """The site's front page: what the service is and where each user goes next."""

    intro = RichTextField(_("introduction"), blank=True)
    issuing_body = models.CharField(
        _("issuing body"),
        max_length=200,
        blank=True,
        help_text=_("Shown in the page header, e.g. Ban Chỉ đạo phòng, chống dịch tỉnh."),
    )

    content_panels = [*Page.content_panels, FieldPanel("issuing_body"), FieldPanel("intro")]
    max_count = 1
    parent_page_types = ["wagtailcore.Page"]

    class Meta:
        verbose_name = _("home page")
        verbose_name_plural = _("home pages")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["sections"] = self.get_children().live().public().specific()
        return context


# --- Live pages ----------------------------------------------------------------------------


class LivePage(Page):
    """A page that opens on an area and a date range and follows them live.

    The page only says where it opens: the numbers come from the reports API and the
    WebSocket, read with the visitor's own rights, so one page serves every leader, each
    within their own area.
    """

    area = models.ForeignKey(
        "places.Area",
        verbose_name=_("default area"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Where the page opens, for users who may see it; empty: each user's own area."),
    )
    days = models.PositiveSmallIntegerField(
        _("days shown"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(live.MAX_RANGE_DAYS)],
        help_text=_("The date range the page opens on: this many days up to today."),
    )

    parent_page_types = ["website.HomePage"]
    subpage_types = []

    class Meta:
        abstract = True

    def serve(self, request, *args, **kwargs):
        """Staff only; the area and dates of the URL are checked before the page renders."""
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            view = live.live_view(request=request, default_area=self.area, days=self.days)
        except live.LiveRequestError as error:
            return self.serve_error(request, error)
        return super().serve(request, *args, live_view=view, **kwargs)

    def serve_error(self, request, error: "live.LiveRequestError"):
        context = {"page": self, "message": error.message}
        return TemplateResponse(request, "website/live_error.html", context, status=error.status)

    def get_context(self, request, *args, live_view=None, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["live_view"] = live_view
        context["live_config"] = self.live_config(request, live_view) if live_view else {}
        return context

    def live_config(self, request, view: "live.LiveView") -> dict:
        """What the page's script needs; a subclass adds its own part."""
        return live.staff_config(request=request, view=view)


class MapPage(LivePage):
    """The epidemic map: F0 cases clustered, contacts and quarantine for those who may see
    persons, checkpoints, quarantine facilities and a choropleth of cases per commune."""

    show_contacts = models.BooleanField(
        _("F1 contacts"), default=False, help_text=_("Shown only to users who may see persons.")
    )
    show_quarantine = models.BooleanField(
        _("people in quarantine"), default=False, help_text=_("Shown only to users who may see persons.")
    )
    show_places = models.BooleanField(_("checkpoints and quarantine facilities"), default=True)
    show_communes = models.BooleanField(_("cases per commune"), default=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("area"),
        FieldPanel("days"),
        MultiFieldPanel(
            [
                FieldPanel("show_contacts"),
                FieldPanel("show_quarantine"),
                FieldPanel("show_places"),
                FieldPanel("show_communes"),
            ],
            heading=_("Layers shown when the map opens (F0 cases always)"),
        ),
    ]

    class Meta:
        verbose_name = _("live map")
        verbose_name_plural = _("live maps")

    def live_config(self, request, view):
        config = super().live_config(request, view)
        may_see_persons = request.user.has_perm(live.VIEW_PERSONS)
        config.update(
            kind="map",
            tiles=live.tiles(),
            places=live.map_places(user=request.user),
            personUrl=live.person_url_template(request.user),
            layers={
                "f1": may_see_persons,
                "quarantine": may_see_persons,
                "shown": {
                    "f1": may_see_persons and self.show_contacts,
                    "quarantine": may_see_persons and self.show_quarantine,
                    "places": self.show_places,
                    "communes": self.show_communes,
                },
            },
        )
        return config


class DashboardPage(LivePage):
    """The leaders' dashboard: headline cards, charts by day, drill-down by area, live."""

    content_panels = [*Page.content_panels, FieldPanel("area"), FieldPanel("days")]

    class Meta:
        verbose_name = _("live dashboard")
        verbose_name_plural = _("live dashboards")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["charts"] = live.DASHBOARD_CHARTS
        return context

    def live_config(self, request, view):
        config = super().live_config(request, view)
        config["kind"] = "dashboard"
        return config


class PublicMapPage(Page):
    """The citizens' map: new cases per commune, counts only, no login and no person data
    (as the 2021 "safe map" did). It refreshes itself every minute."""

    area = models.ForeignKey(
        "places.Area",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The area whose communes are shown; empty: the top of the area tree."),
    )
    days = models.PositiveSmallIntegerField(
        _("days shown"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(live.MAX_RANGE_DAYS)],
        help_text=_("New cases of this many days up to today."),
    )
    intro = RichTextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("area"), FieldPanel("days"), FieldPanel("intro")]
    parent_page_types = ["website.HomePage"]
    subpage_types = []

    class Meta:
        verbose_name = _("public map")
        verbose_name_plural = _("public maps")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["live_config"] = live.public_config(area=self.area, days=self.days)
        return context


# --- Guidance --------------------------------------------------------------------------------

TOOL_MAP = "map"
TOOL_DASHBOARD = "dashboard"
TOOL_GENERAL = "general"
# What a guide documents: a kind of form (the forms engine's own list), the live pages, or
# the system as a whole. The index groups guides in this order.
TOOL_CHOICES = [
    *KIND_CHOICES,
    (TOOL_MAP, _("Epidemic map")),
    (TOOL_DASHBOARD, _("Leaders' dashboard")),
    (TOOL_GENERAL, _("General")),
]
SEARCH_MAX_LENGTH = 100  # characters of a search that are used; the rest is dropped


class GuidanceIndexPage(Page):
    """The list of guides, grouped by the tool each documents, searchable without accents."""

    intro = RichTextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["website.HomePage"]
    subpage_types = ["website.GuidancePage"]

    class Meta:
        verbose_name = _("guidance index")
        verbose_name_plural = _("guidance indexes")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        query = request.GET.get("q", "")[:SEARCH_MAX_LENGTH].strip()
        guides = self.guides_matching(query)
        context.update(query=query, groups=guides_by_tool(guides), found=len(guides))
        return context

    def guides_matching(self, query: str) -> list["GuidancePage"]:
        """The live, public guides under this page with every word of ``query``, accents or not
        ("huong dan khai bao" finds "Hướng dẫn khai báo")."""
        guides = GuidancePage.objects.child_of(self).live().public()
        for word in fold(query).split():
            guides = guides.filter(search_folded__contains=word)
        return list(guides.order_by("title"))


def guides_by_tool(guides) -> list[tuple[str, list["GuidancePage"]]]:
    """(tool label, guides) in the order of TOOL_CHOICES, leaving out tools without a guide."""
    return [
        (label, members)
        for value, label in TOOL_CHOICES
        if (members := [guide for guide in guides if guide.tool == value])
    ]


class GuidancePage(Page):
    """A guide for one tool, written and published by communications staff, with a PDF at the
    page's URL plus ".pdf" (rendered once per published revision by a job: website/guidance.py)."""

    intro = models.TextField(
        _("summary"), blank=True, help_text=_("One or two sentences: who the guide is for.")
    )
    tool = models.CharField(_("tool documented"), max_length=32, choices=TOOL_CHOICES, default=TOOL_GENERAL)
    issuing_body = models.CharField(
        _("issuing body"),
        max_length=200,
        blank=True,
        help_text=_("In the PDF's header; empty: the home page's issuing body."),
    )
    body = StreamField(GuidanceBodyBlock(), verbose_name=_("content"), blank=True)
    # Title, summary and text without accents, lower case: what the index's search reads.
    search_folded = models.TextField(editable=False, blank=True, default="")

    content_panels = [
        *Page.content_panels,
        FieldPanel("intro"),
        FieldPanel("tool"),
        FieldPanel("issuing_body"),
        FieldPanel("body"),
    ]
    parent_page_types = ["website.GuidanceIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("guide")
        verbose_name_plural = _("guides")

    def save(self, *args, **kwargs):
        self.search_folded = fold(" ".join([self.title, self.intro, self.body_text()]))
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_folded"}
        return super().save(*args, **kwargs)

    def body_text(self) -> str:
        """The words of the content (headings, text, steps), for search."""
        from .guidance import stream_text

        return stream_text(self.body)

    def headings(self) -> list[dict]:
        """{"anchor", "text", "level"} of each heading, in order: the table of contents."""
        return [
            {"anchor": f"h-{block.id}", "text": block.value["text"], "level": block.value["level"]}
            for block in self.body
            if block.block_type == "heading"
        ]

    def issuer(self) -> str:
        if self.issuing_body:
            return self.issuing_body
        home = HomePage.objects.ancestor_of(self).first()
        return home.issuing_body if home else ""

    def pdf_url(self) -> str | None:
        url = self.get_url()
        return f"{url.rstrip('/')}.pdf" if url else None


class GuidancePdf(models.Model):
    """The PDF of one published revision of a guide; a new revision gets a new one."""

    page = models.ForeignKey(
        GuidancePage, verbose_name=_("guide"), on_delete=models.CASCADE, related_name="pdfs"
    )
    revision = models.OneToOneField(
        "wagtailcore.Revision", verbose_name=_("revision"), on_delete=models.CASCADE, related_name="+"
    )
    file = models.FileField(_("file"), upload_to="guidance/", blank=True)
    page_count = models.PositiveIntegerField(_("pages"), null=True, blank=True)
    rendered_at = models.DateTimeField(_("rendered at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("guide PDF")
        verbose_name_plural = _("guide PDFs")

    def __str__(self):
        return f"{self.page_id}@{self.revision_id}"

    @property
    def ready(self) -> bool:
        return bool(self.file)
