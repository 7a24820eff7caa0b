"""Everything held about one person, for their request to see it (Decree 13/2023, art. 14).

``person_data`` gathers the person's record and every row that names them: submissions,
levels, contacts, quarantine orders and their check-ins, QR check-ins, test requests,
vaccinations, alerts, clusters and merges. Other people appear by id only (a contact's name
is theirs to ask for), and of a submission that names the person as one of several (a
contact in someone's interview) only the item naming them is given. The staff member's
scope decides whether they may export the person (the view answers 404 otherwise), not which
of the person's rows are in it: the request is the person's, for all of their data.
"""

from django.forms.models import model_to_dict

from forms_engine.models import KIND_VACCINATION, Submission

from .models import (
    Alert,
    CheckIn,
    Classification,
    ClusterMember,
    Contact,
    Person,
    PersonMerge,
    QuarantineCheckIn,
    QuarantineOrder,
    SubmissionPerson,
    TestRequest,
)

FORMAT_VERSION = 1
PERSON_FIELDS = (
    "id",
    "full_name",
    "national_id",
    "birth_date",
    "birth_year",
    "sex",
    "phone",
    "address",
    "level",
    "level_at",
    "created_at",
    "updated_at",
)


def rows(queryset, fields: tuple[str, ...]) -> list[dict]:
    return [model_to_dict_all(row, fields) for row in queryset]


def model_to_dict_all(row, fields: tuple[str, ...]) -> dict:
    """``fields`` of ``row``, foreign keys as ids, non-editable fields included."""
    return {name: getattr(row, row._meta.get_field(name).attname) for name in fields}


def person_data(person: Person) -> dict:
    """The person's record and everything naming them, as JSON-able data (dates as objects:
    DjangoJSONEncoder writes them)."""
    submissions = submissions_of(person)
    return {
        "format": FORMAT_VERSION,
        "person": {
            **model_to_dict_all(person, PERSON_FIELDS),
            "home_area": person.home_area and {"code": person.home_area.code, "name": person.home_area.name},
            "workplace": person.workplace and {"code": person.workplace.code, "name": person.workplace.name},
        },
        "submissions": submissions,
        "levels": rows(
            Classification.objects.filter(person=person).order_by("created_at"),
            ("id", "level_from", "level", "case", "source_submission", "note", "created_at"),
        ),
        "contacts": contacts_of(person),
        "quarantine_orders": orders_of(person),
        "qr_checkins": [
            {"place": c.place.code, "place_name": c.place.name, "at": c.at, "submission": c.submission_id}
            for c in CheckIn.objects.filter(person=person).select_related("place").order_by("at")
        ],
        "test_requests": rows(
            TestRequest.objects.filter(person=person).order_by("requested_at"),
            ("id", "reason", "status", "requested_at", "result_submission", "closed_at"),
        ),
        "vaccinations": [entry for entry in submissions if entry["kind"] == KIND_VACCINATION],
        "alerts": rows(
            Alert.objects.filter(person=person).order_by("created_at"),
            ("id", "kind", "message", "order", "submission", "created_at", "resolved_at"),
        ),
        "clusters": [
            {"cluster": m.cluster_id, "name": m.cluster.name, "added_at": m.added_at}
            for m in ClusterMember.objects.filter(person=person).select_related("cluster")
        ],
        "merges": rows(
            PersonMerge.objects.filter(kept=person).order_by("merged_at")
            | PersonMerge.objects.filter(absorbed=person).order_by("merged_at"),
            ("id", "kept", "absorbed", "undoes", "merged_at"),
        ),
    }


def submissions_of(person: Person) -> list[dict]:
    links = (
        SubmissionPerson.objects.filter(person=person)
        .select_related("submission__form", "submission__area", "submission__place")
        .order_by("submission__created_at", "path")
    )
    return [submission_entry(link.submission, link.path) for link in links]


def submission_entry(submission: Submission, path: str) -> dict:
    return {
        "id": submission.pk,
        "form": submission.form.title,
        "kind": submission.form.kind,
        "status": submission.status,
        "created_at": submission.created_at,
        "area": submission.area.code if submission.area else None,
        "place": submission.place.code if submission.place else None,
        "anonymised_at": submission.anonymised_at,
        "named_at": path,
        "data": value_at(submission.data, path) if "." in path else submission.data,
    }


def value_at(data: dict, path: str):
    """The item at ``contacts.2``-like paths: the part of someone else's form about this person."""
    value = data
    for part in path.split("."):
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
    return value


def contacts_of(person: Person) -> list[dict]:
    named = Contact.objects.filter(person=person) | Contact.objects.filter(contact=person)
    return [
        {
            "direction": "named" if contact.person_id == person.pk else "named_by",
            "other_person": contact.contact_id if contact.person_id == person.pk else contact.person_id,
            "setting": contact.setting,
            "exposure_date": contact.exposure_date,
            "place": contact.place_id,
            "found_by": contact.found_by,
            "source_submission": contact.source_submission_id,
            "created_at": contact.created_at,
        }
        for contact in named.order_by("created_at")
    ]


def orders_of(person: Person) -> list[dict]:
    orders = QuarantineOrder.objects.filter(person=person).select_related("facility").order_by("start_date")
    checkins = {}
    for checkin in QuarantineCheckIn.objects.filter(order__person=person).order_by("date"):
        checkins.setdefault(checkin.order_id, []).append(
            model_to_dict(checkin, fields=("date", "temperature", "spo2", "symptoms")) | {"id": checkin.pk}
        )
    return [
        {
            **model_to_dict_all(
                order,
                (
                    "id",
                    "kind",
                    "level",
                    "reason",
                    "start_date",
                    "planned_end",
                    "status",
                    "ended_at",
                    "created_at",
                ),
            ),
            "facility": order.facility and order.facility.name,
            "checkins": checkins.get(order.pk, []),
        }
        for order in orders
    ]
