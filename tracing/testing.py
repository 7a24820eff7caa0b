"""Test requests for F1s and symptomatic people; results that close them and confirm cases.

STUB — interfaces agreed for parallel work; the tracing issue fills them in.
"""


def requests_open(person_ids: list[int], reason: str, *, job: str = "") -> list[int]:
    """An open TestRequest per person without one."""
    return None  # stub


def results_record(items) -> None:
    """Accepted test results close the person's open request; a positive one confirms a case."""
    return None  # stub


def symptomatic_request(items) -> None:
    """Declarations with symptoms ask for a test."""
    return None  # stub
