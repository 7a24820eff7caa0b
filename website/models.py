"""Page types of the site. HomePage now; GuidancePage, MapPage, DashboardPage follow."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page


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
