"""Resolving the persons that submissions name to the registry (tracing issue, part 1)."""

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction

from forms_engine.models import Submission
from places.folding import fold
from places.models import Area

from .models import DuplicateCandidate, Person, SubmissionPerson

UPDATABLE = ("sex", "phone", "address", "birth_date")


def person_details(value: dict) -> dict:
    """A person field's cleaned value (docs/forms.md) as Person fields."""
    birth_date = date.fromisoformat(value["birth_date"]) if value.get("birth_date") else None
    return {
        "national_id": value.get("national_id") or "",
        "full_name": value["full_name"],
        "name_folded": fold(value["full_name"]),
        "birth_date": birth_date,
        "birth_year": birth_date.year if birth_date else value.get("birth_year"),
        "sex": value.get("sex") or "",
        "phone": value.get("phone") or "",
        "address": value.get("address") or "",
    }


def identity_of(details: dict) -> tuple | None:
    """The registry's match rule: by citizen ID; else by phone, folded name and birth year
    together; None when the details carry neither."""
    if details["national_id"]:
        return ("national_id", details["national_id"])
    if details["phone"] and details["birth_year"]:
        return ("phone_name_year", details["phone"], details["name_folded"], details["birth_year"])
    return None


def registry_matches(identities: set[tuple]) -> dict[tuple, Person]:
    """The registry's persons for ``identities`` (identity_of): two queries at most."""
    national_ids = {i[1] for i in identities if i[0] == "national_id"}
    phones = {i[1] for i in identities if i[0] == "phone_name_year"}
    found = {}
    if national_ids:
        for person in Person.objects.filter(national_id__in=national_ids):
            found[("national_id", person.national_id)] = person
    if phones:
        for person in Person.objects.filter(phone__in=phones, merged_into=None).exclude(birth_year=None):
            found.setdefault(("phone_name_year", person.phone, person.name_folded, person.birth_year), person)
    return found


def person_match(details: dict) -> Person | None:
    identity = identity_of(details)
    return registry_matches({identity}).get(identity) if identity else None


@transaction.atomic
def person_resolve(value: dict, *, home_area: Area | None = None) -> tuple[Person, bool]:
    """The registry's person for a person field's value, created if none matches; (person, created).

    A match only gains what it lacked (an identifier already recorded is never overwritten by
    another form's). A new person whose name and birth year match someone else's is queued as
    a possible duplicate for staff to merge.
    """
    details = person_details(value)
    person = person_match(details)
    if person is not None:
        person_complete(person, details, home_area.pk if home_area else None)
        return person, False
    try:
        with transaction.atomic():
            person = Person.objects.create(**details, home_area=home_area)
    except IntegrityError:  # the same citizen ID, inserted meanwhile by another job
        return Person.objects.get(national_id=details["national_id"]), False
    duplicates_queue_many([person])
    return person, True


@dataclass
class Named:
    """One person field of one submission, waiting for its registry row."""

    submission: Submission
    path: str
    details: dict
    home_code: str | None  # the field's home area, as the form sent it
    home_area_id: int | None = None
    person: Person | None = None
    created: bool = False

    @property
    def identity(self):
        """What makes two fields of a batch the same person (the registry's match rule)."""
        return identity_of(self.details) or ("field", self.submission.pk, self.path)  # a person of its own


def submissions_persons_resolve(submissions: list[Submission]) -> dict[int, dict[str, Person]]:
    """{submission id: {field key: person}} for a batch of submissions' top-level person
    fields, with set-based queries (``named_link``)."""
    pending = [
        Named(submission, key, person_details(submission.data[key]), submission.data[key].get("home_area"))
        for submission in submissions
        for key in person_keys(submission)
    ]
    resolved: dict[int, dict[str, Person]] = {s.pk: {} for s in submissions}
    for named in named_link(pending):
        resolved[named.submission.pk][named.path] = named.person
    return resolved


def person_keys(submission: Submission) -> list[str]:
    return [
        spec["key"]
        for spec in submission.version.schema
        if spec.get("type") == "person" and spec.get("key") in submission.data
    ]


