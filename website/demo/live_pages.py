"""The demo's live pages under the home page: the epidemic map, the leaders' dashboard and
the citizens' map, and the area points they place cases at. Found again by slug or code, so
loading twice changes nothing."""

import csv
from pathlib import Path

from places.models import Area
from website.models import DashboardPage, HomePage, MapPage, PublicMapPage

PUBLIC_MAP_INTRO = (
    "<p>Số ca mắc mới (F0) theo từng xã, phường, thị trấn. Bản đồ chỉ hiển thị số lượng, "
    "không có thông tin cá nhân. Người dân khai báo y tế bằng cách quét mã QR tại chốt kiểm soát "
    "và địa điểm công cộng.</p>"
)

# No package ships the centroids of Vietnam's communes: the demo's are approximate (districts),
# or the mean of the demo places in the commune. A village without a point shows at its
# commune's; a province loads real outlines with ``manage.py load_boundaries``.
AREA_POINTS_CSV = Path(__file__).resolve().parent / "area_points.csv"


def demo_area_points_load() -> int:
    """Give the demo areas without a location their approximate point; returns how many."""
    with open(AREA_POINTS_CSV, encoding="utf-8", newline="") as handle:
        points = {row["code"]: row for row in csv.DictReader(handle)}
    changed = 0
    for area in Area.objects.filter(code__in=points, location=""):
        row = points[area.code]
        area.location = Area.location_from(float(row["latitude"]), float(row["longitude"]))
        area.save(update_fields=["location"])
        changed += 1
    return changed


def demo_live_pages_load(*, home: HomePage, province_code: str) -> list[str]:
    """Create the three pages if missing; returns their slugs."""
    province = Area.objects.filter(code=province_code).first()
    pages = [
        MapPage(title="Bản đồ dịch", slug="ban-do-dich", area=province, days=30, show_contacts=True),
        DashboardPage(title="Bảng điều hành", slug="bang-dieu-hanh", area=province, days=30),
        PublicMapPage(
            title="Bản đồ an toàn COVID-19",
            slug="ban-do-an-toan",
            area=province,
            days=14,
            intro=PUBLIC_MAP_INTRO,
        ),
    ]
    for page in pages:
        if not home.get_children().filter(slug=page.slug).exists():
            page.live = False
            home.add_child(instance=page)
            page.save_revision().publish()  # a first revision, as if an editor had published it
    return [page.slug for page in pages]
