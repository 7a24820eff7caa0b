"""The demo province's seven forms, as data an admin could have entered in the page editor.

Each form is a FormPage under the home page, found by its slug. Every block, choice and
condition carries a deterministic id (uuid5 of form slug and field path), so the stored
stream is the same on every run: a form is published, making a new FormVersion, only when
its definition here differs from the live page.
"""

import json
import uuid
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder

from forms_engine.models import (
    KIND_CHECKPOINT,
    KIND_HEALTH_DECLARATION,
    KIND_QUARANTINE_CHECKIN,
    KIND_QUARANTINE_RELEASE,
    KIND_TESTING,
    KIND_TRACING,
    KIND_VACCINATION,
    FormPage,
)
from places.models import Area, Place

ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://outbreak-desk.invalid/demo/forms")


# --- building blocks in the stream's raw JSON form ---------------------------------------------


def _field(block_type, key, label, *, required=False, role="", help_text="", show_if=None, **options) -> dict:
    value = {
        "label": label,
        "key": key,
        "help_text": help_text,
        "required": required,
        "role": role,
        **options,
    }
    if show_if:
        value["show_if"] = show_if
    return {"type": block_type, "value": value}


def short_text(key, label, **kw):
    return _field("short_text", key, label, **kw)


def long_text(key, label, **kw):
    return _field("long_text", key, label, **kw)


def number(key, label, *, min_value=None, max_value=None, decimal_places=None, **kw):
    return _field(
        "number",
        key,
        label,
        decimal=decimal_places is not None,
        decimal_places=decimal_places,
        min_value=min_value,
        max_value=max_value,
        **kw,
    )


def date(key, label, *, allow_future=False, **kw):
    return _field("date", key, label, allow_future=allow_future, **kw)


def time(key, label, **kw):
    return _field("time", key, label, **kw)


def yes_no(key, label, **kw):
    return _field("yes_no", key, label, **kw)


def choice(key, label, choices, **kw):
    return _field("single_choice", key, label, choices=_choices(choices), **kw)


def multichoice(key, label, choices, *, min_selected=None, max_selected=None, **kw):
    return _field(
        "multiple_choice",
        key,
        label,
        choices=_choices(choices),
        min_selected=min_selected,
        max_selected=max_selected,
        **kw,
    )


def phone(key, label, **kw):
    return _field("phone", key, label, **kw)


def person(key, label, *, birth="either", require_national_id=False, require_phone=False, **kw):
    return _field(
        "person",
        key,
        label,
        role="person",
        birth=birth,
        require_national_id=require_national_id,
        require_phone=require_phone,
        **kw,
    )


def area(key, label, *, depth=0, **kw):
    return _field("area", key, label, depth=depth, **kw)


def place(key, label, *, kinds=(), **kw):
    return _field("place", key, label, kinds=list(kinds), **kw)


def repeat(key, label, fields, *, item_label="", min_items=0, max_items=50, **kw):
    return _field(
        "repeat",
        key,
        label,
        item_label=item_label,
        min_items=min_items,
        max_items=max_items,
        fields=fields,
        **kw,
    )


def heading(name, text):
    """A section heading; ``name`` only keeps its block id stable when the text is reworded."""
    return {"type": "heading", "value": {"text": text}, "name": name}


def show_if(*conditions, mode="all"):
    """``conditions`` as (field key, operator, value as an admin types it)."""
    return {"mode": mode, "conditions": [{"field": f, "op": op, "value": v} for f, op, v in conditions]}


def _choices(pairs):
    return [{"value": value, "label": label} for value, label in pairs]


def _block_id(path: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, path))


def _list_items(path: str, values: list[dict], name_of) -> list[dict]:
    """ListBlock items in Wagtail's block format, with stable ids (else each save makes new ones)."""
    return [
        {"type": "item", "value": v, "id": _block_id(f"{path}/{name_of(i, v)}")} for i, v in enumerate(values)
    ]


def stream_with_ids(scope: str, blocks: list[dict]) -> list[dict]:
    """The raw stream with a deterministic id on every block, list item and condition."""
    stream = []
    for block in blocks:
        value = dict(block["value"])
        path = f"{scope}/{value.get('key') or block['name']}"
        if "choices" in value:
            value["choices"] = _list_items(f"{path}/choices", value["choices"], lambda _i, c: c["value"])
        if value.get("show_if"):
            conditions = _list_items(f"{path}/show_if", value["show_if"]["conditions"], lambda i, _c: i)
            value["show_if"] = {**value["show_if"], "conditions": conditions}
        if block["type"] == "repeat":
            value["fields"] = stream_with_ids(path, value["fields"])
        stream.append({"type": block["type"], "value": value, "id": _block_id(path)})
    return stream


