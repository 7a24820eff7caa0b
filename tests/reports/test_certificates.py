"""Certificates: the quarantine completion certificate and the test-result slip, each a one-page
PDF whose QR opens a public page that verifies it (reports/certificates.py)."""

import io
import shutil
import subprocess
import time
from datetime import date, datetime
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image
from pypdf import PdfReader

from places.folding import fold
from places.models import GroupRole
from reports import certificates
from tests.conftest import require
from tests.forms_engine.conftest import home  # noqa: F401 - fixture
from tests.reports.conftest import accept
from tracing.merge import merge_undo, persons_merge
from tracing.models import Person, QuarantineOrder
from tracing.models import TestRequest as SampleRequest  # a name pytest does not collect

pytestmark = pytest.mark.django_db

FULL_NAME = "Nguyễn Thị Hường"
NATIONAL_ID = "056188001234"
PHONE = "+84905111222"
ADDRESS = "Số 12 đường Trần Phú"


def vietnamese(text) -> str:
    """A message as the certificate prints it (Vietnamese once the translations are merged)."""
    with translation.override(certificates.DOCUMENT_LANGUAGE):
        return translation.gettext(text) if isinstance(text, str) else str(text)


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()  # the verification page's per-IP counter starts at zero in every test
    yield
    cache.clear()


@pytest.fixture
def huong(area_tree) -> Person:
    return Person.objects.create(
        full_name=FULL_NAME,
        name_folded=fold(FULL_NAME),
        birth_year=1988,
        national_id=NATIONAL_ID,
        phone=PHONE,
        address=ADDRESS,
        home_area=area_tree["dong_cau"],
    )


def completed_order(person, area, **fields) -> QuarantineOrder:
    values = {
        "person": person,
        "kind": "home",
        "area": area,
        "start_date": date(2021, 8, 1),
        "planned_end": date(2021, 8, 14),
        "status": QuarantineOrder.STATUS_COMPLETED,
        "ended_at": timezone.make_aware(datetime(2021, 8, 15, 9, 30)),
        **fields,
    }
    return QuarantineOrder.objects.create(**values)


@pytest.fixture
def order(huong, area_tree) -> QuarantineOrder:
    return completed_order(huong, area_tree["dong_cau"])


@pytest.fixture
def resulted_test(huong, area_tree, counted_forms) -> SampleRequest:
    """A request closed by an accepted negative result sampled on 10/08/2021."""
    submission = accept(
        counted_forms["testing"],
        {
            "patient": {"full_name": FULL_NAME, "birth_year": 1988},
            "test_type": "rt_pcr_don",
            "sample_date": "2021-08-10",
            "result": "negative",
            "area": "22711-02",
        },
        area=area_tree["dong_cau"],
        day=date(2021, 8, 11),
    )
    return SampleRequest.objects.create(
        person=huong,
        reason=SampleRequest.REASON_F1,
        area=area_tree["dong_cau"],
        status=SampleRequest.STATUS_DONE,
        result_submission=submission,
        closed_at=timezone.make_aware(datetime(2021, 8, 11, 15, 0)),
    )


@pytest.fixture
def staff(client, area_tree, make_user):
    """An approver of Huyện Cam Lâm, where the person lives."""
    user = make_user("truyvet.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)
    user.first_name, user.last_name = "Trần Văn", "Đức"
    user.save()
    client.force_login(user)
    return user


def pdf_of(response) -> bytes:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    return b"".join(response.streaming_content) if response.streaming else response.content


def text_of(pdf: bytes, tmp_path) -> str:
    require(bool(shutil.which("pdftotext")), "needs pdftotext (apt-get install poppler-utils)")
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", path, "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout


def qr_texts(pdf: bytes, tmp_path) -> list[str]:
    """The texts of the QR codes on the PDF's page, rendered by poppler and read by zxing-cpp."""
    require(bool(shutil.which("pdftoppm")), "needs pdftoppm (apt-get install poppler-utils)")
    try:
        import zxingcpp
    except ImportError:
        zxingcpp = None
    require(zxingcpp is not None, "needs zxing-cpp (pip install zxing-cpp)")
    path = tmp_path / "scan.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", path, tmp_path / "page"], check=True, timeout=60)
    [page] = sorted(tmp_path.glob("page*.png"))
    found = zxingcpp.read_barcodes(Image.open(page), formats=zxingcpp.BarcodeFormat.QRCode)
    return [result.text for result in found]


def verify_path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "testserver", url
    return parts.path


def assert_nothing_personal(html: str) -> None:
    for secret in (FULL_NAME, "Hường", NATIONAL_ID, PHONE, "0905111222", ADDRESS, "1988", "Đồng Cau"):
        assert secret not in html, secret


