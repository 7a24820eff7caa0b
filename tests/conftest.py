"""Fixtures shared by the whole suite.

Tests run on the services in DATABASE_URL / REDIS_URL. A test that needs one that is not
configured is skipped with the reason printed in the summary; with
TEST_REQUIRE_SERVICES=1 (set by .ci/run) it fails instead, so CI never skips it.
"""

import os

import pytest
from django.contrib.auth import get_user_model

from places.models import Area, UserArea
from places.roles import roles_ensure

REQUIRE_SERVICES = os.environ.get("TEST_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip (or, in CI, fail) the calling test unless ``condition`` holds."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"required by CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _forget_cached_forms():
    """Each test has its own database: no form cached by an earlier test may leak in."""
    from forms_engine.selectors import live_form_forget

    live_form_forget()
    yield
    live_form_forget()


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL")
    require(bool(url), "needs Redis: set REDIS_URL")
    return url


@pytest.fixture
def postgres(settings):
    require(
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "needs PostgreSQL: set DATABASE_URL",
    )


def wagtail_baseline_ensure():
    """Wagtail's default locale, root page and root collection, as its migrations make them;
    returns the root page."""
    from django.conf import settings
    from wagtail.models import Collection, Locale, Page

    locale, _ = Locale.objects.get_or_create(language_code=settings.LANGUAGE_CODE)
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    root = Page.get_first_root_node()
    if root is None:
        root = Page.add_root(title="Root", slug="root", locale=locale)
    return root


@pytest.fixture
def wagtail_root(db):
    """Wagtail's root page (and locale and root collection)."""
    return wagtail_baseline_ensure()


@pytest.fixture(autouse=True)
def _wagtail_baseline(request):
    """A transactional test's flush empties every table, Wagtail's locale, root page and root
    collection too. Run alone, pytest-django runs those tests last; two workers (pytest-xdist)
    take whole files, so a database test may follow one in the same process: each database
    test starts with them there."""
    if "_django_db_helper" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("_django_db_helper")
        wagtail_baseline_ensure()


@pytest.fixture
def area_tree(db):
    """A small province: two districts, communes under them, a village under one commune.

    Names carry the diacritics that accent-insensitive search must fold.
    """
    province = Area.add_root(code="56", name="Tỉnh Khánh Hòa", level_label="Tỉnh")
    cam_lam = province.add_child(code="570", name="Huyện Cam Lâm", level_label="Huyện")
    nha_trang = province.add_child(code="568", name="Thành phố Nha Trang", level_label="Thành phố")
    suoi_tan = cam_lam.add_child(code="22711", name="Xã Suối Tân", level_label="Xã")
    cam_duc = cam_lam.add_child(code="22453", name="Thị trấn Cam Đức", level_label="Thị trấn")
    vinh_luong = nha_trang.add_child(code="22384", name="Xã Vĩnh Lương", level_label="Xã")
    dong_cau = suoi_tan.add_child(code="22711-02", name="Thôn Đồng Cau", level_label="Thôn")
    return {
        "province": province,
        "cam_lam": Area.objects.get(pk=cam_lam.pk),
        "nha_trang": Area.objects.get(pk=nha_trang.pk),
        "suoi_tan": Area.objects.get(pk=suoi_tan.pk),
        "cam_duc": cam_duc,
        "vinh_luong": vinh_luong,
        "dong_cau": dong_cau,
    }


@pytest.fixture
def make_user(db):
    """Create a user with an area and optional role; ``make_user("x", area=a, role=...)``."""
    groups = roles_ensure()

    def make(username, *, area=None, role=None, superuser=False, password="pass-1234-word"):
        user = get_user_model().objects.create_user(
            username=username,
            password=password,
            email=f"{username}@example.invalid",
            first_name="Test",
            last_name=username,
            is_superuser=superuser,
        )
        if role:
            user.groups.add(groups[role])
        if area:
            UserArea.objects.create(user=user, area=area)
        return user

    return make
