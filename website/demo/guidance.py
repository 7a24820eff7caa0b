"""The demo province's guides: how to fill each demo form, how to approve those that go through
a review workflow, and how to read the epidemic map and the leaders' dashboard.

The guides live under a GuidanceIndexPage "Hướng dẫn" whose pages go through the workflow
"Duyệt tài liệu hướng dẫn": communications staff write and submit, the guidance reviewers
(the Ban Tuyên giáo's team) approve, which publishes. Everything is found by name or slug
and written with deterministic block ids, so loading again publishes a guide only when its
text here changed; each published revision's PDF is made at load.
"""

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from wagtail.models import (
    Collection,
    GroupApprovalTask,
    GroupCollectionPermission,
    GroupPagePermission,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)

from forms_engine.models import FormPage
from places.models import GroupRole
from website.guidance import guidance_pdf_render
from website.models import TOOL_MAP, GuidanceIndexPage, GuidancePage

ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://outbreak-desk.invalid/demo/guidance")
INDEX_SLUG = "huong-dan"
WORKFLOW_GUIDANCE = "Duyệt tài liệu hướng dẫn"
TEAM_GUIDANCE_REVIEWERS = "Ban Tuyên giáo duyệt tài liệu"
REVIEW_TASK = "Ban Tuyên giáo duyệt tài liệu hướng dẫn"
REVIEWER_USERNAMES = ("lanhdao.tinh",)
WRITER_PAGE_PERMISSIONS = ("add", "change")
REVIEWER_PAGE_PERMISSIONS = ("change", "publish")
WRITER_IMAGE_PERMISSIONS = ("add_image", "change_image", "choose_image")


# --- The stream, in its raw JSON form --------------------------------------------------------


def h2(text):
    return ("heading", {"text": text, "level": "h2"})


def h3(text):
    return ("heading", {"text": text, "level": "h3"})


def p(*paragraphs):
    return ("paragraph", "".join(f"<p>{text}</p>" for text in paragraphs))


def bullets(*items):
    return ("paragraph", "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")


def steps(*items):
    return ("steps", [{"title": title, "text": f"<p>{text}</p>" if text else ""} for title, text in items])


def table(header, *rows):
    return (
        "table",
        {
            "first_row_is_table_header": True,
            "first_col_is_header": False,
            "data": [list(header), *map(list, rows)],
        },
    )


def form_link(slug, text=""):
    return ("form_link", {"form_slug": slug, "text": text})


def stream(slug: str, blocks: list, forms: dict[str, int]) -> list[dict]:
    """Raw stream data with ids from the guide's slug and each block's place: the same every run."""
    raw = []
    for position, (block_type, value) in enumerate(blocks):
        if block_type == "form_link":
            if value["form_slug"] not in forms:
                continue  # the demo form is missing: leave the link out rather than fail
            value = {"form": forms[value["form_slug"]], "text": value["text"]}
        if block_type == "steps":
            value = [
                {"type": "item", "value": item, "id": str(uuid.uuid5(ID_NAMESPACE, f"{slug}/{position}/{n}"))}
                for n, item in enumerate(value)
            ]
        raw.append(
            {"type": block_type, "value": value, "id": str(uuid.uuid5(ID_NAMESPACE, f"{slug}/{position}"))}
        )
    return raw


# --- The guides ---------------------------------------------------------------------------------

APPROVE_IN_ADMIN = (
    "Đăng nhập trang quản trị, mở mục <b>Việc chờ duyệt</b> ở trang chủ quản trị.",
    "Danh sách chỉ hiện các phiếu thuộc địa bàn của bạn và thuộc bước duyệt của nhóm bạn.",
)

