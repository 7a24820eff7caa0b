"""Rule conditions: the show_if language of form fields, applied to a whole submission.

A condition is stored as a version's schema stores a field's ``show_if``:
``{"all": [{"field": "result", "op": "eq", "value": "negative"}, ...]}`` (or ``"any"``).
One condition is evaluated by ``forms_engine.validation.compare``, exactly as the server
validator and the phone page evaluate it; a field key may be dotted to reach a person's
sub-field (``patient.national_id``) or a repeat's item (``contacts.0.phone``).
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from forms_engine.blocks import OPERATOR_CHOICES
from forms_engine.validation import compare, is_empty

MODES = ("all", "any")
OPERATORS = tuple(op for op, _label in OPERATOR_CHOICES)
# A field key (forms_engine.blocks.FieldBlock) and, after dots, sub-field keys or item indexes.
FIELD_PATH = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")

MALFORMED = _('Write the condition as {"all": [...]} or {"any": [...]}, for example %(example)s.')
EMPTY = _("Add at least one condition.")
NOT_AN_OBJECT = _('Condition %(n)d: write it as {"field": ..., "op": ..., "value": ...}.')
BAD_FIELD = _("Condition %(n)d: enter a field key, such as result or patient.national_id.")
UNKNOWN_OP = _('Condition %(n)d: unknown operator "%(op)s"; use one of %(ops)s.')
NEEDS_LIST = _('Condition %(n)d: "is one of" needs one or more values.')
NEEDS_VALUE = _("Condition %(n)d: enter the value to compare with.")
EXAMPLE = '{"all": [{"field": "result", "op": "eq", "value": "negative"}]}'


def condition_errors(condition) -> list[str]:
    """What is wrong with a stored condition, as messages for the person who wrote it."""
    if not condition:
        return [str(EMPTY)]
    if not isinstance(condition, dict) or len(condition) != 1 or next(iter(condition)) not in MODES:
        return [str(MALFORMED % {"example": EXAMPLE})]
    (conditions,) = condition.values()
    if not isinstance(conditions, list):
        return [str(MALFORMED % {"example": EXAMPLE})]
    if not conditions:
        return [str(EMPTY)]
    return [error for n, item in enumerate(conditions, start=1) if (error := item_error(n, item))]


def item_error(n: int, item) -> str | None:
    if not isinstance(item, dict):
        return str(NOT_AN_OBJECT % {"n": n})
    if not isinstance(item.get("field"), str) or not FIELD_PATH.match(item["field"]):
        return str(BAD_FIELD % {"n": n})
    op, value = item.get("op"), item.get("value")
    if op not in OPERATORS:
        return str(UNKNOWN_OP % {"n": n, "op": op, "ops": ", ".join(OPERATORS)})
    if op == "in" and (not isinstance(value, list) or not value):
        return str(NEEDS_LIST % {"n": n})
    if op in ("eq", "ne", "gt", "lt") and (is_empty(value) or isinstance(value, dict | list)):
        return str(NEEDS_VALUE % {"n": n})
    return None


def condition_validate(condition) -> None:
    """Model field validator: a rule that cannot be evaluated is refused when saved."""
    errors = condition_errors(condition)
    if errors:
        raise ValidationError(errors)


def value_at(data, path: str):
    """The value at a dotted field path in submitted data; None when it is absent."""
    value = data
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def condition_holds(condition: dict, data) -> bool:
    """Whether ``data`` (a submission's cleaned data) meets a valid ``condition``."""
    ((mode, conditions),) = condition.items()
    outcomes = (compare(value_at(data, c["field"]), c["op"], c.get("value")) for c in conditions)
    return all(outcomes) if mode == "all" else any(outcomes)
