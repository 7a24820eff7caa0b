"""QR posters of places: every format decodes to the place's declaration URL, the poster is
Vietnamese, and only users whose area holds the place may download it."""

import io
import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from PIL import Image
from wagtail.models import Site

from forms_engine import qr
from forms_engine.models import FormPage
from forms_engine.qr_admin import NO_DECLARATION_FORM
from places.models import GroupRole, Place
from tests.conftest import require

pytestmark = pytest.mark.django_db

FORM_URL = "http://testserver/khai-bao-y-te/"


@pytest.fixture(autouse=True)
def fresh_site_paths():
    # Wagtail caches the sites' root paths; a rolled-back test must not leave its sites there.
    Site.clear_site_root_paths_cache()
    yield
    Site.clear_site_root_paths_cache()


@pytest.fixture
def decode():
    """The texts of the QR codes found in a PIL image, decoded with zxing-cpp."""
    try:
        import zxingcpp
    except ImportError:
        zxingcpp = None
    require(zxingcpp is not None, "needs zxing-cpp (pip install zxing-cpp)")

    def decode(image: Image.Image) -> list[str]:
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        return [result.text for result in found]

    return decode


@pytest.fixture
def places(area_tree):
    return {
        "vinh_luong": Place.objects.create(
            kind=Place.KIND_VACCINATION_SITE,
            name="Điểm tiêm Vĩnh Lương <cơ sở 2> & chợ",
            code="TC-VL",
            area=area_tree["vinh_luong"],
            address="Thôn Tây Bắc 1, xã Vĩnh Lương, thành phố Nha Trang",
        ),
        "suoi_tan": Place.objects.create(
            kind=Place.KIND_CHECKPOINT,
            name="Chốt Suối Tân",
            code="CK-SUOITAN",
            area=area_tree["suoi_tan"],
        ),
    }


def publish(root, *, slug, area, kind="health_declaration", public=True, live=True) -> FormPage:
    form = FormPage(title="Khai báo y tế", slug=slug, kind=kind, area=area, is_public=public, fields=[])
    root.add_child(instance=form)
    revision = form.save_revision()
    if live:
        revision.publish()
    else:
        FormPage.objects.filter(pk=form.pk).update(live=False)
    return FormPage.objects.get(pk=form.pk)


@pytest.fixture
def declaration_form(wagtail_root, area_tree):
    return publish(wagtail_root, slug="khai-bao-y-te", area=area_tree["province"])


def url_for(place):
    return f"{FORM_URL}?qr={place.code}"


# --- Which form and which URL ----------------------------------------------------------


class TestDeclarationForm:
    def test_the_form_of_the_smallest_area_holding_the_place_wins(self, wagtail_root, area_tree, places):
        publish(wagtail_root, slug="tinh", area=area_tree["province"])
        nha_trang = publish(wagtail_root, slug="nha-trang", area=area_tree["nha_trang"])
        cam_lam = publish(wagtail_root, slug="cam-lam", area=area_tree["cam_lam"])
        assert qr.declaration_form_for(places["vinh_luong"]) == nha_trang
        assert qr.declaration_form_for(places["suoi_tan"]) == cam_lam

    def test_falls_back_to_any_public_declaration_form(self, wagtail_root, area_tree, places):
        cam_lam = publish(wagtail_root, slug="cam-lam", area=area_tree["cam_lam"])
        assert qr.declaration_form_for(places["vinh_luong"]) == cam_lam

    def test_drafts_staff_forms_and_other_kinds_do_not_count(self, wagtail_root, area_tree, places):
        province = area_tree["province"]
        publish(wagtail_root, slug="nhap", area=province, live=False)
        publish(wagtail_root, slug="noi-bo", area=province, public=False)
        publish(wagtail_root, slug="chot", area=province, kind="checkpoint")
        assert qr.declaration_form_for(places["vinh_luong"]) is None