# --- shared choices -----------------------------------------------------------------------------

SYMPTOMS = (
    ("sot", "Sốt"),
    ("ho", "Ho"),
    ("kho_tho", "Khó thở"),
    ("dau_hong", "Đau họng"),
    ("mat_vi_giac", "Mất vị giác/khứu giác"),
)
SYMPTOMS_HELP = "Chọn tất cả triệu chứng đang có; bỏ trống nếu không có."

# The 63 provinces and centrally-run cities of 2021, valued by their official codes.
PROVINCES_2021 = (
    ("01", "Hà Nội"),
    ("02", "Hà Giang"),
    ("04", "Cao Bằng"),
    ("06", "Bắc Kạn"),
    ("08", "Tuyên Quang"),
    ("10", "Lào Cai"),
    ("11", "Điện Biên"),
    ("12", "Lai Châu"),
    ("14", "Sơn La"),
    ("15", "Yên Bái"),
    ("17", "Hòa Bình"),
    ("19", "Thái Nguyên"),
    ("20", "Lạng Sơn"),
    ("22", "Quảng Ninh"),
    ("24", "Bắc Giang"),
    ("25", "Phú Thọ"),
    ("26", "Vĩnh Phúc"),
    ("27", "Bắc Ninh"),
    ("30", "Hải Dương"),
    ("31", "Hải Phòng"),
    ("33", "Hưng Yên"),
    ("34", "Thái Bình"),
    ("35", "Hà Nam"),
    ("36", "Nam Định"),
    ("37", "Ninh Bình"),
    ("38", "Thanh Hóa"),
    ("40", "Nghệ An"),
    ("42", "Hà Tĩnh"),
    ("44", "Quảng Bình"),
    ("45", "Quảng Trị"),
    ("46", "Thừa Thiên Huế"),
    ("48", "Đà Nẵng"),
    ("49", "Quảng Nam"),
    ("51", "Quảng Ngãi"),
    ("52", "Bình Định"),
    ("54", "Phú Yên"),
    ("56", "Khánh Hòa"),
    ("58", "Ninh Thuận"),
    ("60", "Bình Thuận"),
    ("62", "Kon Tum"),
    ("64", "Gia Lai"),
    ("66", "Đắk Lắk"),
    ("67", "Đắk Nông"),
    ("68", "Lâm Đồng"),
    ("70", "Bình Phước"),
    ("72", "Tây Ninh"),
    ("74", "Bình Dương"),
    ("75", "Đồng Nai"),
    ("77", "Bà Rịa - Vũng Tàu"),
    ("79", "TP. Hồ Chí Minh"),
    ("80", "Long An"),
    ("82", "Tiền Giang"),
    ("83", "Bến Tre"),
    ("84", "Trà Vinh"),
    ("86", "Vĩnh Long"),
    ("87", "Đồng Tháp"),
    ("89", "An Giang"),
    ("91", "Kiên Giang"),
    ("92", "Cần Thơ"),
    ("93", "Hậu Giang"),
    ("94", "Sóc Trăng"),
    ("95", "Bạc Liêu"),
    ("96", "Cà Mau"),
)

MOTOR_VEHICLES = ("o_to_ca_nhan", "xe_khach", "xe_tai_luong_xanh", "xe_may")

# Cars "79A-123.45", "51LD-12345"; motorbikes "79-B1 234.56", "79B1-234.56".
PLATE_PATTERN = r"^[0-9]{2}[ -]?[A-Za-z]{1,2}[0-9]?[ -]?[0-9]{3}\.?[0-9]{1,2}$"


# --- the seven forms -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormDefinition:
    slug: str
    title: str
    kind: str
    intro: str
    fields: tuple
    is_public: bool = False
    workflow: str | None = None  # the name of the demo workflow its submissions go through

    def stream(self) -> list[dict]:
        return stream_with_ids(self.slug, list(self.fields))


