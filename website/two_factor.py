"""Two-factor authentication (TOTP, django-otp) for everyone who can open the admin.

A stolen or guessed password of an admin role (superuser, province admin, area IT team,
approver, leader, communications: whoever has ``wagtailadmin.access_admin``) opens the personal
data of a whole province. With ADMIN_2FA_REQUIRED, such a user must enrol an authenticator app
(a QR code to scan) and type its six-digit code once per session before any page answers them
(the admin, the live map and dashboard, the data-entry screen; the API with a session gets a
401). Field staff without admin access, bearer-token callers and the public never meet it.

A lost phone: ``manage.py two_factor_reset <username>`` (run by the system's operators at a
province admin's request) removes the user's devices; the next login enrols a new one.
"""

from base64 import b32encode
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

WRONG_CODE = _("That code is not right, or it has expired. Type the code your app shows now.")
DEVICE_NAME = "authenticator"
NOT_VERIFIED = _("Type the code of your two-step sign-in first (open the admin).")
# Reachable before the code is typed: logging in and out, enrolling and verifying, and what
# anyone may see without logging in (static files, the service worker, certificate checks).
# Everything else a logged-in admin role opens (the admin, the live map and dashboard, the
# data-entry screen, the API with a session) waits for the code.
OPEN_PATHS = (
    "/admin/login/",
    "/admin/logout/",
    "/admin/two-factor/",
    "/admin/jsi18n/",
    "/admin/password_reset/",
    "/static/",
    "/media/",
    "/sw.js",
    "/manifest.webmanifest",
    "/verify/",
)


def needs_second_factor(user) -> bool:
    """An admin role that has not typed a code in this session."""
    if not user.is_authenticated or user.is_verified():
        return False
    return is_admin_role(user)


def is_admin_role(user) -> bool:
    """Whoever can open the admin: the users the second factor is for."""
    return user.is_superuser or user.has_perm("wagtailadmin.access_admin")


class AdminTwoFactorMiddleware:
    """Sends an unverified admin role to enrol or verify before any admin page (after OTPMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.ADMIN_2FA_REQUIRED and guarded(request.path) and needs_second_factor(request.user):
            if request.path.startswith("/api/"):  # a script's call: no page to send it to
                return JsonResponse({"detail": str(NOT_VERIFIED)}, status=401)
            name = "two_factor_verify" if user_has_device(request.user) else "two_factor_setup"
            return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def guarded(path_: str) -> bool:
    return not path_.startswith(OPEN_PATHS)


CLOSE_SECOND_FACTOR_NEEDED = 4403  # the page then shows what it shows when its socket is refused


class WebSocketTwoFactorGuard:
    """The same rule for ``/ws/live/`` (inside Channels' AuthMiddlewareStack): an admin role's
    socket opens only in a session whose code was typed, since live events name areas and
    cases. Field staff, with no admin access, are not asked, as on the pages."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and settings.ADMIN_2FA_REQUIRED:
            from channels.db import database_sync_to_async

            if await database_sync_to_async(socket_needs_second_factor)(scope):
                await receive()  # the client's websocket.connect
                await send({"type": "websocket.close", "code": CLOSE_SECOND_FACTOR_NEEDED})
                return None
        return await self.inner(scope, receive, send)


def socket_needs_second_factor(scope) -> bool:
    """``needs_second_factor`` for a socket: the session says which device was verified
    (django_otp.login keeps its id there), as OTPMiddleware reads it for a request."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device

    user, session = scope.get("user"), scope.get("session")
    if user is None or not user.is_authenticated:
        return False  # the consumer refuses an anonymous socket itself
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    verified = device is not None and device.user_id == user.pk
    return not verified and is_admin_role(user)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Six-digit code"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    hosts = {request.get_host()}
    if url_has_allowed_host_and_scheme(target, allowed_hosts=hosts, require_https=request.is_secure()):
        return target
    return reverse("wagtailadmin_home")


def two_factor_setup(request):
    """Enrol: scan the QR code (or type the key), then prove it with one code."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if user_has_device(request.user):
        return redirect(f"{reverse('two_factor_verify')}?next={next_url(request)}")
    device = pending_device(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return redirect(next_url(request))
        form.add_error("code", WRONG_CODE)
    context = {
        "form": form,
        "next": next_url(request),
        "qr_svg": segno.make_qr(device.config_url, error="m").svg_inline(scale=5, omitsize=False),
        "secret": device_secret(device),
    }
    return render(request, "website/two_factor/setup.html", context)


def two_factor_verify(request):
    """Once per session: one code from any of the user's confirmed devices."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    devices = list(TOTPDevice.objects.devices_for_user(request.user, confirmed=True))
    if not devices:
        return redirect(f"{reverse('two_factor_setup')}?next={next_url(request)}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip()
        # Each device throttles its own failures (django-otp doubles the wait after each one).
        device = next((d for d in devices if d.verify_token(code)), None)
        if device is not None:
            otp_login(request, device)
            return redirect(next_url(request))
        form.add_error("code", WRONG_CODE)
    return render(request, "website/two_factor/verify.html", {"form": form, "next": next_url(request)})


def pending_device(user) -> TOTPDevice:
    """The user's unconfirmed device, kept between the page and its POST so the QR stays the same."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def device_secret(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for typing into an app by hand."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def devices_reset(user) -> int:
    """Remove every two-factor device of ``user`` (a lost phone); returns how many there were."""
    deleted, _detail = TOTPDevice.objects.filter(user=user).delete()
    return deleted


urlpatterns = [
    path("two-factor/setup/", two_factor_setup, name="two_factor_setup"),
    path("two-factor/verify/", two_factor_verify, name="two_factor_verify"),
]
