"""A checkpoint-like form with one field of every type, published as version 1."""

import pytest

from tests.factories import field, publish_form

CHECKPOINT_FIELDS = [
    {"type": "heading", "value": {"text": "Người khai"}},
    field("person", "Người khai báo", "traveller", required=True, role="person", birth="year"),
    field(
        "single_choice",
        "Chiều",
        "direction",
        required=True,
        role="direction",
        choices=[{"value": "in", "label": "Vào tỉnh"}, {"value": "out", "label": "Ra tỉnh"}],
    ),
    field(
        "area",
        "Nơi đến",
        "destination",
        required=True,
        role="destination",
        depth=0,
        show_if={"mode": "all", "conditions": [{"field": "direction", "op": "eq", "value": "in"}]},
    ),
    field("place", "Chốt", "checkpoint", role="place", kinds=["checkpoint"]),
    field(
        "short_text",
        "Biển số",
        "plate",
        validation=None,
        pattern=r"\d{2}[A-Z]-?\d{4,5}",
        pattern_message="Biển số như 79A-12345",
        max_length=12,
    ),
    field("long_text", "Ghi chú", "note", max_length=200),
    field(
        "number", "Nhiệt độ", "temperature", decimal=True, decimal_places=1, min_value="34", max_value="43"
    ),
    field("number", "Số người", "count", min_value="0", max_value="60"),
    field("date", "Ngày đến", "arrival_date", allow_future=False),
    field("datetime", "Giờ qua chốt", "passed_at", allow_future=True),
    field("time", "Giờ", "hour"),
    field("yes_no", "Có giấy đi đường", "permit"),
    field(
        "multiple_choice",
        "Triệu chứng",
        "symptoms",
        role="symptoms",
        max_selected=2,
        choices=[
            {"value": "sot", "label": "Sốt"},
            {"value": "ho", "label": "Ho"},
            {"value": "kho_tho", "label": "Khó thở"},
        ],
    ),
    field("phone", "Điện thoại", "phone"),
    field("national_id", "CCCD", "national_id", accept=["cccd"]),
    field("geopoint", "Vị trí", "location"),
    field("file", "Ảnh giấy tờ", "photo", accept=["image/jpeg"], max_size_mb=5),
    field(
        "repeat",
        "Người đi cùng",
        "companions",
        role="companions",
        min_items=0,
        max_items=3,
        fields=[
            field("short_text", "Họ tên", "name", required=True),
            field("phone", "Điện thoại", "phone"),
        ],
    ),
]


@pytest.fixture
def officer(area_tree, make_user):
    """A checkpoint officer of Huyện Cam Lâm."""
    from places.models import GroupRole

    return make_user("canbo.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_FIELD_STAFF)


@pytest.fixture
def bearer(officer):
    """The officer's phone: its API token as a test client header."""
    from wagtail.models import APIToken

    _token, plaintext = APIToken.create_token(user=officer, name="Điện thoại chốt QL1A")
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


@pytest.fixture
def home(wagtail_root):
    """The site's home page (and default Site), under which forms get their URLs."""
    from website.demo.load import demo_home_page_ensure

    return demo_home_page_ensure()


@pytest.fixture
def checkpoint_form(home, area_tree):
    return publish_form(home, slug="khai-bao-tai-chot", fields=CHECKPOINT_FIELDS, area=area_tree["province"])


@pytest.fixture
def public_form(home, area_tree):
    fields = [
        field(
            "person", "Người khai", "person", required=True, role="person", birth="year", require_phone=True
        ),
        field("place", "Địa điểm", "venue", role="place"),
        field("yes_no", "Đồng ý", "consent", required=True, role="consent"),
    ]
    return publish_form(
        home,
        slug="khai-bao-y-te",
        fields=fields,
        area=area_tree["province"],
        kind="health_declaration",
        public=True,
    )