class TestDeclarationUrl:
    def test_without_a_site_for_the_form_the_admin_base_url_gives_the_host(self, declaration_form, places):
        place = places["vinh_luong"]
        assert qr.declaration_url(place, form=declaration_form) == "http://testserver/khai-bao-y-te/?qr=TC-VL"
        assert (
            qr.declaration_url(place, form=declaration_form, base_url="https://khaibao.example.vn/")
            == "https://khaibao.example.vn/khai-bao-y-te/?qr=TC-VL"
        )

    def test_the_site_serving_the_form_gives_the_host(self, wagtail_root, declaration_form, places):
        Site.objects.create(hostname="khaibao.khanhhoa.gov.vn", port=443, root_page=wagtail_root)
        assert (
            qr.declaration_url(places["vinh_luong"], form=declaration_form)
            == "https://khaibao.khanhhoa.gov.vn/khai-bao-y-te/?qr=TC-VL"
        )

    def test_a_localhost_site_gives_way_to_the_admin_base_url(self, wagtail_root, declaration_form, places):
        Site.objects.update_or_create(hostname="localhost", port=80, defaults={"root_page": wagtail_root})
        place = places["vinh_luong"]
        assert qr.declaration_url(place, form=declaration_form) == "http://testserver/khai-bao-y-te/?qr=TC-VL"


# --- The poster files ------------------------------------------------------------------


class TestPosterFiles:
    def test_png_is_an_a4_page_whose_qr_decodes_to_the_url(self, places, decode):
        place = places["vinh_luong"]
        image = Image.open(io.BytesIO(qr.poster_png(place, url_for(place))))
        assert image.format == "PNG"
        assert image.width / image.height == pytest.approx(210 / 297, rel=0.01)
        assert decode(image) == [url_for(place)]

    def test_pdf_is_one_a4_page_whose_qr_decodes_to_the_url(self, places, decode, tmp_path):
        require(bool(shutil.which("pdftoppm")), "needs pdftoppm (apt-get install poppler-utils)")
        place = places["vinh_luong"]
        pdf = tmp_path / "poster.pdf"
        pdf.write_bytes(qr.poster_pdf(place, url_for(place)))
        subprocess.run(["pdftoppm", "-r", "100", "-png", pdf, tmp_path / "page"], check=True, timeout=60)
        pages = sorted(tmp_path.glob("page*.png"))
        assert len(pages) == 1
        image = Image.open(pages[0])
        assert image.size == pytest.approx((827, 1169), abs=2)  # A4 at 100 dpi
        assert decode(image) == [url_for(place)]

    def test_svg_qr_decodes_to_the_url_once_rendered(self, places, decode):
        try:
            import cairosvg
        except (ImportError, OSError):  # OSError: the package is there but not libcairo2
            cairosvg = None
        require(cairosvg is not None, "needs cairosvg (pip install cairosvg) and libcairo2")
        place = places["vinh_luong"]
        png = cairosvg.svg2png(bytestring=qr.poster_svg(place, url_for(place)).encode(), output_width=1240)
        assert decode(Image.open(io.BytesIO(png))) == [url_for(place)]

    def test_svg_embeds_segnos_qr_and_escaped_vietnamese_texts(self, places):
        place = places["vinh_luong"]
        svg = qr.poster_svg(place, url_for(place))
        assert 'class="qrline"' in svg  # segno's path of dark modules
        assert 'font-family="Noto Sans, sans-serif"' in svg
        assert "Điểm tiêm Vĩnh Lương &lt;cơ sở 2&gt; &amp; chợ" in svg
        assert "Thôn Tây Bắc 1, xã Vĩnh Lương, thành phố Nha Trang" in svg
        assert "TC-VL" in svg
        assert url_for(place) in svg

    def test_poster_is_vietnamese_whatever_the_admin_language(self, places):
        place = places["suoi_tan"]
        with translation.override("en"):
            svg = qr.poster_svg(place, url_for(place))
        assert 'xml:lang="vi"' in svg
        for text in ("KHAI BÁO Y TẾ", "Quét mã QR để khai báo y tế", "Mã: CK-SUOITAN", "Chốt Suối Tân"):
            assert f">{text}</text>" in svg

    def test_without_any_vietnamese_font_the_qr_still_decodes(self, places, decode, monkeypatch):
        monkeypatch.setattr(qr, "font_path", lambda bold: None)
        place = places["vinh_luong"]
        image = Image.open(io.BytesIO(qr.poster_png(place, url_for(place))))
        assert decode(image) == [url_for(place)]

    def test_a_very_long_name_is_cut_short_and_stays_on_the_page(self, places):
        place = places["suoi_tan"]
        place.name = "Chốt kiểm soát dịch bệnh liên ngành " * 8
        place.address = "Quốc lộ 1A, " * 40
        lines = qr.poster_layout(place, url_for(place)).lines
        assert sum(line.text.endswith("…") for line in lines) == 2  # the name's and the address's
        assert all(line.y < 297 - 10 for line in lines)


