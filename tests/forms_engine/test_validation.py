"""Each field type valid and invalid, conditions and repeat groups, via the schema."""

import pytest

from forms_engine.validation import SubmissionValidator, compare

pytestmark = pytest.mark.django_db


def validator(form):
    return SubmissionValidator(form.current_version.schema, form_area=form.area)


def valid_data(**overrides):
    data = {
        "traveller": {"full_name": "Nguyễn Văn An", "birth_year": 1985, "sex": "male"},
        "direction": "out",
    }
    return {**data, **overrides}


def errors_for(form, **overrides):
    return validator(form).validate(valid_data(**overrides)).errors


def test_minimal_valid_submission(checkpoint_form):
    result = validator(checkpoint_form).validate(valid_data())
    assert result.errors == {}
    assert result.cleaned == valid_data()


@pytest.mark.parametrize(
    ("key", "value", "cleaned"),
    [
        ("plate", " 79A-12345 ", "79A-12345"),
        ("note", "Đi công tác", "Đi công tác"),
        ("temperature", 37.5, 37.5),
        ("temperature", "36,8", 36.8),
        ("count", 3, 3),
        ("arrival_date", "2021-08-05", "2021-08-05"),
        ("passed_at", "2021-08-05T08:30", "2021-08-05T08:30+07:00"),
        ("hour", "08:30", "08:30"),
        ("permit", False, False),
        ("symptoms", ["sot", "ho", "sot"], ["sot", "ho"]),
        ("phone", "0905 123 456", "+84905123456"),
        ("phone", "+84 258 3822 168", "+842583822168"),
        ("national_id", "056 085 001 234", "056085001234"),
        (
            "location",
            {"lat": 12.24, "lng": 109.19, "accuracy": 8},
            {"lat": 12.24, "lng": 109.19, "accuracy": 8.0},
        ),
    ],
)
def test_each_type_accepts_and_normalises(checkpoint_form, key, value, cleaned):
    result = validator(checkpoint_form).validate(valid_data(**{key: value}))
    assert result.errors == {}
    assert result.cleaned[key] == cleaned


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("plate", "ABC"),
        ("plate", 12345),
        ("note", "x" * 201),
        ("temperature", 45),
        ("temperature", 37.55),
        ("temperature", "nan"),
        ("temperature", True),
        ("count", 2.5),
        ("count", "ba"),
        ("arrival_date", "2999-01-01"),
        ("arrival_date", "05/08/2021"),
        ("passed_at", "hôm qua"),
        ("hour", "25:00"),
        ("permit", "có"),
        ("direction", "up"),
        ("symptoms", ["sot", "ho", "kho_tho"]),
        ("symptoms", "sot"),
        ("phone", "12345"),
        ("national_id", "123456789"),  # 9 digits: this field accepts CCCD only
        ("location", {"lat": 123, "lng": 109}),
        ("photo", {"upload": "not-a-uuid"}),
        ("photo", {"upload": "6f1c1d6e-2f63-4a34-9a1c-6d0b8f0f3f11"}),  # never uploaded
        ("companions", [{"phone": "0905123456"}]),
        ("companions", [{"name": "A"}] * 4),
        ("companions", "Lan"),
    ],
)
def test_each_type_refuses_bad_values_with_the_field_key(checkpoint_form, key, value):
    errors = errors_for(checkpoint_form, **{key: value})
    assert any(path == key or path.startswith(f"{key}.") for path in errors), errors


def test_pattern_uses_the_admins_own_message(checkpoint_form):
    assert errors_for(checkpoint_form, plate="ABC") == {"plate": ["Biển số như 79A-12345"]}


def test_errors_are_in_vietnamese_by_default(checkpoint_form):
    assert errors_for(checkpoint_form, direction=None) == {"direction": ["Trường này là bắt buộc."]}


def test_hidden_required_field_is_not_required_and_its_value_is_dropped(checkpoint_form, area_tree):
    going_out = validator(checkpoint_form).validate(valid_data(direction="out", destination="22711-02"))
    assert going_out.errors == {}
    assert "destination" not in going_out.cleaned

    coming_in = validator(checkpoint_form).validate(valid_data(direction="in"))
    assert coming_in.errors == {"destination": ["Trường này là bắt buộc."]}


def test_area_must_be_a_leaf_inside_the_forms_area(checkpoint_form, area_tree):
    ok = validator(checkpoint_form).validate(valid_data(direction="in", destination="22711-02"))
    assert ok.errors == {} and ok.areas["destination"] == area_tree["dong_cau"]
    assert "destination" in errors_for(checkpoint_form, direction="in", destination="570")  # not a leaf
    assert "destination" in errors_for(checkpoint_form, direction="in", destination="99999")


def test_staff_scope_limits_picked_areas(checkpoint_form, area_tree):
    scoped = SubmissionValidator(
        checkpoint_form.current_version.schema,
        form_area=checkpoint_form.area,
        scope_area=area_tree["nha_trang"],
    )
    result = scoped.validate(valid_data(direction="in", destination="22711-02"))
    assert result.errors == {"destination": ["Địa bàn này nằm ngoài địa bàn bạn phụ trách."]}


def test_place_must_exist_and_be_of_the_right_kind(checkpoint_form, area_tree):
    from places.models import Place

    Place.objects.create(kind=Place.KIND_CHECKPOINT, name="Chốt A", area=area_tree["suoi_tan"], code="CK-A")
    Place.objects.create(kind=Place.KIND_VENUE, name="Chợ", area=area_tree["suoi_tan"], code="DD-CHO")
    assert errors_for(checkpoint_form, checkpoint="ck-a") == {}
    assert "checkpoint" in errors_for(checkpoint_form, checkpoint="DD-CHO")
    assert "checkpoint" in errors_for(checkpoint_form, checkpoint="CK-NONE")


def test_repeat_errors_are_keyed_by_item(checkpoint_form):
    errors = errors_for(checkpoint_form, companions=[{"name": "Lan"}, {"name": "Huệ", "phone": "99"}])
    assert list(errors) == ["companions.1.phone"]


def test_person_errors_are_dotted(checkpoint_form):
    errors = errors_for(checkpoint_form, traveller={"full_name": "A", "birth_year": 1800})
    assert set(errors) == {"traveller.full_name", "traveller.birth_year"}


@pytest.mark.parametrize("data", [None, [], "x", 3, {"direction": {"$gt": ""}}])
def test_garbage_is_refused_not_crashed(checkpoint_form, data):
    assert validator(checkpoint_form).validate(data).errors


@pytest.mark.parametrize(
    ("actual", "op", "expected", "holds"),
    [
        ("in", "eq", "in", True),
        ("in", "ne", "out", True),
        (None, "ne", "out", True),
        ("b", "in", ["a", "b"], True),
        (38, "gt", 37.5, True),
        ("2021-08-05", "lt", "2021-08-06", True),
        (None, "set", None, False),
        ([], "set", None, False),
        (["sot"], "eq", "sot", True),
        (False, "eq", True, False),
    ],
)
def test_condition_operators(actual, op, expected, holds):
    assert compare(actual, op, expected) is holds
