"""Retention: health declarations past HEALTH_DECLARATION_RETENTION_DAYS lose their personal data
(submission, revisions, uploads, persons known only from them) while the counters stay."""

import logging
import os
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from wagtail.models import Revision

from forms_engine.models import KIND_HEALTH_DECLARATION, Submission, Upload
from places.folding import fold
from reports.rebuild import rebuild, totals_by_key
from tests.factories import field, publish_form
from tests.forms_engine.conftest import home  # noqa: F401 - fixture
from tests.reports.conftest import accept
from tracing.models import Person, SubmissionPerson, TestRequest
from tracing.retention import retention_due, retention_run
from workflows.events import handlers_for, periodic_steps
from workflows.jobs import events_handle
from workflows.models import Event

pytestmark = pytest.mark.django_db

FIELDS = [
    field("person", "Người khai", "person", role="person", birth="either", required=True),
    field("area", "Nơi ở", "area", role="area", depth=0),
    field(
        "multiple_choice",
        "Triệu chứng",
        "symptoms",
        role="symptoms",
        choices=[{"value": "sot", "label": "Sốt"}, {"value": "ho", "label": "Ho"}],
    ),
    field("yes_no", "Tiếp xúc F0", "exposure", role="exposure"),
    field("short_text", "Lịch sử đi lại", "travel_history", role="travel_history"),
    field("phone", "Điện thoại người thân", "relative_phone"),
    field("geopoint", "Vị trí", "location"),
    field("file", "Ảnh giấy tờ", "photo", accept=["image/jpeg"]),
    field("repeat", "Người đi cùng", "companions", fields=[field("short_text", "Họ tên", "name")]),
]
NAMES = {"old": "Nguyễn Văn Cũ", "traced": "Trần Thị Truy", "recent": "Lê Văn Mới"}


def declaration(
    name: str, *, phone: str, upload: Upload | None = None, symptoms=(), born="1990-04-05"
) -> dict:
    return {
        "person": {
            "full_name": name,
            "phone": phone,
            "birth_date": born,
            "address": "12 Lê Lợi",
            "sex": "male",
        },
        "area": "22711-02",
        "symptoms": list(symptoms),  # a symptom brings a test request: tracing follows them
        "exposure": False,
        "travel_history": f"Đi cùng {name}",
        "relative_phone": "+84905000111",
        "location": {"lat": 12.1, "lng": 109.1},
        "photo": {"upload": str(upload.pk)} if upload else None,
        "companions": [{"name": "Phạm Văn Đi Cùng"}],
    }


def handle_everything() -> None:
    """Every pending event through every handler (tracing and reports), as the workers would."""
    done = set()
    while todo := [(e.pk, e.kind) for e in Event.objects.order_by("pk") if e.pk not in done]:
        for pk, kind in todo:
            for handler in handlers_for(kind):
                events_handle(handler.name, [pk])
            done.add(pk)