GUIDES = [
    {
        "slug": "khai-bao-tai-chot-kiem-soat",
        "title": "Hướng dẫn khai báo tại chốt kiểm soát",
        "tool": "checkpoint",
        "intro": "Dành cho tổ công tác tại các chốt kiểm soát ra, vào tỉnh: ghi nhận người và phương tiện "
        "qua chốt bằng điện thoại, kể cả khi mất sóng.",
        "body": [
            h2("Mục đích"),
            p(
                "Phiếu <b>Khai báo tại chốt kiểm soát</b> ghi nhận từng người ra, vào tỉnh qua các chốt trên "
                "QL1A (Vạn Ninh, Cam Ranh), QL26 (Ninh Hòa), QL27C (Khánh Vĩnh), "
                "sân bay Cam Ranh và ga Nha Trang. "
                "Người vào tỉnh từ vùng dịch được hệ thống tự đề nghị cách ly hoặc "
                "theo dõi sức khỏe theo quy định "
                "hiện hành của tỉnh."
            ),
            form_link("khai-bao-tai-chot", "Mở phiếu khai báo tại chốt"),
            h2("Các bước khai báo"),
            steps(
                (
                    "Mở phiếu trên điện thoại",
                    "Quét mã QR bên trên hoặc mở đường dẫn đã lưu trên màn hình chính. "
                    "Phiếu vẫn mở được khi mất sóng.",
                ),
                (
                    "Kiểm tra giấy tờ",
                    "Đối chiếu CCCD/CMND, giấy đi đường (nếu có) và hỏi tình trạng sức khỏe.",
                ),
                (
                    "Ghi thông tin người khai báo",
                    "Họ và tên, năm sinh, giới tính, CCCD/CMND, số điện thoại. "
                    "Ví dụ: Nguyễn Văn Ánh, 1985, CCCD 056085001234.",
                ),
                (
                    "Ghi hành trình",
                    "Chọn chiều (vào tỉnh / ra tỉnh), chốt, phương tiện, biển số xe, nơi đi và "
                    "nơi đến trong tỉnh đến cấp thôn, ví dụ thôn Đồng Cau, xã Suối Tân, huyện Cam Lâm.",
                ),
                (
                    "Ghi sức khỏe",
                    "Tình trạng tiêm chủng, triệu chứng (sốt, ho, khó thở, đau họng, mất vị giác hoặc "
                    "khứu giác) và nơi đã đến trong 14 ngày qua, ví dụ Đắk Lắk hoặc TP. Hồ Chí Minh.",
                ),
                ("Thêm người đi cùng", "Mỗi người đi cùng một dòng: họ tên, năm sinh, số điện thoại."),
                (
                    "Bấm Gửi",
                    "Khi mất sóng, phiếu được lưu trên máy và tự gửi khi có mạng lại; không bấm gửi lại.",
                ),
            ),
            h2("Phương tiện và cách ghi biển số"),
            table(
                ("Phương tiện", "Cách ghi biển số", "Lưu ý"),
                ("Ô tô cá nhân", "79A-123.45", "Ghi mọi người trên xe"),
                ("Xe khách", "79B-012.34", "Ghi theo danh sách hành khách của nhà xe"),
                ("Xe tải – luồng xanh", "51C-456.78", "Kiểm tra giấy nhận diện luồng xanh"),
                ("Xe máy", "79-B1 234.56", "Một phiếu cho mỗi người"),
            ),
            h2("Những lỗi thường gặp"),
            bullets(
                "Ghi nơi đến chỉ đến cấp huyện: tổ truy vết không tìm được người; hãy chọn đến xã, thôn.",
                "Bấm Gửi nhiều lần khi mạng chậm: hệ thống chỉ nhận một lần, không cần gửi lại.",
                "Bỏ trống số điện thoại: người khai báo không nhận được hướng dẫn cách ly.",
            ),
        ],
    },
    {
        "slug": "dieu-tra-dich-te-ca-benh",
        "title": "Hướng dẫn điều tra dịch tễ và xác nhận ca bệnh",
        "tool": "tracing",
        "intro": "Dành cho tổ truy vết huyện: phỏng vấn ca bệnh (F0) và người tiếp xúc gần (F1), "
        "lập danh sách "
        "F1, F2 và duyệt phiếu điều tra.",
        "body": [
            h2("Khi nào lập phiếu"),
            p(
                "Lập phiếu <b>Phiếu điều tra dịch tễ ca bệnh</b> ngay khi có ca dương tính "
                "được CDC tỉnh xác nhận, và cho từng người tiếp xúc gần (F1) để lập danh sách F2. "
                "Phỏng vấn trực tiếp hoặc qua điện thoại."
            ),
            form_link("dieu-tra-dich-te", "Mở phiếu điều tra dịch tễ"),
            h2("Các bước điều tra"),
            steps(
                (
                    "Chọn người được điều tra là F0 hay F1",
                    "Phiếu của F0 được duyệt sẽ xác nhận ca bệnh; phiếu của F1 dùng để lập danh sách F2.",
                ),
                (
                    "Ghi nơi làm việc",
                    "Ví dụ: Khu công nghiệp Suối Dầu, phân xưởng may số 2. Hệ thống gom các ca "
                    "cùng phân xưởng thành một ổ dịch.",
                ),
                (
                    "Ghi ngày khởi phát và ngày lấy mẫu",
                    "Thời gian tiếp xúc được tính từ 2 ngày trước ngày khởi phát "
                    "(hoặc ngày lấy mẫu nếu không có triệu chứng).",
                ),
                (
                    "Dựng lịch trình 14 ngày",
                    "Mỗi điểm đến một dòng: ngày, địa điểm, giờ. Hỏi kỹ chợ, nơi làm việc, "
                    "phương tiện công cộng.",
                ),
                (
                    "Lập danh sách người tiếp xúc gần",
                    "Mỗi người: họ tên, số điện thoại, năm sinh, quan hệ, bối cảnh "
                    "tiếp xúc, ngày tiếp xúc, địa chỉ đến thôn.",
                ),
                ("Gửi phiếu", "Phiếu chuyển sang bước duyệt của Tổ truy vết huyện."),
            ),
            h2("Duyệt phiếu điều tra"),
            p(*APPROVE_IN_ADMIN),
            steps(
                ("Mở phiếu chờ duyệt", "Đối chiếu lịch trình và danh sách tiếp xúc với thông tin đã biết."),
                (
                    "Sửa nếu cần",
                    "Người duyệt có thể sửa lỗi chính tả, số điện thoại; mỗi lần sửa được lưu lại.",
                ),
                (
                    "Duyệt hoặc trả lại",
                    "Duyệt: hệ thống phân loại F1, F2, lập lệnh cách ly và cảnh báo. Trả lại: "
                    "ghi rõ lý do để người lập phiếu bổ sung.",
                ),
            ),
            table(
                ("Quan hệ với F0", "Phân loại", "Việc cần làm"),
                ("Cùng hộ gia đình", "F1", "Cách ly, xét nghiệm ngay"),
                ("Cùng phân xưởng", "F1", "Cách ly, xét nghiệm, điều tra tiếp F2"),
                ("Người tiếp xúc với F1", "F2", "Tự theo dõi sức khỏe theo quy định"),
            ),
        ],
    },
    {
        "slug": "theo-doi-suc-khoe-hang-ngay",
        "title": "Hướng dẫn theo dõi sức khỏe người cách ly",
        "tool": "quarantine_checkin",
        "intro": "Dành cho cán bộ y tế tại cơ sở cách ly và trạm y tế xã theo dõi người cách ly tại nhà.",
        "body": [
            h2("Ghi nhận hằng ngày"),
            p(
                "Mỗi ngày ít nhất một lần, ghi nhận sức khỏe của từng người đang cách ly bằng phiếu "
                "<b>Theo dõi sức khỏe hằng ngày</b>. "
                "Người chưa có phiếu trong ngày sẽ được nhắc vào buổi tối."
            ),
            form_link("theo-doi-suc-khoe"),
            steps(
                ("Chọn người cách ly", "Tìm theo họ tên không cần gõ dấu, ví dụ “tran thi hoa”."),
                ("Chọn nơi cách ly", "Cơ sở cách ly tập trung hoặc tại nhà."),
                ("Đo và ghi nhiệt độ, SpO2", "Nhiệt độ đo ở nách hoặc trán; SpO2 đo bằng máy kẹp ngón tay."),
                ("Ghi triệu chứng và ghi chú", ""),
            ),
            h2("Khi nào hệ thống báo động"),
            table(
                ("Chỉ số", "Ngưỡng báo động", "Xử trí"),
                ("Nhiệt độ", "Từ 37,5 °C", "Báo trạm y tế, lấy mẫu xét nghiệm"),
                ("SpO2", "Dưới 96 %", "Báo ngay bác sĩ, chuẩn bị chuyển viện"),
                ("Triệu chứng", "Bất kỳ triệu chứng nào", "Khám và theo dõi sát"),
            ),
        ],
    },
    {
        "slug": "ghi-nhan-tiem-chung",
        "title": "Hướng dẫn ghi nhận tiêm chủng vắc xin COVID-19",
        "tool": "vaccination",
        "intro": "Dành cho điểm tiêm: ghi nhận từng mũi tiêm ngay sau khi tiêm.",
        "body": [
            h2("Ghi nhận mũi tiêm"),
            form_link("ghi-nhan-tiem-chung"),
            steps(
                (
                    "Xác định người được tiêm",
                    "Đối chiếu CCCD/CMND; người đã tiêm mũi trước được hệ thống nhận ra.",
                ),
                (
                    "Chọn vắc xin và mũi số",
                    "AstraZeneca, Moderna, Pfizer-BioNTech, Sinopharm (Vero Cell), "
                    "Sputnik V hoặc Abdala; mũi 1, 2 hoặc 3.",
                ),
                ("Ghi ngày tiêm, điểm tiêm và số lô", "Số lô ghi đúng như trên lọ vắc xin."),
                ("Ghi phản ứng sau tiêm", "Theo dõi 30 phút sau tiêm; bỏ trống nếu không có phản ứng."),
            ),
            h2("Khoảng cách giữa các mũi"),
            table(
                ("Vắc xin", "Mũi 1 → mũi 2"),
                ("AstraZeneca", "8 – 12 tuần"),
                ("Pfizer-BioNTech", "3 – 4 tuần"),
                ("Moderna", "4 tuần"),
                ("Sinopharm (Vero Cell)", "3 – 4 tuần"),
            ),
            p(
                "Khoảng cách theo hướng dẫn của Bộ Y tế tại thời điểm tiêm; "
                "điểm tiêm cập nhật khi có văn bản mới."
            ),
        ],
    },
    {
        "slug": "ket-qua-xet-nghiem",
        "title": "Hướng dẫn trả và xác minh kết quả xét nghiệm",
        "tool": "testing",
        "intro": "Dành cho phòng xét nghiệm, Trung tâm Y tế huyện và CDC tỉnh.",
        "body": [
            h2("Trả kết quả"),
            form_link("ket-qua-xet-nghiem"),
            steps(
                ("Chọn người được xét nghiệm", ""),
                (
                    "Chọn loại xét nghiệm",
                    "RT-PCR đơn, RT-PCR gộp mẫu (ghi mã ống mẫu gộp, giống nhau cho mọi người "
                    "trong ống) hoặc test nhanh kháng nguyên.",
                ),
                ("Ghi ngày lấy mẫu, nơi lấy mẫu, phòng xét nghiệm", ""),
                ("Chọn kết quả và Ct value", "Ct value chỉ ghi với RT-PCR khi phòng xét nghiệm có báo."),
            ),
            h2("Quy trình xác minh"),
            table(
                ("Kết quả", "Bước duyệt", "Thời hạn"),
                ("Âm tính", "Tự động duyệt", "Ngay"),
                ("Dương tính, không xác định", "Trung tâm Y tế huyện xác minh", "4 giờ"),
                ("Dương tính", "CDC tỉnh xác nhận ca dương tính", "8 giờ"),
            ),
            h3("Duyệt kết quả dương tính"),
            p(*APPROVE_IN_ADMIN),
            steps(
                (
                    "Đối chiếu với phòng xét nghiệm",
                    "Gọi phòng xét nghiệm nếu Ct value hoặc mã mẫu bất thường.",
                ),
                ("Duyệt", "Sau bước của CDC tỉnh, người được xác nhận là F0 và xuất hiện trên bản đồ dịch."),
                ("Trả lại nếu sai", "Ghi lý do; phòng xét nghiệm sửa và gửi lại."),
            ),
        ],
    },
    {
        "slug": "khai-bao-y-te-dien-tu",
        "title": "Hướng dẫn khai báo y tế điện tử bằng mã QR",
        "tool": "health_declaration",
        "intro": "Dành cho người dân và khách đến chợ, cửa hàng, khu công nghiệp có dán mã QR.",
        "body": [
            h2("Các bước khai báo"),
            steps(
                ("Quét mã QR tại địa điểm", "Dùng camera điện thoại quét mã QR dán tại cửa ra vào."),
                (
                    "Điền thông tin",
                    "Họ và tên, năm sinh, giới tính, số điện thoại, địa chỉ đến thôn, triệu chứng, "
                    "tiếp xúc với F0 hoặc người từ vùng dịch trong 14 ngày qua.",
                ),
                ("Đồng ý xử lý dữ liệu cá nhân", "Thông tin chỉ dùng cho công tác phòng, chống dịch."),
                ("Bấm Gửi và đưa màn hình cho người kiểm soát", ""),
            ),
            form_link("khai-bao-y-te", "Khai báo y tế điện tử"),
            h2("Dán mã QR tại địa điểm"),
            p(
                "Chủ địa điểm in mã QR của địa điểm (Trang quản trị › Địa điểm › Mã QR), "
                "dán nơi dễ thấy ở mỗi lối "
                "vào. Mỗi địa điểm một mã: khi có ca bệnh, tổ truy vết biết ai đã đến cùng thời gian."
            ),
        ],
    },
    {
        "slug": "de-nghi-ket-thuc-cach-ly",
        "title": "Hướng dẫn đề nghị và duyệt kết thúc cách ly",
        "tool": "quarantine_release",
        "intro": "Dành cho cán bộ y tế đề nghị và trưởng khu cách ly duyệt kết thúc cách ly.",
        "body": [
            h2("Lập đề nghị"),
            form_link("de-nghi-ket-thuc-cach-ly"),
            steps(
                (
                    "Kiểm tra điều kiện",
                    "Đủ thời gian cách ly theo quy định và có kết quả xét nghiệm âm tính.",
                ),
                (
                    "Chọn người kết thúc cách ly, ngày kết thúc, cơ sở cách ly",
                    "Bỏ trống cơ sở nếu cách ly tại nhà.",
                ),
                ("Ghi chú kết quả xét nghiệm và sức khỏe", ""),
            ),
            h2("Duyệt đề nghị"),
            p(*APPROVE_IN_ADMIN),
            steps(
                ("Trưởng khu cách ly mở đề nghị", "Thời hạn duyệt: 24 giờ."),
                ("Duyệt", "Lệnh cách ly kết thúc; người chuyển sang tự theo dõi sức khỏe theo quy định."),
            ),
        ],
    },
    {
        "slug": "doc-ban-do-dich-va-bang-dieu-hanh",
        "title": "Hướng dẫn đọc bản đồ dịch và bảng điều hành",
        "tool": TOOL_MAP,
        "intro": "Dành cho lãnh đạo và cán bộ theo dõi tình hình dịch trên bản đồ "
        "và bảng điều hành trực tuyến.",
        "body": [
            h2("Bản đồ dịch"),
            bullets(
                "Chấm đỏ: ca F0, đặt đến thôn, tổ dân phố; số trên cụm là số ca.",
                "Màu xã, phường: số ca mới trong khoảng ngày đang xem; càng đậm càng nhiều.",
                "Lớp F1 và người đang cách ly chỉ hiện với người có quyền xem thông tin cá nhân.",
                "Chốt kiểm soát và cơ sở cách ly hiện bằng biểu tượng riêng.",
            ),
            h2("Bảng điều hành"),
            steps(
                ("Chọn địa bàn và khoảng ngày", "Mặc định là địa bàn của bạn và 30 ngày gần nhất."),
                (
                    "Đọc các thẻ số liệu",
                    "Ca mới, F1, xét nghiệm, mũi tiêm, người đang cách ly; so với ngày trước.",
                ),
                ("Bấm vào một huyện hoặc xã", "Xem chi tiết địa bàn cấp dưới."),
            ),
            p("Số liệu tự cập nhật khi có phiếu mới được duyệt; không cần tải lại trang."),
        ],
    },
]


