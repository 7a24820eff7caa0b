"""Recording access to personal data: the one call every part makes (``access_record``).

A record says who (the user, and their username copied so it outlives the account), what
(action and kind of object, its id and area), when, from where (IP and browser) and how it
ended (shown, exported, refused). Bearer-token callers are known too: wagtail's
BearerTokenAuth, which forms_engine.api.caller runs, puts the token's user on request.user.
"""

from forms_engine.ratelimit import client_ip

from .models import USER_AGENT_MAX_LENGTH, AccessRecord

ACTION_VIEW, ACTION_EXPORT, ACTION_PRINT, ACTION_REFUSE = "view", "export", "print", "refuse"
OUTCOME_SHOWN, OUTCOME_EXPORTED, OUTCOME_REFUSED = (
    AccessRecord.Outcome.SHOWN.value,
    AccessRecord.Outcome.EXPORTED.value,
    AccessRecord.Outcome.REFUSED.value,
)


def request_user(request, user=None):
    """The authenticated user behind the request (a session's or a bearer token's), or None."""
    user = user if user is not None else getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def access_record(
    *,
    request,
    action: str,
    kind: str,
    object_id=None,
    area=None,
    outcome: str = OUTCOME_SHOWN,
    detail: str = "",
    user=None,
) -> AccessRecord:
    """Record that the request's user did ``action`` on ``kind`` ``object_id`` (in ``area``).

    ``area`` is an Area or its id; ``user`` is only needed when the caller knows the user
    some other way than request.user.
    """
    user = request_user(request, user)
    return AccessRecord.objects.create(
        user=user,
        username=user.get_username() if user is not None else "",
        action=action[:20],
        kind=kind[:60],
        object_id="" if object_id is None else str(object_id)[:255],
        area_id=getattr(area, "pk", area),
        outcome=outcome,
        ip=client_ip(request)[:64],
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
        path=request.path[:500],
        detail=detail,
    )


def export_detail(*, rows: int, fmt: str = "", query: str = "", **extra) -> str:
    """The detail of an export record: how many rows, which format, which filters."""
    parts = [f"rows={rows}"]
    if fmt:
        parts.append(f"format={fmt}")
    parts += [f"{name}={value}" for name, value in extra.items()]
    if query:
        parts.append(f"query={query[:500]}")
    return "; ".join(parts)
