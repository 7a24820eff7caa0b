"""QR check-ins, co-location exposure around a new case, and workplace clusters.

STUB — interfaces agreed for parallel work; the tracing issue fills them in.
"""


def checkins_record(items) -> None:
    """A CheckIn for each accepted submission (handlers.Accepted) with a person and a place."""
    return None  # stub


def colocation_expose(case_id: int, *, job: str = "") -> list[int]:
    """Persons checked in at the case's places within the window: suspected, notified."""
    return None  # stub


def colocation_expose_event(event) -> dict:
    return None  # stub


def workplaces_record(items) -> None:
    """Cases of accepted interviews joined to their industrial park / workshop cluster."""
    return None  # stub
