"""GET /api/v1/cases/{id}/chain: a case's contacts, scoped to the caller's area."""

import json
import uuid

import pytest
from django.test import Client
from wagtail.models import APIToken

from forms_engine.models import Submission
from places.models import GroupRole
from tests.forms_engine.conftest import checkpoint_form, home, officer  # noqa: F401
from tracing.classify import case_confirm, case_expand, chain
from tracing.models import Contact, Person
from tracing.resolve import submissions_persons_resolve

pytestmark = pytest.mark.django_db


def person(name: str, area=None) -> Person:
    return Person.objects.create(full_name=name, name_folded=name.lower(), home_area=area)


@pytest.fixture
def graph(area_tree):
    """A case in Cam Lâm; a contact in Cam Lâm, one in Nha Trang; a contact of theirs."""
    case = person("Nguyễn Văn Tâm", area_tree["dong_cau"])
    wife = person("Trần Thị Hoa", area_tree["cam_duc"])
    friend = person("Lê Văn Phúc", area_tree["vinh_luong"])
    cousin = person("Phạm Thị Lan", area_tree["cam_duc"])
    Contact.objects.create(
        person=case, contact=wife, setting="household", found_by="interview", exposure_date="2021-07-30"
    )
    Contact.objects.create(person=friend, contact=case, setting="venue", found_by="interview")
    Contact.objects.create(person=wife, contact=cousin, setting="household", found_by="interview")
    case_confirm(case)
    case_expand(case.pk, depth=2)
    return {"case": case, "wife": wife, "friend": friend, "cousin": cousin}


@pytest.fixture
def users(area_tree, make_user):
    role = GroupRole.ROLE_FIELD_STAFF
    return {
        "cam_lam": make_user("truyvet.camlam", area=area_tree["cam_lam"], role=role),
        "nha_trang": make_user("truyvet.nhatrang", area=area_tree["nha_trang"], role=role),
        "no_area": make_user("khong.khu.vuc", role=role),
        "admin": make_user("admin", superuser=True),
    }


def get_chain(case_id, user=None, query="", **headers):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.get(f"/api/v1/cases/{case_id}/chain{query}", **headers)


def test_the_chain_of_a_case_in_the_callers_area(graph, users):
    response = get_chain(graph["case"].pk, users["cam_lam"])

    assert response.status_code == 200
    body = response.json()
    nodes = {node["id"]: node for node in body["nodes"]}
    case, wife, cousin = graph["case"], graph["wife"], graph["cousin"]
    assert nodes[case.pk] == {
        "id": case.pk,
        "level": "F0",
        "distance": 0,
        "name": "Nguyễn Văn Tâm",
        "area": {"code": "22711-02", "name": "Thôn Đồng Cau"},
    }
    assert (nodes[wife.pk]["level"], nodes[wife.pk]["name"]) == ("F1", "Trần Thị Hoa")
    assert (nodes[cousin.pk]["level"], nodes[cousin.pk]["distance"]) == ("F2", 2)
    assert {"source": case.pk, "target": wife.pk, "setting": "household", "exposure_date": "2021-07-30",
            "found_by": "interview"} in body["edges"]  # fmt: skip
    assert len(body["edges"]) == 3 and body["case"] == case.pk and body["truncated"] is False


def test_persons_outside_the_callers_area_show_only_id_and_level(graph, users):
    body = get_chain(graph["case"].pk, users["cam_lam"]).json()
    friend = next(node for node in body["nodes"] if node["id"] == graph["friend"].pk)
    assert friend == {"id": graph["friend"].pk, "level": "F1", "distance": 1}
    assert "Phúc" not in json.dumps(body, ensure_ascii=False)


def test_a_case_in_another_district_is_not_found(graph, users):
    assert get_chain(graph["case"].pk, users["nha_trang"]).status_code == 404
    assert get_chain(graph["case"].pk, users["no_area"]).status_code == 404  # deny by default
    assert get_chain(999_999, users["admin"]).status_code == 404
    # The Nha Trang contact's own chain is theirs, with the Cam Lâm persons redacted.
    body = get_chain(graph["friend"].pk, users["nha_trang"], "?depth=1").json()
    assert [node.get("name") for node in body["nodes"]] == ["Lê Văn Phúc", None]


def test_anonymous_callers_are_refused_and_bearer_tokens_work(graph, users):
    assert get_chain(graph["case"].pk).status_code == 401
    _token, plaintext = APIToken.create_token(user=users["cam_lam"], name="Điện thoại truy vết")
    response = get_chain(graph["case"].pk, HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert response.status_code == 200
    assert get_chain(graph["case"].pk, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401


def test_depth_is_bounded_and_limits_the_chain(graph, users):
    admin = users["admin"]
    for bad in ("0", "6", "x"):
        assert get_chain(graph["case"].pk, admin, f"?depth={bad}").status_code == 422, bad
    body = get_chain(graph["case"].pk, admin, "?depth=1").json()
    assert {node["distance"] for node in body["nodes"]} == {0, 1} and len(body["edges"]) == 2
    assert len(get_chain(graph["case"].pk, admin, "?depth=5").json()["nodes"]) == 4


def test_a_person_without_home_area_is_seen_by_the_area_of_a_submission_naming_them(
    graph,
    users,
    checkpoint_form,  # noqa: F811 - fixture imported above
    area_tree,
):
    data = {"traveller": {"full_name": "Võ Văn Nam", "birth_year": 1979}, "direction": "in",
            "destination": "22711-02"}  # fmt: skip
    client = Client()
    client.force_login(users["cam_lam"])
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": data})
    response = client.post(
        f"/api/v1/forms/{checkpoint_form.slug}/submissions", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    submission = Submission.objects.get()
    [traveller] = submissions_persons_resolve([submission])[submission.pk].values()
    Person.objects.filter(pk=traveller.pk).update(home_area=None)  # as registered before areas were kept
    Contact.objects.create(person=graph["case"], contact=traveller, setting="transport", found_by="interview")

    names = {n["id"]: n.get("name") for n in get_chain(graph["case"].pk, users["cam_lam"]).json()["nodes"]}
    assert names[traveller.pk] == "Võ Văn Nam"
    names = {
        n["id"]: n.get("name") for n in get_chain(graph["friend"].pk, users["nha_trang"]).json()["nodes"]
    }
    assert names[traveller.pk] is None


def test_a_large_chain_is_cut_after_the_level_that_reached_the_limit(graph):
    result = chain(graph["case"].pk, depth=2, max_nodes=2)
    assert result["truncated"] is True and {n["distance"] for n in result["nodes"]} == {0, 1}


def test_the_endpoint_is_in_the_openapi_document(db):
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    operation = paths["/api/v1/cases/{case_id}/chain"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"case_id", "depth"}
    assert {"200", "401", "404"} <= set(operation["responses"])
