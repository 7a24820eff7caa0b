"""A phone scans a certificate's QR: the public verification page fits 360 px and shows the
initials and dates, nothing more (reports/certificates.py)."""

from datetime import date, datetime

from django.core.cache import cache
from django.utils import timezone

from places.folding import fold
from reports import certificates
from tracing.models import Person, QuarantineOrder

FULL_NAME = "Đặng Thị Hường"


def test_verification_page_on_a_phone(live_asgi_server, phone_page, area_tree):
    cache.clear()  # the page's per-IP limit counts from zero
    person = Person.objects.create(
        full_name=FULL_NAME, name_folded=fold(FULL_NAME), birth_year=1990, home_area=area_tree["dong_cau"]
    )
    order = QuarantineOrder.objects.create(
        person=person,
        kind="home",
        area=area_tree["dong_cau"],
        start_date=date(2021, 8, 1),
        planned_end=date(2021, 8, 14),
        status=QuarantineOrder.STATUS_COMPLETED,
        ended_at=timezone.make_aware(datetime(2021, 8, 14, 17, 0)),
    )
    token = certificates.certificate_token(certificates.quarantine_facts(order))

    phone_page.goto(certificates.verify_url(token, base_url=live_asgi_server))

    card = phone_page.locator(".card.valid")
    assert "Đ. T. H." in card.inner_text()
    assert "01/08/2021" in card.inner_text() and "14/08/2021" in card.inner_text()
    assert FULL_NAME not in phone_page.content()
    assert phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
