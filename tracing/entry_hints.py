"""The data-entry screen's duplicate-person hint (forms_engine/entry.py asks through a hook).

The registry's own match rule (resolve.person_match: citizen ID; else phone, name and birth
year together) over the persons the user may see; a match outside their area is never named.
Only initials, birth year and home area are shown: enough to recognise a person, little to leak.
"""

from django.utils.translation import gettext as _
from wagtail import hooks

from forms_engine.validation import normalise_phone
from places.folding import fold, initials

from .models import Person
from .resolve import person_match
from .selectors import persons_in_scope


def person_hint(person: Person, *, user) -> str:
    if not user.has_perm("tracing.view_person"):
        return _("Possibly someone already in the registry.")
    return _("Possibly the same as: %(initials)s, born %(year)s, %(area)s") % {
        "initials": initials(person.full_name),
        "year": person.birth_year or "?",
        "area": person.home_area.name if person.home_area else "—",
    }


@hooks.register("entry_person_matches")
def entry_person_matches(query: dict, *, user) -> list[str]:
    details = {
        "national_id": query.get("national_id") or "",
        "phone": normalise_phone(query.get("phone") or "") or "",
        "name_folded": fold(query.get("full_name") or ""),
        "birth_year": query.get("birth_year"),
    }
    if not details["national_id"] and not details["name_folded"]:
        return []
    person = person_match(details)
    if person is None or not persons_in_scope(user=user).filter(pk=person.pk).exists():
        return []
    return [person_hint(person, user=user)]
