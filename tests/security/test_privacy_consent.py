"""Public forms tell the citizen what is collected, why, for how long and who sees it."""

import pytest
from django.utils import translation
from django.utils.html import escape

from forms_engine.models import CONSENT_DECLARATION
from tests.forms_engine.conftest import checkpoint_form, home, officer, public_form  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def consent_of(client, form) -> str:
    html = client.get(form.url).content.decode()
    start = html.find('<aside class="fe-consent"')
    return html[start : html.find("</aside>", start)] if start >= 0 else ""


def test_a_health_declaration_shows_the_standard_text_with_the_retention(client, public_form, settings):  # noqa: F811
    settings.HEALTH_DECLARATION_RETENTION_DAYS = 21
    consent = consent_of(client, public_form)
    with translation.override("vi"):  # the product's language, whatever the browser says
        expected = str(CONSENT_DECLARATION % {"days": 21})
    assert escape(expected) in consent


def test_a_form_may_have_its_own_text_shown_as_text(client, public_form):  # noqa: F811
    public_form.consent_text = "Dữ liệu lưu 14 ngày.\n<script>alert(1)</script>"
    public_form.save_revision().publish()
    consent = consent_of(client, public_form)
    assert "Dữ liệu lưu 14 ngày.<br>" in consent
    assert "<script>" not in consent and "&lt;script&gt;" in consent


def test_staff_forms_have_none(client, checkpoint_form, officer):  # noqa: F811
    client.force_login(officer)
    assert consent_of(client, checkpoint_form) == ""


def test_the_api_contract_is_unchanged(client, public_form):  # noqa: F811
    document = client.get("/api/v1/forms/khai-bao-y-te").json()
    assert not any("consent_text" in key for key in document)
