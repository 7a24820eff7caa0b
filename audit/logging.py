"""A logging filter that keeps phone numbers and citizen IDs out of the application logs.

Put on every handler in settings.LOGGING (``"filters": ["mask_personal"]``): whatever a log
call passes — in the message, in its arguments, in an exception's text (a database error's
DETAIL line repeats the values) — goes out with Vietnamese phone numbers (0xxxxxxxxx,
+84…, 84…, with or without spaces, dots or dashes) and national IDs (12-digit CCCD, 9-digit
CMND) replaced by ``MASK``.
"""

import logging
import re

MASK = "[redacted]"
# A leading 0, +84 or 84, then 9 to 11 digits in all, maybe grouped by a space, dot or dash.
PHONE = re.compile(r"(?<![\d.])(?:\+84[\s.-]?|84|0)\d(?:[\s.-]?\d){7,9}(?!\d)")
# Any other run of exactly 12 (CCCD) or 9 (CMND) digits.
NATIONAL_ID = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")
_EXCEPTION_FORMATTER = logging.Formatter()


def mask(text: str) -> str:
    return NATIONAL_ID.sub(MASK, PHONE.sub(MASK, text))


class PersonalDataFilter(logging.Filter):
    """Masks in place and lets the record through (a filter that never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            # The message with its arguments merged, masked: arguments of any type are covered.
            record.msg = mask(record.getMessage())
            record.args = ()
            if record.exc_info and not record.exc_text:
                record.exc_text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = mask(record.exc_text)
            if record.stack_info:
                record.stack_info = mask(record.stack_info)
        except Exception:  # a record that cannot be formatted goes out as logging would send it
            return True
        return True