# --- Loading ----------------------------------------------------------------------------------


def demo_guidance_load(*, home) -> list[str]:
    """The index, the review workflow and rights, the guides and their PDFs; the guides' slugs."""
    index = guidance_index_ensure(home)
    guidance_review_ensure(index)
    forms = dict(FormPage.objects.child_of(home).values_list("slug", "pk"))
    guides = [guide_upsert(index, definition, forms) for definition in GUIDES]
    for guide in guides:
        guidance_pdf_render(revision_id=guide.live_revision_id)
    return [guide.slug for guide in guides]


def guidance_index_ensure(home) -> GuidanceIndexPage:
    index = GuidanceIndexPage.objects.child_of(home).filter(slug=INDEX_SLUG).first()
    if index is None:
        index = home.add_child(
            instance=GuidanceIndexPage(
                title="Hướng dẫn",
                slug=INDEX_SLUG,
                intro="<p>Tài liệu hướng dẫn sử dụng từng công cụ của hệ thống, có bản PDF để in.</p>",
            )
        )
        index.save_revision().publish()
    return index


def guide_upsert(index, definition: dict, forms: dict[str, int]) -> GuidancePage:
    body = stream(definition["slug"], definition["body"], forms)
    fields = {"title": definition["title"], "intro": definition["intro"], "tool": definition["tool"]}
    guide = GuidancePage.objects.child_of(index).filter(slug=definition["slug"]).first()
    if guide is None:
        guide = index.add_child(instance=GuidancePage(slug=definition["slug"], body=body, **fields))
    elif (
        guide.live
        and list(guide.body.raw_data) == body
        and all(getattr(guide, k) == v for k, v in fields.items())
    ):
        return guide  # unchanged: no new revision, no new PDF
    else:
        for name, value in fields.items():
            setattr(guide, name, value)
        guide.body = body
    # The demo publishes directly, as an admin may; staff go through the review workflow.
    guide.save_revision().publish()
    guide.refresh_from_db()
    return guide