# --- Initials ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Nguyễn Thị Hường", "N. T. H."),
        ("Đặng Văn Ánh", "Đ. V. A."),
        ("đỗ ứng", "Đ. Ư."),
        ("  Lê   Ấn  ", "L. Â."),
        ("Nguyễn Thị Hường".replace("ễ", "e\u0302\u0303"), "N. T. H."),  # decomposed input
        ("Ơn (Bé)", "Ơ. B."),
        ("", ""),
    ],
)
def test_initials_of_vietnamese_names(name, expected):
    assert certificates.initials(name) == expected


# --- The quarantine certificate ----------------------------------------------------------------


class TestQuarantineCertificate:
    def test_is_one_page_with_the_full_name_title_and_dates(self, client, staff, order, tmp_path, home):  # noqa: F811
        pdf = pdf_of(client.get(reverse("certificates:quarantine", args=[order.pk])))

        assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
        text = text_of(pdf, tmp_path)
        assert FULL_NAME in text
        assert vietnamese(certificates.KIND_TITLES["q"]) in text
        assert "01/08/2021" in text and "15/08/2021" in text  # from the start to the day it ended
        assert "1988" in text
        assert "Thôn Đồng Cau, Xã Suối Tân, Huyện Cam Lâm, Tỉnh Khánh Hòa" in " ".join(text.split())
        assert "Trần Văn Đức" in text  # who issued it, in the signature block
        assert "Ban Chỉ đạo phòng, chống dịch COVID-19 tỉnh Khánh Hòa" in " ".join(text.split())

    def test_qr_decodes_to_the_printed_verification_url(self, client, staff, order, tmp_path):
        pdf = pdf_of(client.get(reverse("certificates:quarantine", args=[order.pk])))

        [url] = qr_texts(pdf, tmp_path)
        assert url.startswith("http://testserver/verify/")
        assert url in "".join(text_of(pdf, tmp_path).split())  # printed under the QR (maybe wrapped)

    def test_verification_shows_initials_and_dates_and_nothing_personal(self, client, staff, order, tmp_path):
        pdf = pdf_of(client.get(reverse("certificates:quarantine", args=[order.pk])))
        [url] = qr_texts(pdf, tmp_path)
        client.logout()  # the page is public

        response = client.get(verify_path(url))

        assert response.status_code == 200
        html = response.content.decode()
        assert 'lang="vi"' in html and vietnamese("Valid") in html
        assert "N. T. H." in html and "01/08/2021" in html and "15/08/2021" in html
        assert_nothing_personal(html)
        assert response["Referrer-Policy"] == "no-referrer"

    def test_an_active_order_has_no_certificate(self, client, staff, huong, area_tree):
        active = completed_order(
            huong, area_tree["dong_cau"], status=QuarantineOrder.STATUS_ACTIVE, ended_at=None
        )

        response = client.get(reverse("certificates:quarantine", args=[active.pk]), follow=True)

        assert response.redirect_chain[-1][0] == reverse("persons:inspect", args=[huong.pk])
        assert vietnamese(certificates.NOT_COMPLETED) in response.content.decode()

    def test_a_user_of_another_district_gets_404(self, client, order, area_tree, make_user):
        other = make_user("pheduyet.nhatrang", area=area_tree["nha_trang"], role=GroupRole.ROLE_APPROVER)
        client.force_login(other)

        assert client.get(reverse("certificates:quarantine", args=[order.pk])).status_code == 404

    def test_a_user_who_may_not_see_persons_gets_404(self, client, order, area_tree, make_user):
        leader = make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_LEADER)
        client.force_login(leader)

        assert client.get(reverse("certificates:quarantine", args=[order.pk])).status_code == 404

    def test_anonymous_users_are_sent_to_log_in(self, client, order):
        response = client.get(reverse("certificates:quarantine", args=[order.pk]))

        assert response.status_code == 302 and "login" in response["Location"]

    def test_the_person_page_offers_it_for_completed_orders_only(
        self, client, staff, order, huong, area_tree
    ):
        broken = completed_order(huong, area_tree["dong_cau"], status=QuarantineOrder.STATUS_BROKEN)

        html = client.get(reverse("persons:inspect", args=[huong.pk])).content.decode()

        assert reverse("certificates:quarantine", args=[order.pk]) in html
        assert reverse("certificates:quarantine", args=[broken.pk]) not in html


# --- The test-result slip ------------------------------------------------------------------------


