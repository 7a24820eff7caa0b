"""HTML, SVG and script content is refused wherever files come in, and what is served is inert.

Ways in: photos and files of form fields (POST /api/v1/uploads), Wagtail documents and
images (the admin), and bulk imports. A file that a browser could run as a page in the site's
origin (stored XSS) must never be stored, or never be served as such.
"""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from wagtail.documents import get_document_model
from wagtail.images import get_image_model

from forms_engine.import_files import NOT_A_TABLE, FileRefused, sniff_format
from forms_engine.models import Upload
from forms_engine.uploads import UNSUPPORTED_TYPE
from website.security import DOCUMENT_MARKUP, document_refusal

pytestmark = pytest.mark.django_db

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect/></svg>'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, "PNG")
    return buffer.getvalue()


def api_upload(content: bytes, name: str, content_type: str = "application/octet-stream"):
    file = SimpleUploadedFile(name, content, content_type=content_type)
    return Client(REMOTE_ADDR="10.1.2.3").post("/api/v1/uploads", {"file": file})


@pytest.fixture
def admin_client(make_user, area_tree):
    client = Client()
    client.force_login(make_user("quantri", area=area_tree["province"], superuser=True))
    return client


class TestApiUploads:
    @pytest.mark.parametrize(
        ("content", "name", "content_type"),
        [
            (HTML, "trang.html", "text/html"),
            (HTML, "anh.jpg", "image/jpeg"),  # the name lies
            (SVG_WITH_SCRIPT, "anh.svg", "image/svg+xml"),
            (SVG_WITH_SCRIPT, "anh.png", "image/png"),
            (b"<?php system($_GET['c']); ?>", "anh.jpg", "image/jpeg"),
        ],
    )
    def test_markup_is_refused_whatever_it_is_called(self, content, name, content_type, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        response = api_upload(content, name, content_type)
        assert response.status_code == 400
        assert response.json()["errors"]["file"] == [str(UNSUPPORTED_TYPE)]
        assert not Upload.objects.exists()

    def test_a_polyglot_is_stored_under_its_sniffed_type_never_its_name(self, settings, tmp_path):
        """A PNG header followed by HTML passes the sniffing (it is a PNG to an image reader), so
        the stored file is named from the bytes: served as image/png, never as text/html."""
        settings.MEDIA_ROOT = tmp_path
        response = api_upload(png_bytes() + HTML, "trang.html", "text/html")
        assert response.status_code == 201
        upload = Upload.objects.get()
        assert upload.content_type == "image/png"
        assert upload.file.name.endswith(".png")
        assert "trang" not in upload.file.name

    def test_oversize_is_refused(self, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        settings.UPLOAD_MAX_MB = 1
        response = api_upload(png_bytes() + b"\0" * (1024 * 1024 + 100 * 1024), "anh.png", "image/png")
        assert response.status_code == 413
        assert not Upload.objects.exists()


class TestDocuments:
    @pytest.mark.parametrize(
        ("content", "name"),
        [
            (HTML, "huong-dan.pdf"),  # HTML dressed as a PDF
            (HTML, "danh-sach.csv"),
            (b"ho_ten,ghi_chu\nA,<script>alert(1)</script>\n", "danh-sach.csv"),
            (SVG_WITH_SCRIPT, "bang.xlsx"),
            (png_bytes(), "bao-cao.docx"),
        ],
    )
    def test_bytes_that_do_not_match_the_extension_are_refused(
        self, admin_client, content, name, tmp_path, settings
    ):
        settings.MEDIA_ROOT = tmp_path
        response = admin_client.post(
            "/admin/documents/add/", {"title": "Tài liệu", "file": SimpleUploadedFile(name, content)}
        )
        assert response.status_code == 200  # the form again, with the error
        assert not get_document_model().objects.exists()

    def test_a_wrong_extension_is_refused(self, admin_client, tmp_path, settings):
        settings.MEDIA_ROOT = tmp_path
        response = admin_client.post(
            "/admin/documents/add/", {"title": "Trang", "file": SimpleUploadedFile("trang.html", HTML)}
        )
        assert response.status_code == 200
        assert not get_document_model().objects.exists()

    def test_a_real_pdf_is_stored_and_served_as_an_attachment(self, admin_client, tmp_path, settings):
        settings.MEDIA_ROOT = tmp_path
        response = admin_client.post(
            "/admin/documents/add/", {"title": "Hướng dẫn", "file": SimpleUploadedFile("huong-dan.pdf", PDF)}
        )
        assert response.status_code == 302
        document = get_document_model().objects.get()
        served = Client().get(document.url)
        assert served.status_code == 200
        assert served["Content-Type"] == "application/pdf"
        assert served["Content-Disposition"].startswith("attachment")
        assert served["X-Content-Type-Options"] == "nosniff"

    def test_plain_csv_is_fine(self):
        assert document_refusal("danh-sach.csv", "họ tên,điện thoại\nA,0912\n".encode()) is None
        assert document_refusal("x.csv", b"a,b\n<svg onload=alert(1)>\n") == str(DOCUMENT_MARKUP)


class TestImages:
    def test_svg_is_not_an_allowed_image(self, admin_client, tmp_path, settings):
        settings.MEDIA_ROOT = tmp_path
        response = admin_client.post(
            "/admin/images/add/",
            {
                "title": "Logo",
                "file": SimpleUploadedFile("logo.svg", SVG_WITH_SCRIPT, content_type="image/svg+xml"),
            },
        )
        assert response.status_code == 200
        assert not get_image_model().objects.exists()

    def test_html_named_png_is_not_an_image(self, admin_client, tmp_path, settings):
        settings.MEDIA_ROOT = tmp_path
        response = admin_client.post(
            "/admin/images/add/",
            {"title": "Logo", "file": SimpleUploadedFile("logo.png", HTML, content_type="image/png")},
        )
        assert response.status_code == 200
        assert not get_image_model().objects.exists()

    def test_images_are_capped_like_form_photos(self, settings):
        assert settings.WAGTAILIMAGES_MAX_UPLOAD_SIZE == settings.UPLOAD_MAX_MB * 1024 * 1024
        assert "svg" not in settings.WAGTAILIMAGES_EXTENSIONS


class TestImports:
    @pytest.mark.parametrize("content", [HTML, SVG_WITH_SCRIPT, b"  \n<html><body>a,b</body></html>"])
    def test_markup_and_binaries_are_not_tables(self, content):
        with pytest.raises(FileRefused) as refused:
            sniff_format(content)
        assert refused.value.message == str(NOT_A_TABLE)

    def test_tables_still_pass(self):
        assert sniff_format("họ_tên,sđt\nA,1\n".encode()) == "csv"
        assert sniff_format(b'[{"a": 1}]') == "json"
        assert sniff_format(b"PK\x03\x04rest") == "xlsx"