def guidance_review_ensure(index) -> Workflow:
    """Communications staff add and edit guides; the reviewers' team approves, which publishes."""
    writers = GroupRole.objects.select_related("group").get(role=GroupRole.ROLE_COMMUNICATIONS).group
    reviewers, _ = Group.objects.get_or_create(name=TEAM_GUIDANCE_REVIEWERS)
    reviewers.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    page_permissions_grant(writers, index, WRITER_PAGE_PERMISSIONS)
    page_permissions_grant(reviewers, index, REVIEWER_PAGE_PERMISSIONS)
    root_collection = Collection.get_first_root_node()
    for codename in WRITER_IMAGE_PERMISSIONS:
        permission = Permission.objects.get(content_type__app_label="wagtailimages", codename=codename)
        GroupCollectionPermission.objects.get_or_create(
            group=writers, collection=root_collection, permission=permission
        )
    for user in get_user_model().objects.filter(username__in=REVIEWER_USERNAMES):
        user.groups.add(reviewers)

    task, _ = GroupApprovalTask.objects.update_or_create(name=REVIEW_TASK, defaults={"active": True})
    task.groups.set([reviewers])
    workflow, _ = Workflow.objects.update_or_create(name=WORKFLOW_GUIDANCE, defaults={"active": True})
    WorkflowTask.objects.filter(workflow=workflow).exclude(task=task).delete()
    WorkflowTask.objects.update_or_create(workflow=workflow, task=task, defaults={"sort_order": 0})
    WorkflowPage.objects.update_or_create(page=index, defaults={"workflow": workflow})
    return workflow


def page_permissions_grant(group, page, kinds) -> None:
    for kind in kinds:
        permission = Permission.objects.get(content_type__app_label="wagtailcore", codename=f"{kind}_page")
        GroupPagePermission.objects.get_or_create(group=group, page=page, permission=permission)
