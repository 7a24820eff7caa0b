"""The admin's QR posters: a place's poster as a download, linked from the place screens."""

from collections.abc import Callable
from typing import NamedTuple

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.auth import permission_required

from places.models import Place
from places.selectors import scope_queryset

from .qr import declaration_form_for, declaration_url, poster_pdf, poster_png, poster_svg

NO_DECLARATION_FORM = _(
    "There is no QR poster yet because no health-declaration form is open to the public. "
    "Publish a form of the kind “Health declaration” and tick “public”, then try again."
)
POSTER_LABEL = _("QR poster (%(format)s)")


class PosterFormat(NamedTuple):
    render: Callable[[Place, str], bytes | str]
    content_type: str


# In menu order: PDF prints as is, PNG goes into documents and chats, SVG to a print shop.
POSTER_FORMATS = {
    "pdf": PosterFormat(poster_pdf, "application/pdf"),
    "png": PosterFormat(poster_png, "image/png"),
    "svg": PosterFormat(poster_svg, "image/svg+xml; charset=utf-8"),
}


@permission_required("places.view_place")
def place_poster(request, pk: int, fmt: str) -> HttpResponse:
    """The place's poster as a download; places outside the user's area answer 404."""
    poster = POSTER_FORMATS.get(fmt)
    if poster is None:
        raise Http404
    places = scope_queryset(Place.objects.select_related("area"), user=request.user)
    place = get_object_or_404(places, pk=pk)
    form = declaration_form_for(place)
    if form is None:
        messages.error(request, NO_DECLARATION_FORM)
        return redirect("places:inspect", place.pk)
    content = poster.render(place, declaration_url(place, form=form))
    disposition = content_disposition_header(True, f"qr-{place.code}.{fmt}")
    return HttpResponse(
        content, content_type=poster.content_type, headers={"Content-Disposition": disposition}
    )


@hooks.register("register_admin_urls")
def register_poster_urls():
    return [path("places/<int:pk>/poster.<str:fmt>", place_poster, name="place_poster")]


# --- Links on the place screens (places.views asks the "place_links" hook) ----------


@hooks.register("place_links")
def poster_links(place: Place) -> list[tuple[str, str]]:
    """(label, URL) of each poster format of ``place``."""
    return [
        (str(POSTER_LABEL % {"format": fmt.upper()}), reverse("place_poster", args=[place.pk, fmt]))
        for fmt in POSTER_FORMATS
    ]