CHECKPOINT = FormDefinition(
    slug="khai-bao-tai-chot",
    title="Khai báo tại chốt kiểm soát",
    kind=KIND_CHECKPOINT,
    intro=(
        "<p>Tổ công tác tại chốt kiểm soát ghi nhận người và phương tiện ra, vào tỉnh. "
        "Kiểm tra giấy tờ tùy thân, giấy đi đường và hỏi kỹ tình trạng sức khỏe trước khi ghi.</p>"
    ),
    fields=(
        heading("section_person", "Người khai báo"),
        person("traveller", "Người khai báo", required=True, require_national_id=True),
        heading("section_trip", "Hành trình"),
        choice(
            "direction", "Chiều", (("in", "Vào tỉnh"), ("out", "Ra tỉnh")), required=True, role="direction"
        ),
        place(
            "checkpoint",
            "Chốt kiểm soát",
            kinds=[Place.KIND_CHECKPOINT],
            required=True,
            role="place",
        ),
        choice(
            "vehicle",
            "Phương tiện",
            (
                ("o_to_ca_nhan", "Ô tô cá nhân"),
                ("xe_khach", "Xe khách"),
                ("xe_tai_luong_xanh", "Xe tải – luồng xanh"),
                ("xe_may", "Xe máy"),
                ("khac", "Khác"),
            ),
            required=True,
            role="vehicle",
        ),
        short_text(
            "vehicle_plate",
            "Biển số xe",
            required=True,
            role="vehicle_plate",
            help_text="Ví dụ: 79A-123.45 (ô tô), 79-B1 234.56 (xe máy).",
            max_length=16,
            pattern=PLATE_PATTERN,
            pattern_message="Biển số xe không đúng dạng, ví dụ 79A-123.45 hoặc 79-B1 234.56.",
            show_if=show_if(("vehicle", "in", ",".join(MOTOR_VEHICLES))),
        ),
        choice("origin", "Nơi đi (tỉnh/thành phố)", PROVINCES_2021, required=True, role="origin"),
        area(
            "destination",
            "Nơi đến trong tỉnh (xã, thôn)",
            depth=4,
            required=True,
            role="destination",
            show_if=show_if(("direction", "eq", "in")),
        ),
        short_text("reason", "Lý do", role="reason", max_length=300),
        yes_no("travel_permit", "Có giấy đi đường", required=True, role="travel_permit"),
        heading("section_health", "Sức khỏe"),
        choice(
            "vaccination_status",
            "Tình trạng tiêm chủng",
            (("chua_tiem", "Chưa tiêm"), ("1_mui", "1 mũi"), ("2_mui", "2 mũi")),
            role="vaccination_status",
        ),
        multichoice("symptoms", "Triệu chứng", SYMPTOMS, role="symptoms", help_text=SYMPTOMS_HELP),
        yes_no("visited_outbreak_area", "Đã đến vùng dịch trong 14 ngày qua", required=True),
        short_text(
            "outbreak_areas_visited",
            "Nơi đã đến",
            required=True,
            help_text="Tỉnh/thành phố, quận/huyện của vùng dịch đã đến.",
            max_length=300,
            show_if=show_if(("visited_outbreak_area", "eq", "true")),
        ),
        repeat(
            "companions",
            "Người đi cùng",
            [
                short_text("full_name", "Họ và tên", required=True, max_length=100),
                number("birth_year", "Năm sinh", min_value=1900, max_value=2021),
                phone("phone", "Số điện thoại"),
            ],
            item_label="Người đi cùng",
            max_items=10,
            role="companions",
        ),
    ),
)

