"""README's "Roles and what they may do" matrix, enforced row by row by real requests.

The table is parsed from README.md, so the document and the tests cannot drift: a row
without a check here fails, a check without a row fails, and each row is one test that logs
in as a user of each of the six roles (every one with an area: the province admin the
province, the others the district Cam Lâm, the objects in its commune Suối Tân) and tries the
capability through the URL or API call a person would use. A cell reading "yes…" expects
success, "—…" a refusal (a redirect to the login page, 403, 404 or the state unchanged).
"""

import json
import re
import uuid
from functools import cached_property
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from places.models import GroupRole, Place
from tests.factories import approval_required, field, publish_form

README = Path(settings.BASE_DIR) / "README.md"
MATRIX_HEADING = "## Roles and what they may do"
ROLE_COLUMNS = {
    "province admin": GroupRole.ROLE_PROVINCE_ADMIN,
    "area IT team": GroupRole.ROLE_AREA_IT_TEAM,
    "field staff": GroupRole.ROLE_FIELD_STAFF,
    "approver": GroupRole.ROLE_APPROVER,
    "leader": GroupRole.ROLE_LEADER,
    "communications": GroupRole.ROLE_COMMUNICATIONS,
}


def readme_matrix() -> dict[str, dict[str, bool]]:
    """{capability: {role code: allowed}} from the README table whose header starts "capability"."""
    text = README.read_text(encoding="utf-8")
    section = text.split(MATRIX_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header_at = next(i for i, row in enumerate(rows) if cells(row)[0] == "capability")
    roles = [ROLE_COLUMNS[name] for name in cells(rows[header_at])[1:]]
    matrix = {}
    for row in rows[header_at + 2 :]:
        capability, *values = cells(row)
        assert len(values) == len(roles), f"README matrix row {capability!r} has {len(values)} cells"
        matrix[capability] = {
            role: allowed(value, capability) for role, value in zip(roles, values, strict=True)
        }
    return matrix


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def allowed(cell: str, capability: str) -> bool:
    if cell.startswith("yes"):
        return True
    if cell.startswith("—"):
        return False
    raise AssertionError(f"README matrix, {capability!r}: a cell starts with 'yes' or '—', not {cell!r}")


MATRIX = readme_matrix()


# --- the world each row is tried in ------------------------------------------------------------

PERSON_FIELDS = [
    field("person", "Người khai báo", "nguoi", required=True, role="person", birth="year"),
    field("number", "Nhiệt độ", "nhiet_do", decimal=True, decimal_places=1, min_value="34", max_value="43"),
]


class World:
    """Users of every role and the objects the rows act on, each made when first asked for."""

    def __init__(self, area_tree, make_user, wagtail_root):
        self.areas, self.make_user, self.root = area_tree, make_user, wagtail_root
        self.users = {
            role: make_user(
                f"user.{role}",
                area=area_tree["province" if role == GroupRole.ROLE_PROVINCE_ADMIN else "cam_lam"],
                role=role,
            )
            for role in ROLE_COLUMNS.values()
        }

    def client(self, role) -> Client:
        client = Client()
        client.force_login(self.users[role])
        return client

    @cached_property
    def home(self):
        from website.demo.load import demo_home_page_ensure

        return demo_home_page_ensure()

    @cached_property
    def form(self):
        """A staff form whose submissions wait for the approvers' group (tests.factories)."""
        form = publish_form(
            self.home, slug="phieu-dieu-tra", fields=PERSON_FIELDS, area=self.areas["province"]
        )
        return approval_required(form)

    def submission(self):
        """A new submission of ``form``, waiting in review, sent by a field officer of Cam Lâm."""
        from forms_engine.models import Submission

        response = self.submit(GroupRole.ROLE_FIELD_STAFF)
        assert response.status_code == 201, response.content
        return Submission.objects.get(pk=response.json()["id"])

    def submit(self, role):
        body = {
            "client_id": str(uuid.uuid4()),
            "data": {"nguoi": {"full_name": "Trần Thị Bình", "birth_year": 1990}, "nhiet_do": 37.5},
        }
        return self.client(role).post(
            f"/api/v1/forms/{self.form.slug}/submissions", json.dumps(body), content_type="application/json"
        )

    @cached_property
    def in_review(self):
        return self.submission()

    @cached_property
    def place(self):
        return Place.objects.create(
            kind=Place.KIND_CHECKPOINT, name="Chốt Suối Tân", area=self.areas["suoi_tan"], code="CHOT-ST"
        )

    @cached_property
    def volunteer(self):
        """A field officer of Suối Tân: a user the IT team and the province admin manage."""
        return self.make_user(
            "sinhvien.suoitan", area=self.areas["suoi_tan"], role=GroupRole.ROLE_FIELD_STAFF
        )

    def person(self, name="Nguyễn Văn An", **fields):
        from places.folding import fold
        from tracing.models import Person

        fields = {"home_area": self.areas["dong_cau"], "birth_year": 1985, "level": "F0", **fields}
        return Person.objects.create(full_name=name, name_folded=fold(name), **fields)

    @cached_property
    def case(self):
        return self.person()

    def alert(self):
        from tracing.models import Alert

        return Alert.objects.create(
            key=f"fever:{uuid.uuid4()}",
            kind="fever",
            person=self.case,
            area=self.areas["dong_cau"],
            message="Sốt",
        )

    def duplicate(self):
        from tracing.models import DuplicateCandidate

        twin = self.person(birth_year=None, level="")
        return DuplicateCandidate.objects.create(person=twin, other=self.case, reason="same name")

    @cached_property
    def completed_order(self):
        import datetime

        from tracing.models import QuarantineOrder

        return QuarantineOrder.objects.create(
            person=self.case,
            kind="home",
            area=self.areas["dong_cau"],
            start_date=datetime.date(2021, 8, 1),
            planned_end=datetime.date(2021, 8, 14),
            status=QuarantineOrder.STATUS_COMPLETED,
            ended_at=timezone.make_aware(datetime.datetime(2021, 8, 15, 9, 30)),
        )

    @cached_property
    def guide(self):
        """A guide under an index with the demo's review workflow and page rights."""
        from website.demo.guidance import guidance_review_ensure
        from website.models import TOOL_GENERAL, GuidanceIndexPage, GuidancePage

        index = self.home.add_child(instance=GuidanceIndexPage(title="Hướng dẫn", slug="huong-dan"))
        index.save_revision().publish()
        guidance_review_ensure(index)
        guide = index.add_child(
            instance=GuidancePage(title="Khai báo y tế", slug="khai-bao-y-te", intro="", tool=TOOL_GENERAL)
        )
        guide.save_revision().publish()
        return guide

    @cached_property
    def live_pages(self):
        from website.demo.live_pages import demo_live_pages_load

        demo_live_pages_load(home=self.home, province_code=self.areas["province"].code)
        from website.models import DashboardPage, MapPage

        return MapPage.objects.get(), DashboardPage.objects.get()


@pytest.fixture
def world(area_tree, make_user, wagtail_root):
    return World(area_tree, make_user, wagtail_root)


# --- the checks: (world, role) -> whether the user of that role could do it -----------------------


def opens(world, role, *urls) -> bool:
    """Every URL answers 200 to a GET (a refusal is a redirect to log in, 403 or 404)."""
    client = world.client(role)
    return all(client.get(url).status_code == 200 for url in urls)


def admin_sign_in(world, role):
    return opens(world, role, reverse("wagtailadmin_home"))


def areas_view(world, role):
    return opens(world, role, reverse("areas:index"))


def areas_change(world, role):
    return opens(world, role, reverse("areas:add"), reverse("areas:edit", args=[world.areas["suoi_tan"].pk]))


def areas_delete(world, role):
    return opens(world, role, reverse("areas:delete", args=[world.areas["dong_cau"].pk]))


def places_view(world, role):
    return opens(world, role, reverse("places:index"))


def places_change(world, role):
    return opens(world, role, reverse("places:add"), reverse("places:edit", args=[world.place.pk]))


def places_delete(world, role):
    return opens(world, role, reverse("places:delete", args=[world.place.pk]))


def users_change(world, role):
    return opens(
        world,
        role,
        reverse("wagtailusers_users:index"),
        reverse("wagtailusers_users:add"),
        reverse("wagtailusers_users:edit", args=[world.volunteer.pk]),
    )


def users_delete(world, role):
    return opens(world, role, reverse("wagtailusers_users:delete", args=[world.volunteer.pk]))


def api_tokens(world, role):
    return opens(
        world, role, reverse("wagtailusers_api_tokens:index"), reverse("wagtailusers_api_tokens:add")
    )


def forms_design(world, role):
    return opens(
        world,
        role,
        reverse("wagtailadmin_pages:edit", args=[world.form.pk]),
        reverse("wagtailadmin_pages:add_subpage", args=[world.home.pk]),
    )


def forms_publish(world, role):
    # Unpublishing asks for the same right as publishing; its confirmation page is harmless.
    return opens(world, role, reverse("wagtailadmin_pages:unpublish", args=[world.form.pk]))


def workflows_define(world, role):
    return opens(world, role, reverse("wagtailadmin_workflows:index"), reverse("wagtailadmin_workflows:add"))


def staff_forms_fill(world, role):
    return world.submit(role).status_code == 201 and opens(world, role, reverse("data_entry_index"))


def submissions_view(world, role):
    submission = world.in_review
    return opens(
        world, role, reverse("submissions:list"), reverse("submissions:inspect", args=[submission.pk])
    )


def submissions_correct(world, role):
    return opens(world, role, reverse("submissions:edit", args=[world.in_review.pk]))


def submissions_approve(world, role):
    submission = world.submission()
    task_state = submission.current_workflow_state.current_task_state
    url = reverse("submissions:workflow_action", args=[submission.pk, "approve", task_state.pk])
    world.client(role).post(url, {"comment": ""})
    submission.refresh_from_db()
    return submission.status == submission.STATUS_ACCEPTED


def submissions_export(world, role):
    world.in_review  # noqa: B018 - one row to export
    return opens(world, role, reverse("submission_export", args=[world.form.pk, "csv"]))


def submissions_export_personal(world, role):
    world.in_review  # noqa: B018
    response = world.client(role).get(reverse("submission_export", args=[world.form.pk, "csv"]))
    if response.status_code != 200:
        return False
    content = b"".join(response.streaming_content).decode()
    assert "nhiet_do" in content  # the export itself works; only the personal columns differ
    return "nguoi.full_name" in content and "Trần Thị Bình" in content


def imports(world, role):
    return opens(world, role, reverse("forms_engine_import_upload"))


def persons_view(world, role):
    return opens(world, role, reverse("persons:index"), reverse("persons:inspect", args=[world.case.pk]))


def case_chain(world, role):
    response = world.client(role).get(f"/api/v1/cases/{world.case.pk}/chain")
    return response.status_code == 200 and response.json()["case"] == world.case.pk


def persons_level(world, role):
    from tracing.models import LEVEL_CLEARED

    person = world.person("Lê Văn Cường")
    world.client(role).post(reverse("persons:level", args=[person.pk]), {"level": LEVEL_CLEARED})
    person.refresh_from_db()
    return person.level == LEVEL_CLEARED


def alerts_view(world, role):
    alert = world.alert()
    return opens(world, role, reverse("alerts:index"), reverse("alerts:inspect", args=[alert.pk]))


def alerts_resolve(world, role):
    alert = world.alert()
    world.client(role).post(reverse("alerts:resolve", args=[alert.pk]))
    alert.refresh_from_db()
    return alert.resolved_at is not None


def duplicates_resolve(world, role):
    candidate = world.duplicate()
    client = world.client(role)
    if client.get(reverse("duplicates:inspect", args=[candidate.pk])).status_code != 200:
        return False
    client.post(reverse("duplicates:dismiss", args=[candidate.pk]))
    candidate.refresh_from_db()
    return candidate.resolved_at is not None


def orders_clusters_view(world, role):
    order = world.completed_order
    return opens(
        world,
        role,
        reverse("quarantine_orders:index"),
        reverse("quarantine_orders:inspect", args=[order.pk]),
        reverse("clusters:index"),
    )


def quarantine_rules(world, role):
    return opens(world, role, reverse("quarantine_rules:index"), reverse("quarantine_rules:add"))


def certificates_print(world, role):
    response = world.client(role).get(reverse("certificates:quarantine", args=[world.completed_order.pk]))
    return response.status_code == 200 and response["Content-Type"] == "application/pdf"


def situation_reports(world, role):
    from reports.models import SituationReport

    client = world.client(role)
    if client.get(reverse("situation_reports:index")).status_code != 200:
        return False
    day = timezone.localdate()
    client.post(reverse("situation_reports:request"), {"area": world.areas["cam_lam"].pk, "date": day})
    return SituationReport.objects.filter(area=world.areas["cam_lam"], date=day).exists()


def guidance_write(world, role):
    return opens(world, role, reverse("wagtailadmin_pages:edit", args=[world.guide.pk]))


def guidance_publish(world, role):
    return opens(world, role, reverse("wagtailadmin_pages:unpublish", args=[world.guide.pk]))


def access_log(world, role):
    return opens(world, role, reverse("access_log:index"))


def live_pages(world, role):
    map_page, dashboard_page = world.live_pages
    area = world.areas["cam_lam"].code
    return opens(world, role, map_page.url, dashboard_page.url, f"/api/v1/dashboard?area={area}")


CHECKS = {
    "admin: sign in": admin_sign_in,
    "areas: view": areas_view,
    "areas: add, change": areas_change,
    "areas: delete": areas_delete,
    "places: view": places_view,
    "places: add, change": places_change,
    "places: delete": places_delete,
    "users: view, add, change": users_change,
    "users: delete": users_delete,
    "API tokens: issue, revoke": api_tokens,
    "forms: design": forms_design,
    "forms: publish": forms_publish,
    "workflows and tasks: define": workflows_define,
    "staff forms: fill (API, phone, data entry)": staff_forms_fill,
    "submissions: view": submissions_view,
    "submissions: correct in review": submissions_correct,
    "submissions: approve, reject": submissions_approve,
    "submissions: export": submissions_export,
    "submissions: export personal columns": submissions_export_personal,
    "imports": imports,
    "persons: view": persons_view,
    "case chain (API)": case_chain,
    "persons: set level": persons_level,
    "alerts: view": alerts_view,
    "alerts: resolve": alerts_resolve,
    "duplicates: merge, dismiss": duplicates_resolve,
    "quarantine orders, clusters: view": orders_clusters_view,
    "quarantine rules: edit": quarantine_rules,
    "certificates: print": certificates_print,
    "situation reports: view, request": situation_reports,
    "guidance pages: write, submit for review": guidance_write,
    "guidance pages: publish": guidance_publish,
    "access log: review": access_log,
    "live map and dashboard": live_pages,
}


def capability_key(capability: str) -> str:
    """The README's first cell without its markdown (backticks, bold)."""
    return re.sub(r"[`*]", "", capability)


def test_every_row_has_a_check_and_every_check_a_row():
    assert {capability_key(c) for c in MATRIX} == set(CHECKS)


@pytest.mark.django_db
@pytest.mark.parametrize("capability", list(MATRIX))
def test_the_matrix_row(world, capability):
    check = CHECKS.get(capability_key(capability))
    if check is None:
        pytest.fail(f"README matrix row {capability!r} has no check in {__name__}.CHECKS")
    found = {role: check(world, role) for role in MATRIX[capability]}
    wrong = {
        role: ("allowed" if found[role] else "refused")
        for role, expected in MATRIX[capability].items()
        if found[role] != expected
    }
    assert not wrong, f"{capability}: README says otherwise for {wrong}"
