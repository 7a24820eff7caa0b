"""Refusals recorded without each view doing it: a logged-in user's request under /admin/,
/api/ or /documents/ that answers 404 or 403 is an access record with outcome "refused".

Out-of-scope objects answer 404 everywhere, so this is where probing other areas' data
shows up. It costs nothing on other answers (a status and a prefix compared), and it never
breaks the response: an error while recording is logged (without personal data) and dropped.
"""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async

from .services import ACTION_REFUSE, OUTCOME_REFUSED, access_record, request_user

logger = logging.getLogger(__name__)

AUDITED_PREFIXES = ("/admin/", "/api/", "/documents/")
REFUSED_STATUSES = frozenset({403, 404})
KIND_URL = "url"


def is_refusal(request, response) -> bool:
    """A refused answer under an audited prefix (no database: cheap on every request)."""
    return response.status_code in REFUSED_STATUSES and request.path.startswith(AUDITED_PREFIXES)


def record_refusal(request, response) -> None:
    """Record it if a user is logged in (reading request.user may query the session)."""
    try:
        if request_user(request) is None:
            return
        access_record(
            request=request,
            action=ACTION_REFUSE,
            kind=KIND_URL,
            object_id=request.path,
            outcome=OUTCOME_REFUSED,
            detail=f"status={response.status_code}; method={request.method}",
        )
    except Exception as error:  # the answer goes out whatever happens here
        logger.error("audit: could not record a refusal (%s)", type(error).__name__)


class RefusalAuditMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        response = self.get_response(request)
        if is_refusal(request, response):
            record_refusal(request, response)
        return response

    async def __acall__(self, request):
        response = await self.get_response(request)
        if is_refusal(request, response):
            await sync_to_async(record_refusal)(request, response)
        return response
