"""Test requests for F1s and symptomatic people; results that close them and confirm cases.

One open request per person (the ``one_open_test_request`` constraint): an F1 with a fever is
tested once, and a job run twice asks once. A request links to the testing form prefilled
with its person (``prefill_url``): the form page asks the ``form_initial_values`` hook, which
answers only for staff whose area holds the person.
"""

from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone
from wagtail import hooks

from forms_engine.models import KIND_TESTING, FormPage
from places.selectors import area_ancestors

from . import classify
from .bulk import rows_insert
from .models import Person, TestRequest
from .selectors import persons_visible_to

OPEN = TestRequest.STATUS_OPEN
REQUESTS_INSERT_BATCH = 1000  # rows an INSERT statement at most
RESULTS = {"negative", "positive", "inconclusive"}
PREFILL_PARAMETER = "test_request"


def requests_open(person_ids: list[int], reason: str, *, job: str = "") -> list[int]:
    """An open TestRequest per person without one (merged persons left out); the new
    requests' ids.

    The request is the home area's to carry out (its testing team sees it in their scope).
    """
    if not person_ids:
        return []
    now = timezone.now()
    if connection.vendor == "postgresql":
        return requests_insert_select(sorted(set(person_ids)), reason, now)
    persons = (
        Person.objects.filter(pk__in=set(person_ids), merged_into__isnull=True)
        .exclude(Exists(TestRequest.objects.filter(person=OuterRef("pk"), status=OPEN)))
        .values_list("pk", "home_area_id")
    )
    requests = [
        {"person_id": pk, "reason": reason, "area_id": area_id, "requested_at": now}
        for pk, area_id in persons
    ]
    new = []
    for start in range(0, len(requests), REQUESTS_INSERT_BATCH):
        new += rows_insert(TestRequest, requests[start : start + REQUESTS_INSERT_BATCH])
    return new


# PostgreSQL: the persons checked and their requests written in one statement.
REQUESTS_INSERT_SQL = """
INSERT INTO {requests} (person_id, reason, area_id, status, requested_at)
SELECT p.id, %(reason)s, p.home_area_id, %(open)s, %(now)s FROM {persons} p
WHERE p.id = ANY(%(ids)s::bigint[]) AND p.merged_into_id IS NULL
    AND NOT EXISTS (SELECT FROM {requests} r WHERE r.person_id = p.id AND r.status = %(open)s)
ORDER BY p.id
ON CONFLICT DO NOTHING RETURNING id
"""


def requests_insert_select(person_ids: list[int], reason: str, now) -> list[int]:
    sql = REQUESTS_INSERT_SQL.format(requests=TestRequest._meta.db_table, persons=Person._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"reason": reason, "open": OPEN, "now": now, "ids": person_ids})
        return sorted(row[0] for row in cursor.fetchall())


def results_record(items) -> None:
    """Accepted test results close the person's open request; a positive one confirms a case.

    An inconclusive result closes the request too (it was carried out) and opens a new one
    for the same reason: the person still needs a result.
    """
    results = {}
    for item in items:
        result = item.value("test_result")
        if item.person is not None and result in RESULTS:
            results[item.person.pk] = (item, result)
    if not results:
        return
    now = timezone.now()
    closed = list(TestRequest.objects.filter(person_id__in=results, status=OPEN))
    for request in closed:
        request.status = TestRequest.STATUS_DONE
        request.result_submission = results[request.person_id][0].submission
        request.closed_at = now
    TestRequest.objects.bulk_update(closed, ["status", "result_submission", "closed_at"])
    retest = {r.person_id: r.reason for r in closed if results[r.person_id][1] == "inconclusive"}
    for reason in set(retest.values()):
        requests_open([pk for pk, why in retest.items() if why == reason], reason, job=items[0].job)
    for item, result in results.values():
        if result == "positive":
            classify.case_confirm(item.person, submission=item.submission, job=item.job)


def symptomatic_request(items) -> None:
    """Declarations with symptoms ask for a test."""
    unwell = sorted({item.person.pk for item in items if item.person is not None and item.value("symptoms")})
    if unwell:
        requests_open(unwell, TestRequest.REASON_SYMPTOMS, job=items[0].job)


# --- the testing form, prefilled -----------------------------------------------------------------


def testing_form_for(area) -> FormPage | None:
    """The live testing form nearest above ``area`` (a district's own, else the province's),
    else the first one there is."""
    forms = FormPage.objects.live().filter(kind=KIND_TESTING)
    if area is not None:
        chain = area_ancestors(area=area, include_self=True)
        nearest = forms.filter(area__in=chain).order_by("-area__depth", "pk").first()
        if nearest is not None:
            return nearest
    return forms.order_by("path").first()


def prefill_url(test_request: TestRequest) -> str | None:
    """The testing form's address, opening with the request's person filled in; None when no
    testing form is live."""
    form = testing_form_for(test_request.area or test_request.person.home_area)
    if form is None:
        return None
    return f"{form.get_url()}?{PREFILL_PARAMETER}={test_request.pk}"


def person_initial(person: Person, *, birth: str = "either") -> dict:
    """A person field's value (docs/forms.md) from the registry, as the form's field asks."""
    value = {
        "full_name": person.full_name,
        "sex": person.sex,
        "national_id": person.national_id,
        "phone": person.phone,
        "home_area": person.home_area.code if person.home_area else "",
        "address": person.address,
    }
    if person.birth_date and birth != "year":
        value["birth_date"] = person.birth_date.isoformat()
    elif person.birth_year and birth != "date":
        value["birth_year"] = person.birth_year
    return {key: v for key, v in value.items() if v not in ("", None)}


def area_chain(form: FormPage, area) -> list[str]:
    """The codes the area picker walks from below the form's area down to ``area``."""
    if area is None:
        return []
    chain = area_ancestors(area=area, include_self=True).filter(depth__gt=form.area.depth if form.area else 0)
    return list(chain.values_list("code", flat=True))


@hooks.register("form_initial_values")
def prefill_from_test_request(page: FormPage, request) -> dict | None:
    """For ``?test_request=<id>`` on a testing form: the request's person in the person field.

    Only an open request whose person the user may see (selectors.persons_visible_to);
    anything else prefills nothing, as if the parameter were absent.
    """
    raw = request.GET.get(PREFILL_PARAMETER, "")
    if page.kind != KIND_TESTING or not raw.isdigit():
        return None
    visible = TestRequest.objects.filter(
        pk=int(raw), status=OPEN, person__in=persons_visible_to(request.user).values("pk")
    )
    test_request = visible.select_related("person__home_area").first()
    version = page.current_version
    if test_request is None or version is None:
        return None
    spec = next((s for s in version.schema if s.get("role") == "person"), None)
    if spec is None:
        return None
    person = test_request.person
    return {
        "values": {spec["key"]: person_initial(person, birth=spec.get("birth", "either"))},
        "area_chains": {person.home_area.code: area_chain(page, person.home_area)}
        if person.home_area
        else {},
    }
