"""The data-entry screen: volunteers type one form's paper records in sequence, by keyboard.

All the form's fields on one screen (entry.js renders them from the same schema document the
API serves), Enter moves on, the rules are checked as they type, and each record is saved
through the normal submission path (POST /api/v1/forms/{slug}/submissions, session + CSRF).
A small JSON endpoint warns of a possible duplicate person; it asks the apps that keep a
person registry through the ``entry_person_matches`` hook, so this app imports none of them.
"""

import re

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from places.models import Place
from places.selectors import area_scope, areas_visible_to

from .schema import form_document
from .selectors import form_for_caller, forms_visible_to

# Types entry.js cannot take by keyboard: filled on the form page instead.
UNSUPPORTED_TYPES = ("geopoint", "file", "repeat")
MAX_OPTIONS = 3000  # areas or places offered as you type
QUERY_MAX = 100  # characters of any one value the duplicate check reads

# The screen's own words (labels and help come from the form's schema).
ENTRY_TEXT = {
    "required": _("Required: please fill in this field."),
    "minLength": _("At least %(n)s characters."),
    "maxLength": _("At most %(n)s characters."),
    "pattern": _("Not in the expected format."),
    "number": _("Must be a number."),
    "integer": _("Must be a whole number."),
    "min": _("Must not be less than %(n)s."),
    "max": _("Must not be more than %(n)s."),
    "date": _("Not a valid date (day/month/year)."),
    "datetime": _("Not a valid date and time (day/month/year hours:minutes)."),
    "time": _("Not a valid time (hours:minutes)."),
    "future": _("Must not be in the future."),
    "phone": _("Not a valid phone number (e.g. 0912 345 678)."),
    "nationalId": _("A citizen ID has 12 digits, an old ID card 9."),
    "choice": _("Choose one of the options."),
    "minSelected": _("Choose at least %(n)s."),
    "maxSelected": _("Choose at most %(n)s."),
    "notListed": _("Not in the list: type a name and pick from the suggestions, or type the code."),
    "fullName": _("Full name"),
    "birthYear": _("Year of birth"),
    "birthDate": _("Date of birth"),
    "sex": _("Sex"),
    "male": _("Male"),
    "female": _("Female"),
    "nationalIdLabel": _("Citizen ID / ID card"),
    "phoneLabel": _("Phone"),
    "address": _("Address"),
    "homeArea": _("Home area"),
    "yes": _("Yes"),
    "no": _("No"),
    "choose": _("— Choose —"),
    "unsupported": _("Cannot be typed on this screen; use the form page for it."),
    "summary": _("%(n)s fields need attention."),
    "saving": _("Saving…"),
    "saved": _("Saved record %(n)s."),
    "savedInReview": _("Saved record %(n)s; it awaits review."),
    "serverRefused": _("The server did not accept the record: see the fields marked."),
    "failed": _("Could not save (network or server). Nothing was lost: press Enter on the last field again."),
    "login": _("Your session has ended: log in again in another tab, then save again."),
    "checking": _("Checking for duplicates…"),
}


def _digits(text: str, limit: int = QUERY_MAX) -> str:
    return re.sub(r"\D", "", text[:limit])


def area_options(*, user, form) -> list[dict]:
    """Areas of the form that the user may enter data for: the user's scope within the form's."""
    areas = areas_visible_to(user=user).filter(path__startswith=form.area.path).order_by("path")
    return [{"code": code, "name": name} for code, name in areas.values_list("code", "name")[:MAX_OPTIONS]]


def place_options(*, user) -> list[dict]:
    places = Place.objects.filter(is_active=True, area__in=areas_visible_to(user=user)).order_by("name")
    return list(places.values("code", "name", "kind")[:MAX_OPTIONS])


def _entry_form(request, slug: str):
    """The form and version this user may enter data on, else 404 (as if it did not exist)."""
    form, version = form_for_caller(slug=slug, user=request.user)
    if form is None or version is None or area_scope(user=request.user) is None:
        raise Http404
    return form, version


@login_required
def entry_index(request):
    """The forms this user may enter data on."""
    forms = (
        [form for form, _version in forms_visible_to(user=request.user)]
        if area_scope(user=request.user)
        else []
    )
    return render(request, "forms_engine/entry_index.html", {"forms": forms})


@login_required
def entry_form(request, slug: str):
    form, version = _entry_form(request, slug)
    document = form_document(version)
    context = {
        "form": form,
        "form_document": document,
        "entry_config": {
            "submitUrl": document["submit_url"],
            "personCheckUrl": reverse("data_entry_person_check", args=[form.slug]),
            "areas": area_options(user=request.user, form=form),
            "places": place_options(user=request.user),
            "unsupported": UNSUPPORTED_TYPES,
            "text": {key: str(text) for key, text in ENTRY_TEXT.items()},
        },
    }
    return render(request, "forms_engine/entry.html", context)


@login_required
@require_GET
def entry_person_check(request, slug: str):
    """{"matches": [label, ...]}: persons in the user's area whom the typed details may name.

    Only what the user may see: a match outside their area is never mentioned.
    """
    _entry_form(request, slug)
    query = {
        "national_id": _digits(request.GET.get("national_id", ""), 20),
        "phone": request.GET.get("phone", "")[:30],
        "full_name": request.GET.get("full_name", "")[:QUERY_MAX],
        "birth_year": int(year) if (year := _digits(request.GET.get("birth_year", ""), 4)) else None,
    }
    matches = [
        label
        for finder in hooks.get_hooks("entry_person_matches")
        for label in finder(query, user=request.user)
    ]
    return JsonResponse({"matches": matches[:3]}, json_dumps_params={"ensure_ascii": False})


urlpatterns = [
    path("", entry_index, name="data_entry_index"),
    path("<slug:slug>/", entry_form, name="data_entry"),
    path("<slug:slug>/person-check", entry_person_check, name="data_entry_person_check"),
]


class EntryMenuItem(MenuItem):
    def is_shown(self, request):
        return area_scope(user=request.user) is not None


def entry_menu_item():
    """The admin menu's way to the screen, for staff who type records too (IT teams)."""
    return EntryMenuItem(_("Data entry"), reverse("data_entry_index"), icon_name="edit", order=440)
