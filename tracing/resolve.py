"""Resolving the persons that submissions name to the registry (tracing issue, part 1)."""

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


def person_match(details: dict) -> Person | None:
    """By citizen ID; else by phone, folded name and birth year together."""
    if details["national_id"]:
        return Person.objects.filter(national_id=details["national_id"]).first()
    if details["phone"] and details["birth_year"]:
        return Person.objects.filter(
            phone=details["phone"], name_folded=details["name_folded"], birth_year=details["birth_year"]
        ).first()
    return None


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
        missing = {k: details[k] for k in UPDATABLE if details[k] and not getattr(person, k)}
        if home_area and not person.home_area_id:
            missing["home_area"] = home_area
        if missing:
            for name, field_value in missing.items():
                setattr(person, name, field_value)
            person.save(update_fields=[*missing, "updated_at"])
        return person, False
    try:
        with transaction.atomic():
            person = Person.objects.create(**details, home_area=home_area)
    except IntegrityError:  # the same citizen ID, inserted meanwhile by another job
        return Person.objects.get(national_id=details["national_id"]), False
    duplicates_queue(person)
    return person, True


def duplicates_queue(person: Person) -> None:
    if not person.birth_year:
        return
    near = Person.objects.filter(name_folded=person.name_folded, birth_year=person.birth_year).exclude(
        pk=person.pk
    )
    for other in near[:20]:
        DuplicateCandidate.objects.get_or_create(
            person=person, other=other, defaults={"reason": "same name and year of birth"}
        )


def submission_persons_resolve(submission: Submission) -> list[SubmissionPerson]:
    """Link each top-level person field of ``submission`` to the registry, once."""
    links = []
    resolved = {link.path: link for link in SubmissionPerson.objects.filter(submission=submission)}
    for spec in submission.version.schema:
        key = spec.get("key")
        if spec.get("type") != "person" or key not in submission.data:
            continue
        if key in resolved:
            links.append(resolved[key])
            continue
        value = submission.data[key]
        home = Area.objects.filter(code=value["home_area"]).first() if value.get("home_area") else None
        person, created = person_resolve(value, home_area=home)
        links.append(
            SubmissionPerson.objects.create(submission=submission, path=key, person=person, created=created)
        )
    return links


def submissions_persons_resolve(submissions: list[Submission]) -> dict[int, dict[str, Person]]:
    """{submission id: {field key: person}} for a batch of submissions."""
    return {
        submission.pk: {link.path: link.person for link in submission_persons_resolve(submission)}
        for submission in submissions
    }
