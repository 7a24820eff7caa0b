"""Each publication is a version; submissions keep theirs; breaking changes are refused."""

import copy
import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from wagtail.models import APIToken

from forms_engine.display import submission_rows
from forms_engine.keys import key_from_label
from forms_engine.models import FormPage, Submission
from places.models import GroupRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def bearer(area_tree, make_user):
    user = make_user("canbo", area=area_tree["province"], role=GroupRole.ROLE_FIELD_STAFF)
    return {"HTTP_AUTHORIZATION": f"Bearer {APIToken.create_token(user=user, name='x')[1]}"}


def submit(form, bearer, data):
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": data})
    response = Client().post(
        f"/api/v1/forms/{form.slug}/submissions", body, content_type="application/json", **bearer
    )
    assert response.status_code == 201, response.content
    return Submission.objects.get(pk=response.json()["id"])


def republish(form: FormPage, mutate) -> FormPage:
    """Edit the live form's fields as the page editor would, then publish."""
    form = FormPage.objects.get(pk=form.pk)
    raw = copy.deepcopy(list(form.fields.raw_data))
    mutate(raw)
    form.fields = raw
    form.save_revision().publish()
    return FormPage.objects.get(pk=form.pk)


def block(raw, key):
    return next(b for b in raw if b["value"].get("key") == key)


def test_keys_are_made_from_vietnamese_labels():
    assert key_from_label("Số điện thoại") == "so_dien_thoai"
    assert key_from_label("Đã đến vùng dịch?") == "da_den_vung_dich"
    assert key_from_label("14 ngày") == "f_14_ngay"


def test_missing_keys_are_filled_and_duplicates_refused(home, area_tree):
    form = FormPage(
        title="Thử",
        slug="thu",
        area=area_tree["province"],
        fields=[
            {"type": "short_text", "value": {"label": "Họ tên", "key": ""}},
            {"type": "short_text", "value": {"label": "Họ tên", "key": ""}},
        ],
    )
    home.add_child(instance=form)
    assert [child.value["key"] for child in form.fields] == ["ho_ten", "ho_ten_2"]

    form.fields = [
        {"type": "short_text", "value": {"label": "A", "key": "same"}},
        {"type": "phone", "value": {"label": "B", "key": "same"}},
    ]
    with pytest.raises(ValidationError, match="same"):
        form.full_clean()


def test_submissions_keep_the_version_and_its_labels(checkpoint_form, bearer):
    old = submit(
        checkpoint_form,
        bearer,
        {"traveller": {"full_name": "Ngô Văn Ba", "birth_year": 1960}, "direction": "out"},
    )

    def relabel(raw):
        block(raw, "direction")["value"]["label"] = "Hướng đi"

    form = republish(checkpoint_form, relabel)
    new = submit(
        form, bearer, {"traveller": {"full_name": "Ngô Văn Tư", "birth_year": 1961}, "direction": "out"}
    )

    assert (old.version.number, new.version.number) == (1, 2)
    old_labels = [row.label for row in submission_rows(old.version.schema, old.data)]
    new_labels = [row.label for row in submission_rows(new.version.schema, new.data)]
    assert "Chiều" in old_labels and "Hướng đi" not in old_labels
    assert "Hướng đi" in new_labels


def test_a_changed_type_is_refused_once_there_are_submissions(checkpoint_form, bearer):
    submit(
        checkpoint_form,
        bearer,
        {"traveller": {"full_name": "Ngô Văn Ba", "birth_year": 1960}, "direction": "out"},
    )

    def retype(raw):
        phone = block(raw, "phone")
        phone["type"] = "short_text"

    with pytest.raises(ValidationError, match="phone"):
        republish(checkpoint_form, retype)


def test_a_renamed_key_is_refused_once_there_are_submissions(checkpoint_form, bearer):
    submit(
        checkpoint_form,
        bearer,
        {"traveller": {"full_name": "Ngô Văn Ba", "birth_year": 1960}, "direction": "out"},
    )

    def rename(raw):
        block(raw, "plate")["value"]["key"] = "bien_so"

    with pytest.raises(ValidationError, match="bien_so"):
        republish(checkpoint_form, rename)


def test_before_any_submission_the_form_may_change_freely(checkpoint_form):
    def retype(raw):
        block(raw, "phone")["type"] = "short_text"

    form = republish(checkpoint_form, retype)
    assert form.current_version.number == 2


def test_the_page_editor_opens_forms_for_adding_and_editing(client, checkpoint_form, bearer, make_user):
    submit(
        checkpoint_form,
        bearer,
        {"traveller": {"full_name": "Ngô Văn Ba", "birth_year": 1960}, "direction": "out"},
    )
    client.force_login(make_user("root", superuser=True))
    edit_url = f"/admin/pages/{checkpoint_form.pk}/edit/"
    page = client.get(edit_url)
    assert page.status_code == 200
    assert "traveller" in page.content.decode()
    add = client.get(f"/admin/pages/add/forms_engine/formpage/{checkpoint_form.get_parent().pk}/")
    assert add.status_code == 200
