"""Security headers on every page: the Content-Security-Policy, Permissions-Policy, COOP and the rest."""

import re
from pathlib import Path

import pytest
from django.test import Client

from website.settings.environment import tile_origins

pytestmark = pytest.mark.django_db

APPS = ("website", "places", "forms_engine", "workflows", "tracing", "reports", "realtime", "audit")


@pytest.fixture
def home(wagtail_root):
    from website.demo.load import demo_home_page_ensure

    return demo_home_page_ensure()


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_public_page_headers(home):
    response = Client().get(home.url)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert "geolocation=(self)" in response["Permissions-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_our_inline_scripts_carry_the_requests_nonce():
    """The policy blocks any inline script without the nonce: our templates may have none other."""
    root = Path(__file__).resolve().parents[2]
    templates = [p for app in APPS for p in (root / app).glob("templates/**/*.html")]
    assert templates
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>")
    offenders = [
        f"{path.relative_to(root)}: {tag}"
        for path in templates
        for tag in inline.findall(path.read_text())
        if "csp_nonce" not in tag
    ]
    assert offenders == []


def test_api_answers_carry_the_headers_too(db):
    response = Client().get("/api/v1/forms")
    assert "Content-Security-Policy" in response
    assert "Permissions-Policy" in response


def test_tile_servers_are_allowed_images():
    assert tile_origins("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == [
        "https://tile.openstreetmap.org"
    ]
    assert tile_origins("https://{s}.tiles.example.vn/{z}/{x}/{y}.png") == ["https://*.tiles.example.vn"]
    assert tile_origins("/static/no-tiles/{z}/{x}/{y}.png") == []
