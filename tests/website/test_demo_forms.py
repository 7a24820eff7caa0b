"""The seven demo forms: loaded as page data, idempotently, with the roles their kinds need."""

import dataclasses

import pytest

from forms_engine.blocks import ROLE_CHOICES
from forms_engine.models import FormPage
from forms_engine.schema import fields_schema
from website.demo import forms as demo_forms
from website.demo.load import demo_load
from website.models import HomePage

PASSWORD = "x-pass-2021"

SLUGS = {
    "khai-bao-tai-chot": "checkpoint",
    "dieu-tra-dich-te": "tracing",
    "theo-doi-suc-khoe": "quarantine_checkin",
    "ghi-nhan-tiem-chung": "vaccination",
    "ket-qua-xet-nghiem": "testing",
    "khai-bao-y-te": "health_declaration",
    "de-nghi-ket-thuc-cach-ly": "quarantine_release",
}

# What each kind's domain code must find (docs/forms.md, "Form kinds and the roles").
ROLES_NEEDED = {
    "checkpoint": {"person", "direction"},
    "tracing": {"person", "contacts"},
    "quarantine_checkin": {"person", "temperature"},
    "vaccination": {"person", "vaccine", "dose"},
    "testing": {"person", "test_result"},
    "health_declaration": {"person", "consent"},
    "quarantine_release": {"person", "release_date"},
}

# Every role a kind understands; "area" is the generic role the submission's area comes from.
ROLES_UNDERSTOOD = {
    "checkpoint": {
        "person",
        "direction",
        "place",
        "origin",
        "destination",
        "vehicle",
        "vehicle_plate",
        "reason",
        "travel_permit",
        "vaccination_status",
        "symptoms",
        "companions",
    },
    "tracing": {
        "interview_subject",
        "person",
        "workplace",
        "workshop",
        "onset_date",
        "sample_date",
        "itinerary",
        "contacts",
        "relationship",
        "setting",
        "exposure_date",
        "area",
    },
    "quarantine_checkin": {"person", "quarantine_type", "place", "temperature", "spo2", "symptoms"},
    "vaccination": {"person", "vaccine", "dose", "vaccination_date", "place", "lot_number", "reaction"},
    "testing": {
        "person",
        "test_type",
        "pooled_sample_id",
        "sample_date",
        "place",
        "test_result",
        "ct_value",
        "lab",
    },
    "health_declaration": {"person", "place", "symptoms", "exposure", "travel_history", "consent"},
    "quarantine_release": {"person", "release_date", "place"},
}

# Choice values the docs fix for a role.
ROLE_VALUES = {
    "direction": {"in", "out"},
    "quarantine_type": {"facility", "home"},
    "test_result": {"negative", "positive", "inconclusive"},
}


@pytest.fixture
def forms(db):
    demo_load(password=PASSWORD)
    demo_load(password=PASSWORD)
    return {page.slug: page for page in FormPage.objects.select_related("area")}


def schema_of(page) -> list[dict]:
    return page.versions.get().schema


def levels(fields: list[dict]):
    """The top-level field list, then each repeat group's list of sub-fields."""
    yield fields
    for field in fields:
        if field["type"] == "repeat":
            yield field["fields"]


def all_fields(fields: list[dict]):
    for level in levels(fields):
        yield from level


def test_load_demo_twice_keeps_seven_published_forms_with_one_version_each(forms):
    assert {slug: page.kind for slug, page in forms.items()} == SLUGS
    for page in forms.values():
        assert page.live, page.slug
        assert page.versions.count() == 1, page.slug
        assert page.revisions.count() == 1, page.slug
        assert not page.has_unpublished_changes, page.slug
        assert page.area.code == "56"
        assert isinstance(page.get_parent().specific, HomePage)
        assert page.intro.startswith("<p>")


def test_only_the_health_declaration_is_public(forms):
    assert {slug for slug, page in forms.items() if page.is_public} == {"khai-bao-y-te"}


def test_the_version_is_the_live_pages_fields(forms):
    for page in forms.values():
        assert schema_of(page) == fields_schema(page.fields), page.slug


