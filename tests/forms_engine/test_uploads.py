"""Photos for form fields: the real type is read from the bytes; limits are enforced."""

import io
import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from wagtail.models import APIToken

from forms_engine.models import Submission, Upload
from places.models import GroupRole

pytestmark = pytest.mark.django_db


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def bearer(area_tree, make_user):
    user = make_user("canbo", area=area_tree["province"], role=GroupRole.ROLE_FIELD_STAFF)
    return {"HTTP_AUTHORIZATION": f"Bearer {APIToken.create_token(user=user, name='x')[1]}"}


def upload(content: bytes, name="anh.jpg", content_type="image/jpeg", **headers):
    file = SimpleUploadedFile(name, content, content_type=content_type)
    return Client().post("/api/v1/uploads", {"file": file}, **headers)


def submit_with_photo(form, bearer, upload_id):
    data = {
        "traveller": {"full_name": "Phạm Thị Năm", "birth_year": 1999},
        "direction": "out",
        "photo": {"upload": upload_id},
    }
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": data})
    return Client().post(
        f"/api/v1/forms/{form.slug}/submissions", body, content_type="application/json", **bearer
    )


def test_a_photo_is_uploaded_then_named_by_its_submission(checkpoint_form, bearer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = upload(image_bytes("JPEG"), **bearer)
    assert response.status_code == 201
    upload_id = response.json()["upload"]
    assert Upload.objects.get(pk=upload_id).content_type == "image/jpeg"

    submitted = submit_with_photo(checkpoint_form, bearer, upload_id)
    assert submitted.status_code == 201
    assert Submission.objects.get().data["photo"] == {"upload": upload_id}


def test_the_type_comes_from_the_bytes_not_the_name(bearer, settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    disguised = upload(b"MZ\x90\x00 this is not an image", name="anh.jpg", **bearer)
    assert disguised.status_code == 400
    assert "file" in disguised.json()["errors"]
    assert not Upload.objects.exists()


def test_a_field_refuses_a_type_it_does_not_accept(checkpoint_form, bearer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    png = upload(image_bytes("PNG"), name="anh.png", content_type="image/png", **bearer).json()["upload"]
    response = submit_with_photo(checkpoint_form, bearer, png)  # the photo field takes JPEG only
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["photo"]


def test_oversize_uploads_are_refused(bearer, settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    settings.UPLOAD_MAX_MB = 1
    response = upload(image_bytes("JPEG") + b"\x00" * (2 * 1024 * 1024), **bearer)
    assert response.status_code == 413
    assert not Upload.objects.exists()
