"""Levels (F0, F1, F2…, suspected, cleared, recovered, deceased), their history, the contact
graph from tracing interviews, and a new case's expansion to its contacts.

STUB — interfaces agreed for parallel work; the tracing issue fills them in.
"""

CASE_CONFIRMED = "case.confirmed"


def levels_raise(levels: dict[int, str], *, case_id=None, submission=None, user=None, job="", note="") -> dict[int, str]:
    """Raise persons (id → level) whose current level is lower; never lower one. One history
    row (Classification) per change. Returns {person id: new level} for those changed."""
    return None  # stub


def level_set(person, level: str, *, user, note: str = ""):
    """An explicit change by staff (clearance, recovered, deceased): may lower a level."""
    return None  # stub


def case_confirm(person, *, submission=None, user=None, job: str = "") -> bool:
    """Make ``person`` F0; if that is new, record a CASE_CONFIRMED event in this transaction."""
    return None  # stub


def case_expand(case_id: int, *, depth: int | None = None, job: str = "") -> dict[str, list[int]]:
    """Classify the case's contacts to ``depth`` (TracingSettings.expansion_depth): distance d
    becomes F<d> where that raises the level. Set-based. Returns {"F1": [ids newly F1], ...}."""
    return None  # stub


def case_expand_event(event) -> dict:
    return None  # stub


def interviews_record(items) -> None:
    """Accepted tracing interviews (handlers.Accepted): contacts resolved to persons, edges
    recorded; if the case is F-something its new contacts are classified in turn."""
    return None  # stub


def chain(case_id: int, *, depth: int | None = None) -> dict:
    """{"nodes": [...], "edges": [...]} of the case's contact graph to ``depth``."""
    return None  # stub