# --- The admin -------------------------------------------------------------------------


def poster_url(place, fmt):
    return reverse("place_poster", args=[place.pk, fmt])


@pytest.fixture
def province_admin(client, area_tree, make_user):
    user = make_user("quantri", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN)
    client.force_login(user)
    return user


class TestPosterDownload:
    @pytest.mark.parametrize(
        ("fmt", "content_type"),
        [("pdf", "application/pdf"), ("png", "image/png"), ("svg", "image/svg+xml")],
    )
    def test_each_format_downloads_as_an_attachment(
        self, client, province_admin, declaration_form, places, fmt, content_type
    ):
        response = client.get(poster_url(places["vinh_luong"], fmt))
        assert response.status_code == 200
        assert response["Content-Type"].startswith(content_type)
        assert response["Content-Disposition"] == f'attachment; filename="qr-TC-VL.{fmt}"'

    def test_the_downloaded_poster_opens_the_places_declaration(
        self, client, province_admin, declaration_form, places, decode
    ):
        response = client.get(poster_url(places["vinh_luong"], "png"))
        assert decode(Image.open(io.BytesIO(response.content))) == [
            "http://testserver/khai-bao-y-te/?qr=TC-VL"
        ]

    def test_a_place_of_another_district_answers_404(
        self, client, area_tree, make_user, declaration_form, places
    ):
        user = make_user("cntt.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM)
        client.force_login(user)
        assert client.get(poster_url(places["vinh_luong"], "png")).status_code == 404
        assert client.get(poster_url(places["suoi_tan"], "png")).status_code == 200

    def test_without_a_declaration_form_the_admin_is_told_why(self, client, province_admin, places):
        place = places["vinh_luong"]
        response = client.get(poster_url(place, "pdf"), follow=True)
        assert response.redirect_chain == [(reverse("places:inspect", args=[place.pk]), 302)]
        assert "Content-Disposition" not in response
        with translation.override("vi"):
            message = str(NO_DECLARATION_FORM)
        assert escape(message) in response.content.decode()

    def test_users_who_may_not_view_places_get_no_poster(
        self, client, area_tree, make_user, declaration_form, places
    ):
        user = make_user("truyenthong", area=area_tree["province"], role=GroupRole.ROLE_COMMUNICATIONS)
        client.force_login(user)
        response = client.get(poster_url(places["vinh_luong"], "png"))
        assert response.status_code == 302
        assert response["Location"] == reverse("wagtailadmin_home")

    def test_an_unknown_format_answers_404(self, client, province_admin, declaration_form, places):
        assert client.get(poster_url(places["vinh_luong"], "gif")).status_code == 404


class TestPosterLinks:
    def test_the_place_page_links_each_poster(self, client, province_admin, places):
        place = places["vinh_luong"]
        html = client.get(reverse("places:inspect", args=[place.pk])).content.decode()
        for fmt in ("pdf", "png", "svg"):
            assert poster_url(place, fmt) in html

    def test_the_places_listing_links_each_poster(self, client, province_admin, places):
        html = client.get(reverse("places:index")).content.decode()
        for place in places.values():
            assert poster_url(place, "pdf") in html