TRACING = FormDefinition(
    slug="dieu-tra-dich-te",
    workflow="Xác nhận ca bệnh",
    title="Phiếu điều tra dịch tễ ca bệnh",
    kind=KIND_TRACING,
    intro=(
        "<p>Tổ truy vết phỏng vấn ca bệnh (F0) để dựng lịch trình 14 ngày và lập danh sách "
        "người tiếp xúc gần (F1) cần cách ly, xét nghiệm. Phỏng vấn người tiếp xúc gần (F1) "
        "theo cùng phiếu để lập danh sách F2.</p>"
    ),
    fields=(
        heading("section_case", "Người được điều tra"),
        choice(
            "interviewee",
            "Người được điều tra là",
            (
                ("case", "Ca bệnh (F0): phiếu được duyệt sẽ xác nhận ca bệnh"),
                ("contact", "Người tiếp xúc gần (F1): để lập danh sách F2"),
            ),
            required=True,
            role="interview_subject",
        ),
        person("case", "Người được điều tra", required=True),
        place("workplace", "Nơi làm việc", kinds=[Place.KIND_INDUSTRIAL_PARK], role="workplace"),
        short_text("workshop", "Phân xưởng / bộ phận", max_length=200, role="workshop"),
        date(
            "onset_date",
            "Ngày khởi phát triệu chứng",
            role="onset_date",
            help_text="Bỏ trống nếu không có triệu chứng.",
            show_if=show_if(("interviewee", "eq", "case")),
        ),
        date(
            "sample_date",
            "Ngày lấy mẫu",
            required=True,
            role="sample_date",
            show_if=show_if(("interviewee", "eq", "case")),
        ),
        heading("section_itinerary", "Lịch trình di chuyển 14 ngày"),
        repeat(
            "itinerary",
            "Lịch trình di chuyển 14 ngày",
            [
                date("date", "Ngày", required=True),
                short_text("location", "Địa điểm", required=True, max_length=300),
                time("time", "Giờ"),
            ],
            item_label="Điểm đến",
            max_items=100,
            role="itinerary",
            show_if=show_if(("interviewee", "eq", "case")),
        ),
        heading("section_contacts", "Người tiếp xúc gần"),
        repeat(
            "contacts",
            "Người tiếp xúc gần",
            [
                short_text("full_name", "Họ và tên", required=True, max_length=100),
                phone("phone", "Số điện thoại"),
                number("birth_year", "Năm sinh", min_value=1900, max_value=2021),
                choice(
                    "relationship",
                    "Quan hệ",
                    (
                        ("gia_dinh", "Gia đình"),
                        ("dong_nghiep", "Đồng nghiệp"),
                        ("hang_xom", "Hàng xóm"),
                        ("khac", "Khác"),
                    ),
                    role="relationship",
                ),
                choice(
                    "setting",
                    "Bối cảnh tiếp xúc",
                    (
                        # The contact graph's settings (docs/forms.md): values, not labels, count.
                        ("household", "Hộ gia đình"),
                        ("workplace", "Nơi làm việc"),
                        ("industrial_park", "Khu công nghiệp"),
                        ("venue", "Chợ"),
                        ("transport", "Phương tiện"),
                        ("other", "Khác"),
                    ),
                    role="setting",
                ),
                date("exposure_date", "Ngày tiếp xúc", role="exposure_date"),
                area("address_area", "Địa chỉ (đến thôn)", depth=4, role="area"),
            ],
            item_label="Người tiếp xúc",
            max_items=200,
            role="contacts",
        ),
    ),
)

QUARANTINE_CHECKIN = FormDefinition(
    slug="theo-doi-suc-khoe",
    title="Theo dõi sức khỏe hằng ngày",
    kind=KIND_QUARANTINE_CHECKIN,
    intro=(
        "<p>Ghi nhận sức khỏe hằng ngày của người đang cách ly tập trung hoặc cách ly tại nhà. "
        "Sốt từ 37,5 °C, SpO2 dưới 96 % hoặc có triệu chứng sẽ được báo ngay cho cán bộ y tế.</p>"
    ),
    fields=(
        person("person", "Người cách ly", required=True),
        choice(
            "quarantine_type",
            "Nơi cách ly",
            (("facility", "Cơ sở cách ly tập trung"), ("home", "Tại nhà")),
            required=True,
            role="quarantine_type",
        ),
        place(
            "facility",
            "Cơ sở cách ly",
            kinds=[Place.KIND_QUARANTINE_FACILITY],
            required=True,
            role="place",
            show_if=show_if(("quarantine_type", "eq", "facility")),
        ),
        number(
            "temperature",
            "Nhiệt độ (°C)",
            decimal_places=1,
            min_value=34,
            max_value=43,
            required=True,
            role="temperature",
        ),
        number(
            "spo2",
            "SpO2 (%)",
            min_value=50,
            max_value=100,
            role="spo2",
            help_text="Đo bằng máy kẹp ngón tay.",
        ),
        multichoice("symptoms", "Triệu chứng", SYMPTOMS, role="symptoms", help_text=SYMPTOMS_HELP),
        long_text("notes", "Ghi chú", max_length=2000),
    ),
)