def test_keys_are_unique_at_each_level(forms):
    for page in forms.values():
        for level in levels(schema_of(page)):
            keys = [field["key"] for field in level if field["type"] not in {"heading", "info"}]
            assert all(keys), page.slug
            assert len(keys) == len(set(keys)), (page.slug, keys)


def test_each_form_has_the_roles_its_kind_needs_and_no_other(forms):
    known = {code for code, _label in ROLE_CHOICES}
    for page in forms.values():
        fields = list(all_fields(schema_of(page)))
        roles = [field["role"] for field in fields if field.get("role")]
        assert set(roles) <= known, page.slug
        assert ROLES_NEEDED[page.kind] <= set(roles), page.slug
        assert set(roles) <= ROLES_UNDERSTOOD[page.kind], (
            page.slug,
            set(roles) - ROLES_UNDERSTOOD[page.kind],
        )
        top_level_roles = [field["role"] for field in schema_of(page) if field.get("role")]
        assert len(top_level_roles) == len(set(top_level_roles)), (page.slug, top_level_roles)
        assert [f["type"] for f in schema_of(page) if f.get("role") == "person"] == ["person"], page.slug
        for field in fields:
            if field.get("role") in ROLE_VALUES:
                assert {c["value"] for c in field["choices"]} == ROLE_VALUES[field["role"]], page.slug


def test_repeat_roles_and_limits(forms):
    checkpoint = {f["role"]: f for f in schema_of(forms["khai-bao-tai-chot"]) if f.get("role")}
    assert checkpoint["companions"]["type"] == "repeat"
    assert checkpoint["companions"]["max_items"] == 10
    tracing = {f["role"]: f for f in schema_of(forms["dieu-tra-dich-te"]) if f.get("role")}
    contacts = tracing["contacts"]
    assert contacts["type"] == "repeat"
    assert contacts["item_label"] == "Người tiếp xúc"
    assert {f["role"] for f in contacts["fields"]} >= {"relationship", "setting", "exposure_date"}
    assert tracing["itinerary"]["type"] == "repeat"


def test_conditions_name_existing_fields_and_their_values(forms):
    for page in forms.values():
        schema = schema_of(page)
        top = {f["key"]: f for f in schema if f["key"]}
        for level in levels(schema):
            siblings = {f["key"]: f for f in level if f["key"]}
            for field in level:
                for conditions in (field.get("show_if") or {}).values():
                    for condition in conditions:
                        target = siblings.get(condition["field"]) or top.get(condition["field"])
                        assert target is not None, (page.slug, field["key"], condition)
                        values = condition["value"] if condition["op"] == "in" else [condition["value"]]
                        if target["type"] in {"choice", "multichoice"}:
                            assert set(values) <= {c["value"] for c in target["choices"]}, condition
                        if target["type"] == "boolean":
                            assert all(isinstance(v, bool) for v in values), condition


def test_forms_pass_the_page_editors_validation(forms):
    stream_block = FormPage._meta.get_field("fields").stream_block
    for page in forms.values():
        stream_block.clean(page.fields)
        page.full_clean()


def test_a_changed_definition_publishes_one_new_version_keeping_field_ids(forms, monkeypatch):
    testing = demo_forms.TESTING
    fields = tuple(
        demo_forms.short_text("lab", "Phòng xét nghiệm (tên đơn vị)", role="lab", max_length=200)
        if block["value"].get("key") == "lab"
        else block
        for block in testing.fields
    )
    changed = tuple(
        dataclasses.replace(d, fields=fields) if d is testing else d for d in demo_forms.DEMO_FORMS
    )
    monkeypatch.setattr(demo_forms, "DEMO_FORMS", changed)
    before = {f["key"]: f["id"] for f in schema_of(forms["ket-qua-xet-nghiem"])}

    demo_load(password=PASSWORD)

    for page in FormPage.objects.all():
        assert page.versions.count() == (2 if page.slug == "ket-qua-xet-nghiem" else 1), page.slug
    latest = FormPage.objects.get(slug="ket-qua-xet-nghiem").current_version
    assert latest.number == 2
    assert {f["key"]: f["id"] for f in latest.schema} == before
    assert next(f for f in latest.schema if f["key"] == "lab")["label"] == "Phòng xét nghiệm (tên đơn vị)"
