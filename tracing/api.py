"""/api/v1/ endpoints of tracing: a case's chain of contacts, scoped to the caller's area.

Authentication is the forms API's (bearer token, or session plus CSRF for writes). A case
outside the caller's area, or asked for by a caller without the right to view persons, answers
404, never 403: its existence is not disclosed. The chain
may reach persons outside the area; they appear with their id and level only.
"""

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from audit.services import access_record
from forms_engine.api import caller

from .classify import chain
from .models import MAX_DEGREE
from .selectors import persons_visible_to

router = Router(tags=["tracing"])
VIEW_PERSONS = "tracing.view_person"


class AreaRef(Schema):
    code: str
    name: str


class ChainNode(Schema):
    id: int
    level: str
    distance: int
    name: str | None = None  # only for persons in the caller's area
    area: AreaRef | None = None


class ChainEdge(Schema):
    source: int  # the person who named the contact (or checked in first)
    target: int
    setting: str
    exposure_date: str | None = None
    found_by: str


class ChainOut(Schema):
    case: int
    nodes: list[ChainNode]
    edges: list[ChainEdge]
    truncated: bool


class ChainParams(Schema):
    depth: int | None = Field(None, ge=1, le=MAX_DEGREE, description="Steps from the case (1–5).")


class Detail(Schema):
    detail: str


@router.get(
    "/cases/{case_id}/chain",
    response={200: ChainOut, 401: Detail, 404: Detail},
    exclude_none=True,
    summary="A case's chain of contacts to a depth (nodes outside the caller's area: id and level only)",
)
def case_chain(request, case_id: int, params: Query[ChainParams]):
    """The persons linked to the case by contacts, both ways, up to ``depth`` steps (the
    province's expansion depth by default), and the edges walked. 422 for a depth outside
    1–5."""
    user, _token = caller(request)
    if not user.is_authenticated:
        return Status(401, {"detail": _("Log in or send a bearer token.")})
    # Without the right to see persons no case exists for this caller, whatever its area.
    may_see = user.has_perm(VIEW_PERSONS) and persons_visible_to(user).filter(pk=case_id).exists()
    if not may_see:
        return Status(404, {"detail": _("No such case.")})
    graph = chain(case_id, depth=params.depth)
    node_ids = [node["id"] for node in graph["nodes"]]
    visible = set(persons_visible_to(user).filter(pk__in=node_ids).values_list("pk", flat=True))
    graph["nodes"] = [node if node["id"] in visible else redacted(node) for node in graph["nodes"]]
    access_record(
        request=request,
        user=user,
        action="view",
        kind="chain",
        object_id=case_id,
        detail=f"nodes={len(graph['nodes'])}; depth={params.depth or ''}",
    )
    return graph


def redacted(node: dict) -> dict:
    """What may be shown of a person outside the caller's area: no name, no place."""
    return {"id": node["id"], "level": node["level"], "distance": node["distance"]}