VACCINATION = FormDefinition(
    slug="ghi-nhan-tiem-chung",
    title="Ghi nhận tiêm chủng",
    kind=KIND_VACCINATION,
    intro=(
        "<p>Điểm tiêm ghi nhận từng mũi tiêm vắc xin phòng COVID-19 ngay sau khi tiêm, "
        "kèm số lô và phản ứng sau tiêm nếu có.</p>"
    ),
    fields=(
        person("person", "Người được tiêm", required=True, require_national_id=True),
        choice(
            "vaccine",
            "Vắc xin",
            (
                ("astrazeneca", "AstraZeneca"),
                ("moderna", "Moderna"),
                ("pfizer", "Pfizer-BioNTech"),
                ("sinopharm", "Sinopharm (Vero Cell)"),
                ("sputnik_v", "Sputnik V"),
                ("abdala", "Abdala"),
            ),
            required=True,
            role="vaccine",
        ),
        choice(
            "dose", "Mũi số", (("1", "Mũi 1"), ("2", "Mũi 2"), ("3", "Mũi 3")), required=True, role="dose"
        ),
        date("vaccination_date", "Ngày tiêm", required=True, role="vaccination_date"),
        place("site", "Điểm tiêm", kinds=[Place.KIND_VACCINATION_SITE], required=True, role="place"),
        short_text("lot_number", "Số lô", role="lot_number", max_length=50),
        long_text(
            "reaction",
            "Phản ứng sau tiêm",
            role="reaction",
            help_text="Ghi rõ phản ứng trong 30 phút theo dõi sau tiêm; bỏ trống nếu không có.",
            max_length=2000,
        ),
    ),
)

TESTING = FormDefinition(
    slug="ket-qua-xet-nghiem",
    title="Kết quả xét nghiệm",
    kind=KIND_TESTING,
    workflow="Xác minh kết quả xét nghiệm",
    intro=(
        "<p>Phòng xét nghiệm trả kết quả xét nghiệm SARS-CoV-2 cho từng người. "
        "Kết quả dương tính được chuyển Trung tâm Y tế huyện và CDC tỉnh xác nhận.</p>"
    ),
    fields=(
        person("person", "Người được xét nghiệm", required=True),
        choice(
            "test_type",
            "Loại xét nghiệm",
            (
                ("rt_pcr_don", "RT-PCR đơn"),
                ("rt_pcr_gop", "RT-PCR gộp mẫu"),
                ("test_nhanh", "Test nhanh kháng nguyên"),
            ),
            required=True,
            role="test_type",
        ),
        short_text(
            "pooled_sample_id",
            "Mã mẫu gộp",
            required=True,
            role="pooled_sample_id",
            help_text="Mã ống mẫu gộp, giống nhau cho mọi người trong cùng ống.",
            max_length=50,
            show_if=show_if(("test_type", "eq", "rt_pcr_gop")),
        ),
        date("sample_date", "Ngày lấy mẫu", required=True, role="sample_date"),
        place("sampling_site", "Nơi lấy mẫu", kinds=[Place.KIND_TESTING_SITE], role="place"),
        choice(
            "result",
            "Kết quả",
            (("negative", "Âm tính"), ("positive", "Dương tính"), ("inconclusive", "Không xác định")),
            required=True,
            role="test_result",
        ),
        number(
            "ct_value",
            "Ct value",
            decimal_places=2,
            min_value=0,
            max_value=50,
            role="ct_value",
            help_text="Chỉ với RT-PCR; bỏ trống nếu phòng xét nghiệm không báo.",
            show_if=show_if(("result", "eq", "positive"), ("test_type", "in", "rt_pcr_don,rt_pcr_gop")),
        ),
        short_text("lab", "Phòng xét nghiệm", role="lab", max_length=200),
    ),
)

HEALTH_DECLARATION = FormDefinition(
    slug="khai-bao-y-te",
    title="Khai báo y tế điện tử",
    kind=KIND_HEALTH_DECLARATION,
    is_public=True,
    intro=(
        "<p>Quét mã QR tại địa điểm và khai báo y tế trước khi vào. "
        "Thông tin chỉ dùng cho công tác phòng, chống dịch COVID-19.</p>"
    ),
    fields=(
        person("person", "Người khai báo", required=True, birth="year", require_phone=True),
        place(
            "place",
            "Địa điểm",
            role="place",
            help_text="Điền sẵn theo mã QR đã quét tại địa điểm.",
        ),
        multichoice("symptoms", "Triệu chứng", SYMPTOMS, role="symptoms", help_text=SYMPTOMS_HELP),
        yes_no(
            "exposure",
            "Tiếp xúc với F0 hoặc người từ vùng dịch trong 14 ngày qua",
            required=True,
            role="exposure",
        ),
        short_text(
            "travel_history",
            "Lịch sử đi lại trong 14 ngày qua",
            role="travel_history",
            help_text="Các tỉnh, thành phố đã đến; bỏ trống nếu không đi đâu.",
            max_length=300,
        ),
        yes_no(
            "consent",
            "Đồng ý xử lý dữ liệu cá nhân",
            required=True,
            must_be_yes=True,
            role="consent",
            help_text=(
                "Tôi đồng ý để cơ quan y tế xử lý dữ liệu cá nhân đã khai cho mục đích phòng, chống dịch, "
                "theo Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân."
            ),
        ),
    ),
)