class TestResultSlip:
    def test_is_one_page_with_the_name_dates_and_result(self, client, staff, resulted_test, tmp_path):
        pdf = pdf_of(client.get(reverse("certificates:test_result", args=[resulted_test.pk])))

        assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
        text = text_of(pdf, tmp_path)
        assert FULL_NAME in text
        assert vietnamese(certificates.KIND_TITLES["t"]) in text
        assert "10/08/2021" in text and "11/08/2021" in text
        assert vietnamese(certificates.RESULT_LABELS["negative"]) in text

    def test_verifies_with_the_result_and_dates(self, client, staff, resulted_test, tmp_path):
        pdf = pdf_of(client.get(reverse("certificates:test_result", args=[resulted_test.pk])))
        [url] = qr_texts(pdf, tmp_path)
        client.logout()

        html = client.get(verify_path(url)).content.decode()

        assert "N. T. H." in html and "10/08/2021" in html and "11/08/2021" in html
        assert vietnamese(certificates.RESULT_LABELS["negative"]) in html
        assert_nothing_personal(html)

    def test_a_corrected_result_voids_the_slip(self, resulted_test):
        token = certificates.certificate_token(certificates.test_result_facts(resulted_test))
        submission = resulted_test.result_submission
        submission.data = {**submission.data, "result": "positive"}
        submission.save(update_fields=["data"])

        assert certificates.certificate_verify(token).state == certificates.STATE_REVOKED

    def test_an_open_request_has_no_slip(self, client, staff, huong, area_tree):
        open_request = SampleRequest.objects.create(
            person=huong, reason=SampleRequest.REASON_F1, area=area_tree["dong_cau"]
        )

        response = client.get(reverse("certificates:test_result", args=[open_request.pk]), follow=True)

        assert vietnamese(certificates.NO_RESULT) in response.content.decode()

    def test_a_user_of_another_district_gets_404(self, client, resulted_test, area_tree, make_user):
        client.force_login(
            make_user("pheduyet.nhatrang", area=area_tree["nha_trang"], role=GroupRole.ROLE_APPROVER)
        )

        assert client.get(reverse("certificates:test_result", args=[resulted_test.pk])).status_code == 404


# --- Tokens refused ----------------------------------------------------------------------------


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


class TestRefusedTokens:
    @pytest.fixture
    def token(self, order) -> str:
        return certificates.certificate_token(certificates.quarantine_facts(order))

    def refused(self, client, token, status=400) -> str:
        response = client.get(reverse("certificate_verify", args=[token]))
        assert response.status_code == status, response.status_code
        html = response.content.decode()
        assert 'class="card valid"' not in html
        assert "N. T. H." not in html and "01/08/2021" not in html
        assert_nothing_personal(html)
        return html

    def test_a_flipped_character_anywhere(self, client, token):
        for index in (0, 3, len(token) // 2, len(token) - 1):
            html = self.refused(client, _flip(token, index))
            assert vietnamese("Not valid") in html

    def test_another_objects_id_with_the_same_signature(self, client, token, order, huong, area_tree):
        other = completed_order(huong, area_tree["dong_cau"], start_date=date(2021, 9, 1))
        swapped = token.replace(f"q{order.pk}.", f"q{other.pk}.", 1)
        assert swapped != token

        self.refused(client, swapped)

    def test_signed_with_another_salt(self, client, order):
        payload = certificates.quarantine_facts(order).payload
        forged = signing.TimestampSigner(salt="reports.other").sign(payload)

        self.refused(client, forged)

    def test_garbled_and_huge(self, client):
        for garbage in ("x", "q1.abc:def:ghi", "::::", "%00", "q" * 5000):
            self.refused(client, garbage)

    def test_expired(self, client, order, settings):
        settings.CERTIFICATE_TOKEN_MAX_AGE_DAYS = 30
        old = certificates.certificate_token(
            certificates.quarantine_facts(order), at=time.time() - 31 * 86400
        )

        assert vietnamese("Expired") in self.refused(client, old)

    def test_a_reopened_order_is_no_longer_valid(self, client, token, order):
        # What an undone decision does: the order is active again, so it was not completed.
        order.status, order.ended_at = QuarantineOrder.STATUS_ACTIVE, None
        order.save(update_fields=["status", "ended_at"])

        html = self.refused(client, token, status=410)

        assert vietnamese("No longer valid") in html

    def test_a_merge_voids_it_and_its_undo_restores_it(self, client, token, huong, area_tree, make_user):
        staff = make_user("truyvet.camlam2", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)
        kept = Person.objects.create(
            full_name="Nguyễn Thị Hương",
            name_folded=fold("Nguyễn Thị Hương"),
            home_area=area_tree["dong_cau"],
        )
        merge = persons_merge(kept, huong, user=staff)  # the order now names the kept person
        self.refused(client, token, status=410)

        merge_undo(merge, user=staff)

        assert certificates.certificate_verify(token).valid

    def test_verification_is_rate_limited(self, client, token, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "certificate-verify": (3, 60)}
        url = reverse("certificate_verify", args=[token])
        assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]

        response = client.get(url)

        assert response.status_code == 429 and int(response["Retry-After"]) >= 1
        assert "N. T. H." not in response.content.decode()
