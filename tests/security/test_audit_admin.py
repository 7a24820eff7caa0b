"""The access log's admin screen: read-only, for superusers and province admins (records of the
users in their area), turned away for every other role; exporting it is itself recorded."""

import pytest
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse

from audit.models import AccessRecord
from audit.services import access_record
from places.models import GroupRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(area_tree, make_user):
    return {
        "root": make_user("quantri.he.thong", superuser=True),
        "province_admin": make_user(
            "quantri.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_PROVINCE_ADMIN
        ),
        "cam_lam": make_user("truyvet.suoitan", area=area_tree["suoi_tan"], role=GroupRole.ROLE_APPROVER),
        "nha_trang": make_user("truyvet.nhatrang", area=area_tree["nha_trang"], role=GroupRole.ROLE_APPROVER),
        "it_team": make_user("cntt.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_AREA_IT_TEAM),
        "leader": make_user("lanhdao.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_LEADER),
    }


@pytest.fixture
def records(users):
    """One record by a user in Cam Lâm, one by a user in Nha Trang."""

    def made(user, object_id):
        request = RequestFactory().get(f"/admin/persons/inspect/{object_id}/", REMOTE_ADDR="10.0.0.8")
        request.user = user
        return access_record(request=request, action="view", kind="person", object_id=object_id)

    return {"cam_lam": made(users["cam_lam"], "4101"), "nha_trang": made(users["nha_trang"], "5202")}


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_superuser_reads_every_record(users, records):
    html = client_of(users["root"]).get(reverse("access_log:index")).content.decode()

    assert "4101" in html and "5202" in html


def test_a_province_admin_reads_the_records_of_users_in_their_area_only(users, records):
    client = client_of(users["province_admin"])

    listing = client.get(reverse("access_log:index"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "truyvet.suoitan" in html and "truyvet.nhatrang" not in html
    assert client.get(reverse("access_log:inspect", args=[records["cam_lam"].pk])).status_code == 200
    assert client.get(reverse("access_log:inspect", args=[records["nha_trang"].pk])).status_code == 404


def test_filters_and_search(users, records):
    client = client_of(users["root"])

    by_user = client.get(reverse("access_log:index"), {"user": users["nha_trang"].pk}).content.decode()
    by_search = client.get(reverse("access_log:index"), {"q": "4101"}).content.decode()
    by_outcome = client.get(reverse("access_log:index"), {"outcome": "refused"}).content.decode()

    assert "5202" in by_user and "4101" not in by_user
    assert "4101" in by_search and "5202" not in by_search
    assert "4101" not in by_outcome and "5202" not in by_outcome


@pytest.mark.parametrize("role", ["cam_lam", "it_team", "leader"])
def test_other_roles_are_turned_away_as_the_admin_turns_away_any_missing_permission(users, records, role):
    client = client_of(users[role])

    listing = client.get(reverse("access_log:index"))
    detail = client.get(reverse("access_log:inspect", args=[records["cam_lam"].pk]))

    # Wagtail answers a missing model permission with a redirect to the dashboard and a message.
    assert listing.status_code == 302 and listing.url == reverse("wagtailadmin_home")
    assert detail.status_code in (302, 404)
    assert "4101" not in client.get(reverse("wagtailadmin_home")).content.decode()


def test_there_is_no_way_to_add_edit_or_delete_a_record(users, records):
    for name, args in (("add", []), ("edit", [records["cam_lam"].pk]), ("delete", [records["cam_lam"].pk])):
        with pytest.raises(NoReverseMatch):
            reverse(f"access_log:{name}", args=args)
    client = client_of(users["root"])
    html = client.get(reverse("access_log:index")).content.decode()
    assert "/edit/" not in html and "/delete/" not in html and "/add/" not in html
    pk = records["cam_lam"].pk
    for path in (
        f"/admin/access_log/{pk}/",
        f"/admin/access_log/edit/{pk}/",
        f"/admin/access_log/delete/{pk}/",
    ):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code == 404
    assert AccessRecord.objects.filter(outcome="refused").count() == 6  # each probe recorded
    assert AccessRecord.objects.filter(pk__in=[r.pk for r in records.values()]).count() == 2  # none deleted


def test_exporting_the_access_log_is_itself_recorded(users, records):
    response = client_of(users["province_admin"]).get(reverse("access_log:index"), {"export": "csv"})

    content = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "4101" in content and "5202" not in content
    export = AccessRecord.objects.get(action="export")
    assert (export.user, export.kind, export.outcome) == (
        users["province_admin"],
        "export:audit.accessrecord",
        "exported",
    )
    assert "rows=2" in export.detail  # the Cam Lâm user's view and the admin's own login
