"""No phone number or citizen ID reaches the application logs: every handler configured in
settings.LOGGING masks them (audit/logging.py). pytest's caplog reads records before any
handler's filter, so these tests write through the configured handler itself."""

import io
import logging

import pytest
from django.conf import settings

from audit.logging import MASK, PersonalDataFilter, mask

PHONES = ["0905111222", "+84905111222", "84905111222", "+84 905 111 222", "0905.111.222", "02583812345"]
IDS = ["056188001234", "225123456"]  # CCCD (12 digits), CMND (9 digits)


@pytest.fixture
def configured_output():
    """The root logger's handlers from settings.LOGGING, writing into a buffer for the test."""
    handlers = [
        h for h in logging.getLogger().handlers if any(isinstance(f, PersonalDataFilter) for f in h.filters)
    ]
    assert handlers, "no configured handler carries the masking filter"
    buffer = io.StringIO()
    streams = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, streams, strict=True):
        handler.setStream(stream)


def test_every_configured_handler_has_the_filter():
    for name, handler in settings.LOGGING["handlers"].items():
        assert "mask_personal" in handler.get("filters", []), name


def test_phones_and_ids_in_the_message_and_its_arguments_are_masked(configured_output):
    logger = logging.getLogger("tracing.test")

    logger.warning("person called from %s, CCCD %s", PHONES[1], IDS[0])
    logger.warning(f"phone {PHONES[0]} and old ID {IDS[1]} in the message itself")
    logger.warning("a dict: %(phone)s", {"phone": PHONES[3]})
    logger.warning("numbers as numbers: %d", 905111222)

    output = configured_output.getvalue()
    for secret in [*PHONES[:2], PHONES[3], *IDS, "905111222"]:
        assert secret not in output
    assert output.count(MASK) == 6
    assert "person called from" in output and "tracing.test" in output


def test_an_exceptions_text_is_masked(configured_output):
    try:
        raise ValueError(f"duplicate key value violates unique constraint DETAIL: (national_id)=({IDS[0]})")
    except ValueError:
        logging.getLogger("forms_engine.test").exception("import row failed")

    output = configured_output.getvalue()
    assert "Traceback" in output and "duplicate key" in output
    assert IDS[0] not in output


@pytest.mark.parametrize("text", PHONES + IDS)
def test_each_form_of_number_is_masked(text):
    assert mask(f"x {text} y") == f"x {MASK} y"


@pytest.mark.parametrize(
    "text",
    [
        "person 4101 merged into person 4102 (merge 17, user 3)",
        "retention: 120 declarations, 4 revisions, 0 uploads, 12 persons anonymised",
        "2026-11-26 15:08:42,123 took 0.25 s",
        "job 1234567890",  # ten digits not starting with 0: an id, not a phone
    ],
)
def test_ordinary_numbers_are_left_alone(text):
    assert mask(text) == text
