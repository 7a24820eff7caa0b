"""Two-step sign-in (TOTP) for admin roles: the admin is unreachable until a code is typed."""

import io
import time

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from places.models import GroupRole
from website.two_factor import WRONG_CODE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _two_factor_on(settings):
    settings.ADMIN_2FA_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # a wrong code, then the right one, within a second


@pytest.fixture
def approver(area_tree, make_user):
    return make_user("pheduyet.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """What the phone's app shows now (or a step later: a code is good once)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def enrol(client) -> TOTPDevice:
    client.get("/admin/two-factor/setup/")
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post("/admin/two-factor/setup/", {"code": code_for(device), "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    return TOTPDevice.objects.get(pk=device.pk)


def test_an_admin_role_must_enrol_before_any_admin_page(approver):
    client = logged_in(approver)
    for path in ("/admin/", "/admin/pages/", "/admin/documents/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/two-factor/setup/?next=")

    page = client.get("/admin/two-factor/setup/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'id="two-factor-secret"' in html
    # The QR stays the same between the page and its POST (the device waits, unconfirmed).
    assert client.get("/admin/two-factor/setup/").content.decode().count("<svg") == html.count("<svg")
    assert TOTPDevice.objects.filter(user=approver, confirmed=False).count() == 1


def test_a_wrong_code_is_refused_and_the_right_one_opens_the_admin(approver):
    client = logged_in(approver)
    client.get("/admin/two-factor/setup/")
    wrong = client.post("/admin/two-factor/setup/", {"code": "000000"})
    assert wrong.status_code == 200
    assert str(WRONG_CODE) in wrong.content.decode()
    assert client.get("/admin/")["Location"].startswith("/admin/two-factor/")

    device = enrol(client)
    assert device.confirmed
    assert client.get("/admin/").status_code == 200


def test_every_new_session_verifies_again(approver):
    device = enrol(logged_in(approver))

    client = logged_in(approver)
    response = client.get("/admin/pages/")
    assert response["Location"] == "/admin/two-factor/verify/?next=%2Fadmin%2Fpages%2F"
    wrong = client.post("/admin/two-factor/verify/", {"code": "123456", "next": "/admin/pages/"})
    assert wrong.status_code == 200
    assert str(WRONG_CODE) in wrong.content.decode()

    right = client.post(
        "/admin/two-factor/verify/", {"code": code_for(device, steps_ahead=1), "next": "/admin/"}
    )
    assert right.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_next_never_leaves_the_site(approver):
    client = logged_in(approver)
    client.get("/admin/two-factor/setup/")
    device = TOTPDevice.objects.get()
    response = client.post(
        "/admin/two-factor/setup/", {"code": code_for(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/admin/"


def test_pages_outside_the_admin_wait_for_the_code_too(approver):
    """The live map, the data-entry screen and the API with a session show personal data too."""
    client = logged_in(approver)
    assert client.get("/entry/")["Location"].startswith("/admin/two-factor/setup/?next=%2Fentry%2F")
    api = client.get("/api/v1/submissions")
    assert api.status_code == 401
    assert "detail" in api.json()
    assert client.get("/static/website/admin/csp-init.js").status_code in (200, 404)  # never redirected


def test_superusers_django_admin_is_guarded_too(area_tree, make_user):
    client = logged_in(make_user("admin", area=area_tree["province"], superuser=True))
    assert client.get("/django-admin/")["Location"].startswith("/admin/two-factor/setup/")


def test_staff_without_the_admin_are_not_asked(area_tree, make_user):
    field_staff = make_user("thucdia", area=area_tree["vinh_luong"], role=GroupRole.ROLE_FIELD_STAFF)
    client = logged_in(field_staff)
    response = client.get("/entry/")
    assert not response.get("Location", "").startswith("/admin/two-factor/")
    assert (
        not client.get("/admin/two-factor/verify/").get("Location", "").startswith("/admin/two-factor/verify")
    )


def test_off_when_not_required(approver, settings):
    settings.ADMIN_2FA_REQUIRED = False
    assert logged_in(approver).get("/admin/").status_code == 200


def test_a_lost_phone_is_reset_by_command(approver):
    enrol(logged_in(approver))
    out = io.StringIO()
    call_command("two_factor_reset", "pheduyet.camlam", stdout=out)
    assert "1" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=approver).exists()
    assert logged_in(approver).get("/admin/")["Location"].startswith("/admin/two-factor/setup/")


def socket_opens(client) -> tuple[bool, object]:
    """Open /ws/live/ with the client's session; (accepted, close code or hello)."""
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator
    from django.conf import settings

    from website.asgi import application

    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [(b"origin", b"http://testserver"), (b"cookie", cookie.encode())]

    async def attempt():
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        accepted, code = await communicator.connect(timeout=5)
        answer = await communicator.receive_json_from(timeout=5) if accepted else code
        await communicator.disconnect()
        return accepted, answer

    return async_to_sync(attempt)()


@pytest.mark.django_db(transaction=True)
def test_an_admin_roles_live_socket_waits_for_the_code_too(area_tree, make_user):
    from website.two_factor import CLOSE_SECOND_FACTOR_NEEDED

    approver = make_user("pheduyet.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)
    client = logged_in(approver)
    assert socket_opens(client) == (False, CLOSE_SECOND_FACTOR_NEEDED)
    enrol(client)
    accepted, hello = socket_opens(client)
    assert accepted and hello["type"] == "hello"
    field_staff = make_user("thucdia", area=area_tree["cam_lam"], role=GroupRole.ROLE_FIELD_STAFF)
    assert socket_opens(logged_in(field_staff))[0]  # no admin access: no code asked, as on pages