@pytest.fixture
def declarations(home, area_tree, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = str(tmp_path)
    form = publish_form(
        home, slug="khai-bao", fields=FIELDS, area=area_tree["province"], kind=KIND_HEALTH_DECLARATION
    )
    today = timezone.localdate()
    photo = Upload.objects.create(
        file=ContentFile(b"\xff\xd8\xff jpeg", name="id.jpg"), content_type="image/jpeg", size=9
    )
    made = {
        "old": accept(
            form,
            declaration(NAMES["old"], phone="+84905000001", upload=photo),
            area=area_tree["dong_cau"],
            day=today - timedelta(days=40),
        ),
        "traced": accept(
            form,
            declaration(NAMES["traced"], phone="+84905000002", symptoms=["sot"]),
            area=area_tree["dong_cau"],
            day=today - timedelta(days=35),
        ),
        "recent": accept(
            form,
            declaration(NAMES["recent"], phone="+84905000003"),
            area=area_tree["dong_cau"],
            day=today - timedelta(days=3),
        ),
        # The person of "recent" also declared long ago: kept while the recent one is.
        "recent_old": accept(
            form,
            declaration(NAMES["recent"], phone="+84905000003"),
            area=area_tree["dong_cau"],
            day=today - timedelta(days=50),
        ),
    }
    handle_everything()
    made["old"].save_revision(clean=False)  # a copy in wagtailcore.Revision, as a review keeps
    assert TestRequest.objects.filter(person=person_named(NAMES["traced"])).exists()
    return {"form": form, "photo": photo, **made}


def person_named(name: str) -> Person:
    return Person.objects.get(name_folded=fold(name))


def person_of(submission: Submission) -> Person:
    return SubmissionPerson.objects.get(submission=submission, path="person").person


def test_declarations_past_retention_are_anonymised_and_counters_stay(declarations, caplog):
    photo_path = declarations["photo"].file.path
    counters_before = totals_by_key()
    assert counters_before, "the declarations were counted"
    old_person = person_of(declarations["old"])

    with caplog.at_level(logging.INFO):
        counts = retention_run()

    assert counts == {"submissions": 3, "revisions": 1, "uploads": 1, "persons": 1}
    old = Submission.objects.get(pk=declarations["old"].pk)
    assert old.anonymised_at is not None
    assert old.data == {
        "person": {"sex": "male", "birth_year": 1990},
        "area": "22711-02",
        "symptoms": [],
        "exposure": False,
        "companions": [{}],
    }
    assert old.area_id and old.created_at == declarations["old"].created_at
    # Wagtail's copy of it too, and the photo, row and file.
    revision = Revision.objects.get(submission=old)
    assert NAMES["old"] not in str(revision.content) and "+84905" not in str(revision.content)
    assert not Upload.objects.filter(pk=declarations["photo"].pk).exists()
    assert not os.path.exists(photo_path)
    # The person known only from it is anonymised; the year and area stay.
    old_person.refresh_from_db()
    assert (old_person.full_name, old_person.phone, old_person.address, old_person.birth_date) == (
        "",
        "",
        "",
        None,
    )
    assert old_person.birth_year == 1990 and old_person.home_area_id is not None
    # Tracing's person keeps their record (their declaration is blanked all the same).
    assert person_named(NAMES["traced"]).phone == "+84905000002"
    assert "full_name" not in Submission.objects.get(pk=declarations["traced"].pk).data["person"]
    # A declaration within retention keeps everything, and its person too.
    recent = Submission.objects.get(pk=declarations["recent"].pk)
    assert recent.anonymised_at is None and recent.data["person"]["full_name"] == NAMES["recent"]
    assert person_named(NAMES["recent"]).phone == "+84905000003"
    assert Submission.objects.get(pk=declarations["recent_old"].pk).anonymised_at is not None

    # The counters did not move, and a rebuild from the anonymised rows finds the same.
    assert totals_by_key() == counters_before
    rebuild()
    assert totals_by_key() == counters_before
    # The log holds counts, never values.
    logged = caplog.text
    assert "retention: 3 declarations" in logged
    assert not any(secret in logged for secret in (*NAMES.values(), "+84905", "Lê Lợi"))


def test_retention_run_twice_changes_nothing(declarations):
    retention_run()
    stored = list(Submission.objects.order_by("pk").values_list("data", "anonymised_at"))
    assert retention_run() == {"submissions": 0, "revisions": 0, "uploads": 0, "persons": 0}
    assert list(Submission.objects.order_by("pk").values_list("data", "anonymised_at")) == stored


def test_retention_runs_in_small_batches_and_respects_the_setting(declarations, settings):
    settings.HEALTH_DECLARATION_RETENTION_DAYS = 45
    assert retention_run(batch_size=1)["submissions"] == 1  # only the 50-day-old one
    settings.HEALTH_DECLARATION_RETENTION_DAYS = 1
    assert retention_run(batch_size=1, max_batches=2)["submissions"] == 2
    assert retention_run(batch_size=1)["submissions"] == 1
    assert not Submission.objects.filter(anonymised_at=None).exists()


def test_the_scheduler_runs_it_and_a_command_runs_it_by_hand(declarations):
    assert retention_due in [step for step, _every in periodic_steps()]
    out = StringIO()
    call_command("retention_run", stdout=out)
    assert out.getvalue().strip() == "submissions=3 revisions=1 uploads=1 persons=1"
    assert retention_due()["submissions"] == 0


def test_other_kinds_are_not_touched(home, area_tree):  # noqa: F811
    form = publish_form(home, slug="chot", fields=FIELDS, area=area_tree["province"], kind="checkpoint")
    old = accept(
        form,
        declaration("Võ Văn Chốt", phone="+84905000009"),
        area=area_tree["dong_cau"],
        day=timezone.localdate() - timedelta(days=400),
    )
    assert retention_run()["submissions"] == 0
    old.refresh_from_db()
    assert old.anonymised_at is None and old.data["person"]["full_name"] == "Võ Văn Chốt"
    assert uuid.UUID(str(old.client_id))
