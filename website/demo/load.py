"""The demo province: Khánh Hòa as in August 2021. Every step is an idempotent upsert."""

import csv
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from wagtail.models import Page, Site

from places.loaders import load_areas_file, load_villages_csv, package_data_path
from places.models import Area, GroupRole, Place, UserArea
from places.roles import roles_ensure
from reports.situation_jobs import situation_report_demo
from website.demo.forms import demo_forms_load
from website.demo.guidance import demo_guidance_load
from website.demo.live_pages import demo_area_points_load, demo_live_pages_load
from website.demo.tracing_rules import demo_tracing_rules_load
from website.demo.workflows import (
    TEAM_CDC,
    TEAM_FACILITY_HEADS,
    TEAM_HEALTH_CENTRE,
    TEAM_TRACING,
    demo_teams_load,
    demo_workflows_load,
)
from website.models import HomePage

DEMO_DIR = Path(__file__).resolve().parent
DEMO_PROVINCE_CODE = "56"  # Khánh Hòa
PASSWORD_FILE_NAME = "demo_password"  # noqa: S105 - a file name, not a password


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str | None  # None: a superuser who runs the system
    area_code: str
    teams: tuple[str, ...] = ()  # the review teams whose workflow steps they act on


APPROVER = GroupRole.ROLE_APPROVER
DEMO_USERS = (
    DemoUser("admin", "Quản trị", "hệ thống", None, DEMO_PROVINCE_CODE),
    DemoUser("quantri.tinh", "Quản trị", "tỉnh", GroupRole.ROLE_PROVINCE_ADMIN, DEMO_PROVINCE_CODE),
    DemoUser("cntt.camlam", "Tổ CNTT", "huyện Cam Lâm", GroupRole.ROLE_AREA_IT_TEAM, "570"),
    DemoUser("thucdia.vinhluong", "Sinh viên", "tình nguyện Vĩnh Lương", GroupRole.ROLE_FIELD_STAFF, "22384"),
    # Approvers: the approver role's rights, and the review teams whose steps they take.
    DemoUser("pheduyet.camlam", "TTYT", "huyện Cam Lâm", APPROVER, "570", (TEAM_HEALTH_CENTRE,)),
    DemoUser("pheduyet.nhatrang", "TTYT", "thành phố Nha Trang", APPROVER, "568", (TEAM_HEALTH_CENTRE,)),
    DemoUser("cdc.tinh", "CDC", "tỉnh Khánh Hòa", APPROVER, DEMO_PROVINCE_CODE, (TEAM_CDC,)),
    DemoUser("truyvet.camlam", "Tổ truy vết", "huyện Cam Lâm", APPROVER, "570", (TEAM_TRACING,)),
    DemoUser("cachly.camlam", "Trưởng khu cách ly", "huyện Cam Lâm", APPROVER, "570", (TEAM_FACILITY_HEADS,)),
    DemoUser("lanhdao.tinh", "Lãnh đạo", "UBND tỉnh", GroupRole.ROLE_LEADER, DEMO_PROVINCE_CODE),
    DemoUser("truyenthong", "Ban", "Tuyên giáo", GroupRole.ROLE_COMMUNICATIONS, DEMO_PROVINCE_CODE),
)

HOME_INTRO = (
    "<p>Hệ thống biểu mẫu và quy trình phục vụ phòng, chống dịch COVID-19 của tỉnh: "
    "khai báo tại chốt kiểm soát, truy vết, theo dõi cách ly, tiêm chủng, xét nghiệm, "
    "khai báo y tế bằng mã QR, bản đồ dịch và bảng điều hành cho lãnh đạo.</p>"
)


def demo_password() -> str:
    """``DEMO_PASSWORD`` if set, else one generated on the first run and kept in var/."""
    if os.environ.get("DEMO_PASSWORD"):
        return os.environ["DEMO_PASSWORD"]
    path = Path(settings.VAR_DIR) / PASSWORD_FILE_NAME
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password, encoding="utf-8")
    path.chmod(0o600)
    return password


@transaction.atomic
def demo_load(*, password: str) -> list[str]:
    """Load or refresh the demo province; returns one line per step for the console."""
    report = [
        f"areas: {load_areas_file(package_data_path(), province=DEMO_PROVINCE_CODE)}",
        f"villages: {load_villages_csv(DEMO_DIR / 'villages.csv')}",
        f"places: {demo_places_load()}",
        f"area points: {demo_area_points_load()}",
    ]
    roles_ensure()
    teams = demo_teams_load()
    workflows = demo_workflows_load(teams)
    demo_users_load(password=password, teams=teams)
    home = demo_home_page_ensure()
    forms = demo_forms_load(home=home, workflows=workflows)
    report.append(f"users: {', '.join(u.username for u in DEMO_USERS)}")
    report.append(f"workflows: {', '.join(workflows)}")
    report.append(f"forms: {len(forms)}")
    report.append(f"tracing: {demo_tracing_rules_load()}")
    report.append(
        f"live pages: {', '.join(demo_live_pages_load(home=home, province_code=DEMO_PROVINCE_CODE))}"
    )
    report.append(f"guides: {len(demo_guidance_load(home=home))}")
    report.append(f"situation report: {situation_report_demo(area_code=DEMO_PROVINCE_CODE)}")
    return report


def demo_places_load() -> int:
    with open(DEMO_DIR / "places.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    areas = Area.objects.in_bulk({row["area_code"] for row in rows}, field_name="code")
    for row in rows:
        Place.objects.update_or_create(
            code=row["code"],
            defaults={
                "kind": row["kind"],
                "name": row["name"],
                "area": areas[row["area_code"]],
                "address": row["address"],
                "capacity": int(row["capacity"]) if row["capacity"] else None,
                "location": Place.location_from(float(row["latitude"]), float(row["longitude"])),
            },
        )
    return len(rows)


def demo_users_load(*, password: str, teams: dict) -> None:
    User = get_user_model()
    areas = Area.objects.in_bulk({u.area_code for u in DEMO_USERS}, field_name="code")
    role_groups = {link.role: link.group for link in GroupRole.objects.select_related("group")}
    for spec in DEMO_USERS:
        user, _ = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@demo.invalid",
                "is_superuser": spec.role is None,
                "is_staff": spec.role is None,
                "is_active": True,
            },
        )
        user.set_password(password)
        user.save(update_fields=["password"])
        user.groups.set(([role_groups[spec.role]] if spec.role else []) + [teams[t] for t in spec.teams])
        UserArea.objects.update_or_create(user=user, defaults={"area": areas[spec.area_code]})


def demo_home_page_ensure() -> HomePage:
    """Make a HomePage the default site's root, replacing Wagtail's welcome page."""
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()
        home = root.add_child(
            instance=HomePage(
                title="Outbreak Desk — Khánh Hòa",
                slug="trang-chu",
                issuing_body="Ban Chỉ đạo phòng, chống dịch COVID-19 tỉnh Khánh Hòa",
                intro=HOME_INTRO,
            )
        )
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname="localhost", root_page=home, is_default_site=True, site_name="Outbreak Desk"
        )
    elif site.root_page_id != home.pk:
        old_root = site.root_page
        site.root_page = home
        site.site_name = "Outbreak Desk"
        site.save()
        if old_root.specific_class is Page and not old_root.get_children().exists():
            old_root.delete()  # Wagtail's "Welcome to your new Wagtail site!" placeholder
    return home