def named_link(pending: list[Named]) -> list[Named]:
    """Each named person (a field, or an item of a repeat: ``path``) with its registry row,
    linked to its submission once: ``pending`` back with ``person`` set.

    The same rules as ``person_resolve``, for a job's hundreds at once: one query for the
    links made before, one per kind of identifier for the matches, one INSERT for the new
    persons and one for the links. The same person named twice in the batch (the same
    citizen ID) resolves to one row. Should a concurrent job insert the same citizen ID
    meanwhile, the batch falls back to ``person_resolve`` one by one.
    """
    if not pending:
        return []
    linked = SubmissionPerson.objects.filter(
        submission__in={n.submission.pk for n in pending}, path__in={n.path for n in pending}
    ).select_related("person")
    before = {(link.submission_id, link.path): link.person for link in linked}
    for named in pending:
        named.person = before.get((named.submission.pk, named.path))
    todo = [named for named in pending if named.person is None]
    if todo:
        home_areas_assign(todo)
        try:
            with transaction.atomic():
                persons_match(todo)
                persons_create(todo)
        except IntegrityError:  # a citizen ID inserted by another job meanwhile: one by one
            for named in todo:
                home_area = Area.objects.filter(pk=named.home_area_id).first() if named.home_area_id else None
                named.person, named.created = person_resolve(named.details, home_area=home_area)
        SubmissionPerson.objects.bulk_create(
            (
                SubmissionPerson(submission=n.submission, path=n.path, person=n.person, created=n.created)
                for n in todo
            ),
            ignore_conflicts=True,
        )
    return pending


def home_areas_assign(pending: list[Named]) -> None:
    """Home area ids from the codes the forms sent, in one query."""
    codes = {n.home_code for n in pending if n.home_code}
    areas = dict(Area.objects.filter(code__in=codes).values_list("code", "pk")) if codes else {}
    for named in pending:
        # Without a home area, the person belongs to the submission's area (its team follows them).
        named.home_area_id = areas.get(named.home_code) or named.submission.area_id


def persons_match(pending: list[Named]) -> None:
    """Each field's registry match, if any, gaining what it lacked: two queries in all."""
    found = registry_matches({named.identity for named in pending})
    for named in pending:
        named.person = found.get(named.identity)
        if named.person is not None:
            person_complete(named.person, named.details, named.home_area_id)


def person_complete(person: Person, details: dict, home_area_id: int | None) -> None:
    """Fill what ``person`` lacked; an identifier already recorded is never overwritten."""
    missing = {k: details[k] for k in UPDATABLE if details[k] and not getattr(person, k)}
    if home_area_id and not person.home_area_id:
        missing["home_area_id"] = home_area_id
    if missing:
        for name, value in missing.items():
            setattr(person, name, value)
        person.save(update_fields=[*missing, "updated_at"])


def persons_create(pending: list[Named]) -> None:
    """One INSERT for the fields no one matched (one row per identity), then their duplicates."""
    new: dict[tuple, Person] = {}
    for named in pending:
        if named.person is None:
            if named.identity not in new:
                new[named.identity] = Person(**named.details, home_area_id=named.home_area_id)
                named.created = True
            named.person = new[named.identity]
    if new:
        Person.objects.bulk_create(new.values())
        duplicates_queue_many(list(new.values()))


def duplicates_queue_many(persons: list[Person]) -> None:
    """Possible duplicates of new persons (same folded name and birth year), in two queries."""
    keys = {(p.name_folded, p.birth_year) for p in persons if p.birth_year}
    if not keys:
        return
    near = Person.objects.filter(
        name_folded__in={name for name, _ in keys},
        birth_year__in={year for _, year in keys},
        merged_into=None,
    ).values_list("pk", "name_folded", "birth_year")
    by_key: dict[tuple, list[int]] = {}
    for pk, name, year in near:
        by_key.setdefault((name, year), []).append(pk)
    candidates = [
        DuplicateCandidate(person=person, other_id=other, reason="same name and year of birth")
        for person in persons
        if person.birth_year
        for other in by_key.get((person.name_folded, person.birth_year), [])[:20]
        if other < person.pk  # the older of a pair is the one to compare with: one row a pair
    ]
    DuplicateCandidate.objects.bulk_create(candidates, ignore_conflicts=True)
