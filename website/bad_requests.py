"""Requests no view can serve, refused with 400 before any of them runs.

PostgreSQL's text and JSON columns cannot hold the NUL character: a path or query parameter
carrying one (``?parent=%00``, ``/api/v1/forms/a%00b``) made every lookup it reached fail
with a database error, a 500 (schemathesis found them: tests/security/test_roles_schemathesis.py).
No form field, code or name ever holds one, so such a request is the client's mistake.
JSON bodies are checked where they are read (forms_engine.intake.parse_body).
"""

from urllib.parse import unquote_to_bytes

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext_lazy as _

NUL_REFUSED = _("The request holds a NUL character, which no field may contain.")


def holds_nul(request) -> bool:
    """Whether the path or the query string, once %-decoded, has a NUL byte."""
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or b"\x00" in unquote_to_bytes(query.replace("+", " "))


class RefuseNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not holds_nul(request):
            return self.get_response(request)
        message = str(NUL_REFUSED)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=400, json_dumps_params={"ensure_ascii": False})
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
