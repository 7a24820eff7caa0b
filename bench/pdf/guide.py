"""A ~20-page guide rendered to PDF N times: wall time per page and peak memory.

The guide goes through the product's own path (website.guidance.guidance_pdf_bytes: the print
template, the block templates, reports.pdf's WeasyPrint with its local-only fetcher), built in
memory (a page model needs the database only for its content type: a throwaway one, SQLite
unless DATABASE_URL is set): long Vietnamese text, headings with their table of contents,
numbered steps and tables. Target (issue 7): under 0.25 s a page.

    .venv/bin/python bench/pdf/guide.py [--runs 5] [--chapters 10] [--no-save]

Saves bench/results/pdf_guide.json (the table in docs/benchmarks.md is written by hand).
"""

import argparse
import io
import json
import os
import platform
import resource
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, setup_django, throwaway_database  # noqa: E402

TARGET_SECONDS_PER_PAGE = 0.25
SENTENCES = (
    "Cán bộ tại chốt kiểm soát đối chiếu căn cước công dân, giấy đi đường và hỏi kỹ tình trạng sức khỏe "
    "của người khai báo trước khi ghi vào phiếu.",
    "Người đến từ Đắk Lắk, Phú Yên hoặc Thành phố Hồ Chí Minh trong 14 ngày qua được hướng dẫn cách ly "
    "tại nhà và tự theo dõi sức khỏe theo quy định hiện hành của tỉnh Khánh Hòa.",
    "Trạm y tế xã, phường, thị trấn phối hợp với tổ COVID cộng đồng ở thôn, tổ dân phố để nhắc người "
    "cách ly gửi phiếu theo dõi sức khỏe hằng ngày trước 20 giờ.",
    "Ông Nguyễn Văn Ánh, bà Trần Thị Hoa và anh Lê Quốc Đạt là các ví dụ minh họa, không phải người thật.",
)


def paragraph(n: int) -> dict:
    text = " ".join(SENTENCES[i % len(SENTENCES)] for i in range(n))
    return {"type": "paragraph", "value": f"<p>{text}</p>"}


def chapter(number: int) -> list[dict]:
    steps = [
        {
            "type": "item",
            "value": {"title": f"Bước {k}: kiểm tra và ghi nhận", "text": f"<p>{SENTENCES[k % 4]}</p>"},
        }
        for k in range(1, 7)
    ]
    rows = [["Địa bàn", "Số người khai báo", "Số người cách ly", "Ghi chú"]] + [
        [f"Xã Vĩnh Lương, thôn {k}", str(120 + k * 7), str(k * 3), "Đã rà soát đủ"] for k in range(1, 11)
    ]
    return [
        {
            "type": "heading",
            "value": {"text": f"Chương {number}. Quy trình khai báo và theo dõi", "level": "h2"},
        },
        paragraph(14),
        {"type": "heading", "value": {"text": f"{number}.1. Các bước thực hiện", "level": "h3"}},
        {"type": "steps", "value": steps},
        paragraph(10),
        {"type": "heading", "value": {"text": f"{number}.2. Số liệu tham khảo", "level": "h3"}},
        {
            "type": "table",
            "value": {"first_row_is_table_header": True, "first_col_is_header": False, "data": rows},
        },
        paragraph(8),
    ]


def guide(chapters: int):
    from website.models import GuidancePage

    # Ids as the editor gives them: the headings' anchors (and the contents' links) use them.
    body = [
        {**block, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{number}/{position}"))}
        for number in range(1, chapters + 1)
        for position, block in enumerate(chapter(number))
    ]
    return GuidancePage(
        title="Sổ tay hướng dẫn khai báo y tế và theo dõi cách ly",
        slug="so-tay-huong-dan",
        intro="Tài liệu dành cho cán bộ y tế, tổ COVID cộng đồng và sinh viên tình nguyện.",
        issuing_body="Ban Chỉ đạo phòng, chống dịch COVID-19 tỉnh Khánh Hòa",
        body=body,
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chapters", type=int, default=10)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()

    setup_django()
    with throwaway_database() as database:
        figures = measure(args, database)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "pdf_guide.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")


def measure(args, database: str) -> dict:
    from pypdf import PdfReader

    from website.guidance import guidance_pdf_bytes

    page = guide(args.chapters)
    revision = SimpleNamespace(created_at=datetime.now(UTC))
    rss_before = peak_rss_mb()
    content = guidance_pdf_bytes(page, revision=revision)  # warm-up: fonts, templates
    pages = len(PdfReader(io.BytesIO(content)).pages)
    timings, cpu_timings = [], []
    for _ in range(args.runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        guidance_pdf_bytes(page, revision=revision)
        timings.append(time.perf_counter() - start)
        cpu_timings.append(time.process_time() - cpu_start)
    median = statistics.median(timings)
    # On a shared machine wall time also counts other processes' turns; CPU time does not.
    cpu_median = statistics.median(cpu_timings)
    return {
        "database": database,
        "pages": pages,
        "runs": args.runs,
        "pdf_bytes": len(content),
        "seconds_per_render_median": round(median, 3),
        "seconds_per_render_min": round(min(timings), 3),
        "seconds_per_page": round(median / pages, 4),
        "cpu_seconds_per_render_median": round(cpu_median, 3),
        "cpu_seconds_per_page": round(cpu_median / pages, 4),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "target_seconds_per_page": TARGET_SECONDS_PER_PAGE,
        "target_met": median / pages < TARGET_SECONDS_PER_PAGE,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_rendering_mb": round(rss_before, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }


if __name__ == "__main__":
    main()
