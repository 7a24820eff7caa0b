"""Merging duplicate persons: every row re-pointed in one transaction, undone exactly by a
second merge record, refused when it must be, and logged without personal data."""

import datetime
import logging

import pytest
from django.utils import timezone

from forms_engine.models import Submission
from places.folding import fold
from places.models import GroupRole, Place
from tests.forms_engine.conftest import checkpoint_form, home  # noqa: F401
from tracing.merge import MergeRefused, merge_undo, persons_merge
from tracing.models import (
    Alert,
    CheckIn,
    Classification,
    Cluster,
    ClusterMember,
    Contact,
    DuplicateCandidate,
    Person,
    PersonMerge,
    QuarantineOrder,
    SubmissionPerson,
)
from tracing.models import TestRequest as RequestOfTest

pytestmark = pytest.mark.django_db

# Every model that names a person, as the round trip compares them.
MODELS = (
    Person,
    SubmissionPerson,
    Contact,
    CheckIn,
    Cluster,
    ClusterMember,
    QuarantineOrder,
    Alert,
    RequestOfTest,
    Classification,
    DuplicateCandidate,
)


def person(name, area=None, **fields):
    return Person.objects.create(full_name=name, name_folded=fold(name), home_area=area, **fields)


def snapshot() -> dict:
    """Every row of every model above, as values (Person's auto-updated time left out)."""
    rows = {}
    for model in MODELS:
        values = list(model.objects.order_by("pk").values())
        if model is Person:
            for row in values:
                row.pop("updated_at")
        rows[model._meta.label] = values
    return rows


@pytest.fixture
def staff(area_tree, make_user):
    return make_user("truyvet", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)


@pytest.fixture
def world(area_tree, checkpoint_form):  # noqa: F811
    """A kept and an absorbed person with something of every kind, colliding where they can."""
    village = area_tree["dong_cau"]
    kept = person("Nguyễn Văn An", village, birth_year=1985, level="F1", level_at=timezone.now())
    absorbed = person(
        "Nguyen Van An",
        village,
        birth_year=1985,
        birth_date=datetime.date(1985, 3, 2),
        national_id="056185000111",
        phone="+84905123456",
        level="F0",
    )
    b, c, d, e = (person(name, village) for name in ("Trần Bình", "Lê Cường", "Phạm Dung", "Hồ Em"))
    earlier = person("Nguyen V. An", village, merged_into=absorbed)

    def submission():
        return Submission.objects.create(
            form=checkpoint_form, version=checkpoint_form.current_version, data={}, area=area_tree["suoi_tan"]
        )

    SubmissionPerson.objects.create(submission=submission(), path="traveller", person=absorbed)
    SubmissionPerson.objects.create(submission=submission(), path="traveller", person=kept)
    edge = {"found_by": "interview", "setting": "household"}
    Contact.objects.create(person=kept, contact=b, **edge)
    Contact.objects.create(person=absorbed, contact=b, **edge)  # kept has it: dropped
    Contact.objects.create(person=absorbed, contact=kept, **edge)  # a self-loop once merged: dropped
    Contact.objects.create(person=absorbed, contact=b, found_by="interview", setting="workplace")  # moved
    Contact.objects.create(person=c, contact=absorbed, **edge)  # moved, on the contact side
    park = Place.objects.create(kind=Place.KIND_INDUSTRIAL_PARK, name="KCN Suối Dầu", area=village)
    CheckIn.objects.create(person=absorbed, place=park, at=timezone.now(), submission=submission())
    shared = Cluster.objects.create(
        name="KCN — xưởng 1", place=park, workshop="x1", workshop_folded="x1", first_case=absorbed
    )
    own = Cluster.objects.create(name="KCN — xưởng 2", place=park, workshop="x2", workshop_folded="x2")
    ClusterMember.objects.create(cluster=shared, person=kept)
    ClusterMember.objects.create(cluster=shared, person=absorbed)  # dropped
    ClusterMember.objects.create(cluster=own, person=absorbed)  # moved
    today = timezone.localdate()
    order = {
        "kind": "home",
        "area": village,
        "start_date": today,
        "planned_end": today + datetime.timedelta(days=7),
    }
    QuarantineOrder.objects.create(person=kept, **order)
    QuarantineOrder.objects.create(person=absorbed, **order)  # transferred
    QuarantineOrder.objects.create(person=absorbed, status="completed", **order)
    Alert.objects.create(key="fever:9", kind="fever", person=absorbed, area=village, message="38,6")
    RequestOfTest.objects.create(person=kept, reason="f1")
    RequestOfTest.objects.create(person=absorbed, reason="symptoms")  # cancelled
    Classification.objects.create(person=absorbed, level="F0", note="dương tính")
    Classification.objects.create(person=b, level="F1", case=absorbed)
    DuplicateCandidate.objects.create(person=absorbed, other=kept, reason="same name")  # resolved
    DuplicateCandidate.objects.create(person=absorbed, other=d, reason="same name")  # moved
    DuplicateCandidate.objects.create(person=kept, other=e, reason="same name")
    DuplicateCandidate.objects.create(person=absorbed, other=e, reason="same name")  # dropped
    return {"kept": kept, "absorbed": absorbed, "b": b, "c": c, "earlier": earlier}