QUARANTINE_RELEASE = FormDefinition(
    slug="de-nghi-ket-thuc-cach-ly",
    title="Đề nghị kết thúc cách ly",
    kind=KIND_QUARANTINE_RELEASE,
    workflow="Duyệt kết thúc cách ly",
    intro=(
        "<p>Cán bộ y tế đề nghị kết thúc cách ly cho người đã đủ thời gian cách ly và có kết quả "
        "xét nghiệm âm tính. Trưởng khu cách ly duyệt đề nghị; sau khi duyệt, lệnh cách ly kết thúc "
        "và người được chuyển sang tự theo dõi sức khỏe theo quy định.</p>"
    ),
    fields=(
        person("person", "Người kết thúc cách ly", required=True),
        date("release_date", "Ngày kết thúc cách ly", allow_future=True, required=True, role="release_date"),
        place(
            "facility",
            "Cơ sở cách ly",
            kinds=[Place.KIND_QUARANTINE_FACILITY],
            role="place",
            help_text="Bỏ trống nếu cách ly tại nhà.",
        ),
        long_text(
            "note",
            "Ghi chú",
            help_text="Kết quả xét nghiệm trước khi kết thúc cách ly, tình trạng sức khỏe.",
            max_length=2000,
        ),
    ),
)

DEMO_FORMS = (
    CHECKPOINT,
    TRACING,
    QUARANTINE_CHECKIN,
    VACCINATION,
    TESTING,
    HEALTH_DECLARATION,
    QUARANTINE_RELEASE,
)


# --- loading -------------------------------------------------------------------------------------


def demo_forms_load(*, home, workflows: dict | None = None) -> list[FormPage]:
    """Create or update the demo forms under ``home``; publish only what changed."""
    from website.demo.load import DEMO_PROVINCE_CODE  # load.py imports this module

    province = Area.objects.get(code=DEMO_PROVINCE_CODE)
    workflows = workflows or {}
    return [
        demo_form_upsert(definition, home=home, area=province, workflow=workflows.get(definition.workflow))
        for definition in DEMO_FORMS
    ]


def demo_form_upsert(definition: FormDefinition, *, home, area: Area, workflow=None) -> FormPage:
    stream = definition.stream()
    attributes = {
        "title": definition.title,
        "kind": definition.kind,
        "is_public": definition.is_public,
        "intro": definition.intro,
        "area_id": area.pk,
        "submission_workflow_id": workflow.pk if workflow else None,
    }
    existing = home.get_children().filter(slug=definition.slug).first()
    if existing is None:
        page = home.add_child(
            instance=FormPage(slug=definition.slug, live=False, fields=stream, **attributes)
        )
    else:
        page = existing.specific
        if not isinstance(page, FormPage):
            raise ValueError(f"/{definition.slug}/ is a {type(page).__name__}, not a form; rename it first.")
        if (
            page.live
            and page.versions.exists()
            and all(getattr(page, name) == value for name, value in attributes.items())
            and stream_prepared(list(page.fields.raw_data)) == stream_prepared(stream)
        ):
            return page
        for name, value in attributes.items():
            setattr(page, name, value)
        page.fields = stream
    page.save_revision().publish()
    return FormPage.objects.get(pk=page.pk)


def stream_prepared(raw: list[dict]) -> list[dict]:
    """``raw`` as the page editor would store it: every child block filled in, as JSON."""
    stream_block = FormPage._meta.get_field("fields").stream_block
    value = stream_block.to_python(raw)
    for child in value:  # instantiate every block, repeat groups' fields included
        if child.block_type == "repeat":
            list(child.value["fields"])
    return json.loads(json.dumps(stream_block.get_prep_value(value), cls=DjangoJSONEncoder))
