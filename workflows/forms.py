"""The rule step's condition editor in the Workflows admin.

An admin edits a rule with the rows a form designer already knows from a field's "show only
if" (field key, operator, value), not as JSON; the rows are stored in the schema's condition
format, so the same code checks and evaluates both.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.list_block import ListBlockValidationError
from wagtail.blocks.struct_block import StructBlockValidationError, StructValue

from forms_engine.blocks import ConditionBlock, show_if_schema

from .conditions import EMPTY, MODES, item_error


class RuleConditionBlock(blocks.StructBlock):
    mode = blocks.ChoiceBlock(
        choices=[("all", _("all conditions hold")), ("any", _("any condition holds"))],
        default="all",
        label=_("approve when"),
    )
    conditions = blocks.ListBlock(ConditionBlock(), label=_("conditions"))


def as_text(value) -> str:
    """A stored value as the editor shows it (show_if_schema types it back on saving)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(as_text(item) for item in value)
    return "" if value is None else str(value)


def block_value(block: RuleConditionBlock, condition) -> StructValue:
    """The editor's value for a stored condition; a new rule starts with one empty row."""
    mode, items = "all", [{}]
    if isinstance(condition, dict) and len(condition) == 1 and next(iter(condition)) in MODES:
        ((mode, items),) = condition.items()
    rows = [
        {"field": item.get("field") or "", "op": item.get("op") or "eq", "value": as_text(item.get("value"))}
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    ]
    return block.to_python({"mode": mode, "conditions": rows})


class ConditionFormField(blocks.BlockField):
    """Edits a stored condition as rows; cleans to the stored form."""

    def __init__(self, *, encoder=None, decoder=None, **kwargs):
        # JSONField.formfield passes its encoder and decoder; the rows need neither.
        super().__init__(block=RuleConditionBlock(), **kwargs)

    def prepare_value(self, value):
        return value if isinstance(value, StructValue) else block_value(self.block, value)

    def clean(self, value):
        condition = show_if_schema(super().clean(value))
        rows = next(iter(condition.values())) if condition else []
        if not rows:
            raise rows_error(non_block_errors=[EMPTY])
        errors = {
            i: ValidationError(error) for i, row in enumerate(rows) if (error := item_error(i + 1, row))
        }
        if errors:
            raise rows_error(block_errors=errors)
        return condition

    def has_changed(self, initial, data):
        return initial != show_if_schema(data)


def rows_error(**kwargs) -> StructBlockValidationError:
    """An error shown at the rows, or at the row concerned: Wagtail's block editor shows no
    message given for the whole field."""
    return StructBlockValidationError(block_errors={"conditions": ListBlockValidationError(**kwargs)})
