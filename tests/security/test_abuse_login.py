"""Password guessing: django-axes locks a username from one IP after AXES_FAILURE_LIMIT failures."""

import io
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from places.models import GroupRole

pytestmark = pytest.mark.django_db

PASSWORD = "Mat-khau-2021"


@pytest.fixture
def province_admin(area_tree, make_user):
    return make_user(
        "quantri.tinh", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN, password=PASSWORD
    )


def wagtail_login(client, password, username="quantri.tinh"):
    return client.post("/admin/login/", {"username": username, "password": password})


def guess(client, times, login=wagtail_login):
    return [login(client, f"sai-{n}").status_code for n in range(times)]


def test_five_failures_lock_the_username_from_that_ip(province_admin, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    # The form again with its error, four times; the fifth failure locks.
    assert guess(attacker, 5) == [200, 200, 200, 200, 429]

    locked = wagtail_login(attacker, PASSWORD)  # even the right password now
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60
    with translation.override("vi"):
        assert "15" in locked.content.decode()
    assert "_auth_user_id" not in attacker.session

    # The real admin, from the office, is not locked out by someone else's guessing.
    office = Client(REMOTE_ADDR="198.51.100.7")
    assert wagtail_login(office, PASSWORD).status_code == 302


def test_the_lock_lifts_after_the_cool_off(province_admin):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    guess(attacker, 5)
    assert wagtail_login(attacker, PASSWORD).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert wagtail_login(attacker, PASSWORD).status_code == 302


def test_a_success_resets_the_count(province_admin):
    client = Client(REMOTE_ADDR="198.51.100.7")
    guess(client, 4)
    assert wagtail_login(client, PASSWORD).status_code == 302
    client.logout()
    assert guess(client, 4) == [200] * 4
    assert wagtail_login(client, PASSWORD).status_code == 302


def test_django_admin_login_is_guarded_too(area_tree, make_user):
    make_user("admin", area=area_tree["province"], superuser=True, password=PASSWORD)

    def django_admin_login(client, password):
        return client.post("/django-admin/login/", {"username": "admin", "password": password})

    attacker = Client(REMOTE_ADDR="203.0.113.10")
    guess(attacker, 5, login=django_admin_login)
    assert django_admin_login(attacker, PASSWORD).status_code == 429


def test_the_reset_command_clears_a_lockout(province_admin):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    guess(attacker, 5)
    call_command("two_factor_reset", "quantri.tinh", stdout=io.StringIO())
    assert wagtail_login(attacker, PASSWORD).status_code == 302


def test_settings_as_documented(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "website.security.LoginAttemptsBackend"