def test_merge_repoints_everything_and_joins_identifiers(world, staff):
    kept, absorbed = world["kept"], world["absorbed"]
    merge = persons_merge(kept, absorbed, user=staff)
    absorbed.refresh_from_db()
    kept.refresh_from_db()
    assert absorbed.merged_into == kept and absorbed.national_id == ""
    assert (kept.national_id, kept.phone, kept.birth_date) == (
        "056185000111",
        "+84905123456",
        datetime.date(1985, 3, 2),
    )
    assert kept.level == "F0"
    for model in (SubmissionPerson, CheckIn, ClusterMember, QuarantineOrder, Alert, RequestOfTest):
        assert not model.objects.filter(person=absorbed).exists(), model
    assert (
        not Contact.objects.filter(person=absorbed).exists()
        and not Contact.objects.filter(contact=absorbed).exists()
    )
    assert not Contact.objects.filter(person=kept, contact=kept).exists()
    assert Contact.objects.filter(person=kept, contact=world["b"]).count() == 2
    assert QuarantineOrder.objects.filter(person=kept, status="active").count() == 1
    assert QuarantineOrder.objects.filter(person=kept, status="transferred").count() == 1
    assert RequestOfTest.objects.filter(person=kept, status="open").count() == 1
    assert Classification.objects.filter(case=kept).exists()
    assert Cluster.objects.filter(first_case=kept).count() == 1
    assert Person.objects.get(pk=world["earlier"].pk).merged_into == kept
    assert not DuplicateCandidate.objects.filter(
        resolved_at__isnull=True, other=kept, person=absorbed
    ).exists()
    assert DuplicateCandidate.objects.filter(person=kept, other__full_name="Phạm Dung").exists()
    assert merge.moved["dropped"] and merge.moved["fk"]


def test_undo_restores_every_row_exactly(world, staff):
    before = snapshot()
    classifications_before = {row["id"] for row in before["tracing.Classification"]}
    merge = persons_merge(world["kept"], world["absorbed"], user=staff)
    assert snapshot() != before
    undo = merge_undo(merge, user=staff)
    assert undo.undoes == merge and PersonMerge.objects.count() == 2
    after = snapshot()
    # The merge and its undo each leave a history row on the kept person: the rest is as it was.
    after["tracing.Classification"] = [
        row for row in after["tracing.Classification"] if row["id"] in classifications_before
    ]
    for label in before:
        assert after[label] == before[label], label


def test_merge_and_undo_refusals(world, staff, area_tree):
    from django.utils import translation

    kept, absorbed = world["kept"], world["absorbed"]
    with pytest.raises(MergeRefused):
        persons_merge(kept, kept, user=staff)
    with translation.override("en"), pytest.raises(MergeRefused, match="already merged"):
        persons_merge(kept, world["earlier"], user=staff)
    far = person("Lê Văn Xa", area_tree["vinh_luong"])
    with pytest.raises(MergeRefused):
        persons_merge(kept, far, user=staff)
    merge = persons_merge(kept, absorbed, user=staff)
    with pytest.raises(MergeRefused):
        persons_merge(kept, absorbed, user=staff)  # absorbed is merged now
    undo = merge_undo(merge, user=staff)
    with pytest.raises(MergeRefused):
        merge_undo(merge, user=staff)
    with pytest.raises(MergeRefused):
        merge_undo(undo, user=staff)
    assert PersonMerge.objects.count() == 2


def test_a_refusal_is_translated(world, staff):
    from django.utils import translation

    with translation.override("vi"), pytest.raises(MergeRefused) as refusal:
        persons_merge(world["kept"], world["kept"], user=staff)
    assert str(refusal.value)


def test_nothing_personal_is_logged(world, staff, caplog):
    secrets = ("Nguyễn", "Nguyen", "056185000111", "+84905123456", "905123456")
    with caplog.at_level(logging.DEBUG):
        merge = persons_merge(world["kept"], world["absorbed"], user=staff)
        merge_undo(merge, user=staff)
    messages = [record.getMessage() for record in caplog.records]
    assert any(str(merge.pk) in message for message in messages)
    for message in messages:
        for secret in secrets:
            assert secret not in message


def test_merges_show_in_the_timeline(world, staff):
    from tracing.selectors import person_timeline

    merge = persons_merge(world["kept"], world["absorbed"], user=staff)
    kinds = [entry.kind for entry in person_timeline(world["kept"], user=staff)]
    assert "merge" in kinds
    merge_undo(merge, user=staff)
    assert [entry.kind for entry in person_timeline(world["kept"], user=staff)].count("merge") == 2


def test_a_person_without_home_area_merges_and_unmerges(staff, area_tree, checkpoint_form):  # noqa: F811
    """Seen only through an accepted submission in the area, which the merge moves away."""
    kept = person("Đỗ Văn Em", area_tree["dong_cau"], birth_year=1990)
    nomad = person("Do Van Em", birth_year=1990)
    submission = Submission.objects.create(
        form=checkpoint_form, version=checkpoint_form.current_version, data={}, area=area_tree["suoi_tan"]
    )
    link = SubmissionPerson.objects.create(submission=submission, path="traveller", person=nomad)
    merge = persons_merge(kept, nomad, user=staff)
    link.refresh_from_db()
    assert link.person == kept
    merge_undo(merge, user=staff)
    link.refresh_from_db()
    nomad.refresh_from_db()
    assert link.person == nomad and nomad.merged_into is None


def test_another_districts_staff_cannot_undo(world, staff, area_tree, make_user):
    merge = persons_merge(world["kept"], world["absorbed"], user=staff)
    other = make_user("truyvet.nhatrang", area=area_tree["nha_trang"], role=GroupRole.ROLE_APPROVER)
    with pytest.raises(MergeRefused):
        merge_undo(merge, user=other)
    assert not PersonMerge.objects.filter(undoes=merge).exists()
