"""The admin home per role: approvers see their inbox in numbers, area IT teams today's data
entry per area under theirs, leaders the live pages — each within their own area."""

from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail.users.models import UserProfile

from forms_engine.models import Submission
from places.models import GroupRole
from tests.forms_engine.conftest import home  # noqa: F401
from tests.workflows.test_tasks import people, submit, testing_form, verification  # noqa: F401
from website.demo.load import demo_home_page_ensure
from website.models import DashboardPage, MapPage, PublicMapPage

pytestmark = pytest.mark.django_db


def admin_home(user) -> str:
    """The admin's home page as ``user`` sees it, in English (their account setting)."""
    UserProfile.objects.update_or_create(user=user, defaults={"preferred_language": "en"})
    client = Client()
    client.force_login(user)
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    return unescape(response.content.decode())


def panel(html: str, panel_id: str) -> str:
    """The markup of one panel of the home page ("" when it is not there)."""
    start = html.find(f'id="{panel_id}-section"')
    if start < 0:
        return ""
    end = html.find('<section class="w-panel', start)
    return html[start : end if end > 0 else len(html)]


# --- approvers ----------------------------------------------------------------------------------


def test_an_approver_sees_how_many_reviews_wait_for_them(verification, submit, people):  # noqa: F811
    submit("positive", area="22453")
    submit("positive", area="22711-02")
    submit("positive", area="22384")  # Nha Trang's
    submit("negative", area="22453")  # accepted by the rule: waits for no one

    cam_lam = panel(admin_home(people["cam_lam"]), "inbox-counts")
    assert "2 submissions wait for your review." in cam_lam
    assert "Form ket-qua-xet-nghiem" in cam_lam
    assert f"status={Submission.STATUS_IN_REVIEW}" in cam_lam
    rows = cam_lam.split("<tr>")[2:]
    assert len(rows) == 1 and "<td>2</td>" in rows[0]

    nha_trang = panel(admin_home(people["nha_trang"]), "inbox-counts")
    assert "1 submission waits for your review." in nha_trang

    cdc = panel(admin_home(people["cdc"]), "inbox-counts")  # not the CDC's step yet
    assert "Nothing waits for your review." in cdc


def test_only_approvers_and_superusers_get_the_inbox_panel(area_tree, make_user):
    leader = make_user("lanhdao", area=area_tree["province"], role=GroupRole.ROLE_LEADER)
    superuser = make_user("admin", superuser=True)
    assert panel(admin_home(leader), "inbox-counts") == ""
    assert panel(admin_home(superuser), "inbox-counts")


# --- area IT teams -------------------------------------------------------------------------------


def test_the_it_team_sees_todays_entries_per_area_under_theirs(testing_form, submit, area_tree, make_user):  # noqa: F811
    team = make_user("cntt.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM)
    for area in ("22453", "22453", "22711-02"):
        submit("negative", area=area)
    submit("negative", area="22384")  # another district: never counted here
    yesterday = submit("negative", area="22711-02")
    Submission.objects.filter(pk=yesterday.pk).update(created_at=timezone.now() - timedelta(days=1, hours=1))

    entry = panel(admin_home(team), "data-entry-today")

    assert "Huyện Cam Lâm: 3 submissions received today" in entry
    rows = {row.split("</a>")[0].rsplit(">", 1)[-1]: row for row in entry.split("<tr>")[2:]}
    assert set(rows) == {"Xã Suối Tân", "Thị trấn Cam Đức"}
    assert "<td>2</td>" in rows["Thị trấn Cam Đức"]
    assert "<td>1</td>" in rows["Xã Suối Tân"]
    today = timezone.localdate().isoformat()
    assert f"area={area_tree['cam_duc'].pk}&created_at_after={today}&created_at_before={today}" in entry
    assert "Nha Trang" not in entry


def test_the_data_entry_panel_is_not_for_field_staff(area_tree, make_user):
    staff = make_user("thucdia", area=area_tree["cam_lam"], role=GroupRole.ROLE_FIELD_STAFF)
    staff.user_permissions.add(*_admin_access())
    html = admin_home(staff)
    assert panel(html, "data-entry-today") == ""
    assert panel(html, "live-pages") == ""
    assert panel(html, "inbox-counts") == ""


# --- leaders -------------------------------------------------------------------------------------


def test_a_leader_finds_the_published_live_pages_first(wagtail_root, area_tree, make_user):
    leader = make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_LEADER)
    home_page = demo_home_page_ensure()
    for page_type, title, slug in [
        (MapPage, "Bản đồ dịch", "ban-do"),
        (DashboardPage, "Bảng điều hành", "bang-dieu-hanh"),
        (PublicMapPage, "Bản đồ an toàn", "ban-do-an-toan"),
    ]:
        home_page.add_child(instance=page_type(title=title, slug=slug)).save_revision().publish()
    draft = home_page.add_child(instance=MapPage(title="Bản đồ nháp", slug="nhap", live=False))
    draft.save_revision()

    html = admin_home(leader)
    live = panel(html, "live-pages")

    first_panel = html.find('<section class="w-panel')
    assert html.find('id="', first_panel) == html.find('id="live-pages-section"')
    titles = [item.split("</a>")[0].rsplit(">", 1)[-1] for item in live.split("<li>")[1:]]
    assert titles == ["Bảng điều hành", "Bản đồ dịch", "Bản đồ an toàn"]
    assert "/ban-do/" in live and "Bản đồ nháp" not in live


def test_without_live_pages_the_leader_is_told_so(area_tree, make_user):
    leader = make_user("lanhdao", area=area_tree["province"], role=GroupRole.ROLE_LEADER)
    assert "<li>" not in panel(admin_home(leader), "live-pages")
    assert panel(admin_home(leader), "live-pages")


def _admin_access():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="wagtailadmin", codename="access_admin")
