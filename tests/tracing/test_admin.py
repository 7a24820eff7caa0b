"""The tracing admin: persons (scoped, searchable without accents, filtered), the person page's
timeline and chain, the alerts and duplicates queues, orders with occupancy, clusters."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from forms_engine.models import Submission
from places.folding import fold
from places.models import GroupRole, Place
from tests.factories import field, publish_form
from tests.forms_engine.conftest import checkpoint_form, home  # noqa: F401
from tracing.models import (
    Alert,
    Classification,
    Cluster,
    ClusterMember,
    Contact,
    DuplicateCandidate,
    Person,
    PersonMerge,
    QuarantineOrder,
    SubmissionPerson,
)
from tracing.models import (
    TestRequest as RequestOfTest,
)

pytestmark = pytest.mark.django_db


def person(name, area=None, **fields):
    return Person.objects.create(full_name=name, name_folded=fold(name), home_area=area, **fields)


@pytest.fixture
def people(area_tree):
    return {
        "an": person(
            "Nguyễn Văn An", area_tree["dong_cau"], birth_year=1985, level="F0", phone="+84905123456"
        ),
        "binh": person("Trần Thị Bình", area_tree["cam_duc"], birth_year=1990, level="F1"),
        "cuong": person("Lê Văn Cường", area_tree["vinh_luong"], birth_year=1970, level="F2"),
        "dung": person("Phạm Thị Dung", area_tree["suoi_tan"], birth_year=2000, national_id="056184000999"),
    }


@pytest.fixture
def district(client, area_tree, make_user):
    """A Cam Lâm approver who is also on the tracing team (resolves, merges, sets levels)."""
    from django.contrib.auth.models import Group

    from website.demo.workflows import TEAM_TRACING, demo_teams_load

    user = make_user("truyvet.camlam", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER)
    demo_teams_load()
    user.groups.add(Group.objects.get(name=TEAM_TRACING))
    client.force_login(user)
    return user


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


class TestPersonListing:
    def test_is_scoped_to_the_users_area(self, client, district, people):
        html = html_of(client.get(reverse("persons:index")))
        assert "Nguyễn Văn An" in html and "Trần Thị Bình" in html
        assert "Lê Văn Cường" not in html
        assert 'lang="vi"' in html

    def test_a_person_elsewhere_answers_404(self, client, district, people):
        assert client.get(reverse("persons:inspect", args=[people["cuong"].pk])).status_code == 404

    def test_searches_without_accents_by_phone_and_by_citizen_id(self, client, district, people):
        html = html_of(client.get(reverse("persons:index"), {"q": "nguyen van an"}))
        assert "Nguyễn Văn An" in html and "Trần Thị Bình" not in html
        html = html_of(client.get(reverse("persons:index"), {"q": "0905 123 456"}))
        assert "Nguyễn Văn An" in html and "Phạm Thị Dung" not in html
        html = html_of(client.get(reverse("persons:index"), {"q": "056184000999"}))
        assert "Phạm Thị Dung" in html and "Nguyễn Văn An" not in html

    def test_filters_by_level_area_and_quarantine(self, client, district, people, area_tree):
        html = html_of(client.get(reverse("persons:index"), {"level": "F1"}))
        assert "Trần Thị Bình" in html and "Nguyễn Văn An" not in html
        html = html_of(client.get(reverse("persons:index"), {"area": area_tree["suoi_tan"].pk}))
        assert "Nguyễn Văn An" in html and "Phạm Thị Dung" in html and "Trần Thị Bình" not in html
        QuarantineOrder.objects.create(
            person=people["binh"],
            kind="home",
            area=area_tree["cam_duc"],
            start_date=timezone.localdate(),
            planned_end=timezone.localdate() + datetime.timedelta(days=7),
        )
        html = html_of(client.get(reverse("persons:index"), {"quarantine": "active"}))
        assert "Trần Thị Bình" in html and "Nguyễn Văn An" not in html
        html = html_of(client.get(reverse("persons:index"), {"quarantine": "none"}))
        assert "Trần Thị Bình" not in html and "Nguyễn Văn An" in html

    def test_an_area_outside_scope_is_no_filter_choice(self, client, district, people, area_tree):
        response = client.get(reverse("persons:index"), {"area": area_tree["vinh_luong"].pk})
        assert "Lê Văn Cường" not in response.content.decode()

    def test_merged_persons_are_hidden(self, client, district, people):
        people["dung"].merged_into = people["an"]
        people["dung"].save()
        assert "Phạm Thị Dung" not in html_of(client.get(reverse("persons:index")))
        assert client.get(reverse("persons:inspect", args=[people["dung"].pk])).status_code == 404

    def test_a_person_without_home_area_is_seen_through_an_accepted_submission(
        self,
        client,
        district,
        checkpoint_form,  # noqa: F811
        area_tree,
    ):
        nomad = person("Đỗ Văn Em")
        elsewhere = person("Hồ Thị Gấm")
        for who, area, status in ((nomad, "suoi_tan", "accepted"), (elsewhere, "suoi_tan", "in_review")):
            submission = Submission.objects.create(
                form=checkpoint_form,
                version=checkpoint_form.current_version,
                data={},
                area=area_tree[area],
                status=status,
            )
            SubmissionPerson.objects.create(submission=submission, path="traveller", person=who)
        html = html_of(client.get(reverse("persons:index")))
        assert "Đỗ Văn Em" in html and "Hồ Thị Gấm" not in html


def vaccination_form(parent, area):
    return publish_form(
        parent,
        slug="tiem-chung",
        kind="vaccination",
        area=area,
        fields=[
            field("person", "Người tiêm", "person", required=True, role="person", birth="year"),
            field(
                "single_choice",
                "Vắc xin",
                "vaccine",
                role="vaccine",
                choices=[{"value": "az", "label": "AstraZeneca"}, {"value": "vc", "label": "Vero Cell"}],
            ),
            field(
                "single_choice",
                "Mũi số",
                "dose",
                role="dose",
                choices=[{"value": "1", "label": "Mũi 1"}, {"value": "2", "label": "Mũi 2"}],
            ),
        ],
    )


class TestPersonPage:
    def test_timeline_has_every_kind_of_entry_in_time_order(
        self,
        client,
        district,
        people,
        area_tree,
        home,  # noqa: F811
        checkpoint_form,  # noqa: F811
    ):
        an = people["an"]
        checkpoint = Submission.objects.create(
            form=checkpoint_form, version=checkpoint_form.current_version, data={}, area=area_tree["suoi_tan"]
        )
        SubmissionPerson.objects.create(submission=checkpoint, path="traveller", person=an)
        vaccination = vaccination_form(home, area_tree["province"])
        shot = Submission.objects.create(
            form=vaccination,
            version=vaccination.current_version,
            data={"person": {"full_name": an.full_name}, "vaccine": "az", "dose": "2"},
            area=area_tree["suoi_tan"],
        )
        SubmissionPerson.objects.create(submission=shot, path="person", person=an)
        Classification.objects.create(person=an, level_from="", level="F0", note="xét nghiệm dương tính")
        Contact.objects.create(person=an, contact=people["binh"], setting="household", found_by="interview")
        Contact.objects.create(person=people["cuong"], contact=an, setting="workplace", found_by="interview")
        QuarantineOrder.objects.create(
            person=an,
            kind="home",
            area=area_tree["dong_cau"],
            start_date=datetime.date(2021, 7, 1),
            planned_end=datetime.date(2021, 7, 14),
        )
        RequestOfTest.objects.create(person=an, reason="f1")
        Alert.objects.create(
            key="fever:1", kind="fever", person=an, area=area_tree["dong_cau"], message="Sốt 38,5"
        )
        html = html_of(client.get(reverse("persons:inspect", args=[an.pk])))
        for text in (
            "Form khai-bao-tai-chot",
            reverse("submissions:inspect", args=[checkpoint.pk]),
            "AstraZeneca",
            "Mũi 2",
            "xét nghiệm dương tính",
            "Trần Thị Bình",
            "Sốt 38,5",
            "<svg",
            "<circle",
        ):
            assert text in html, text
        # Lê Văn Cường lives in another district: shown as a contact, without a name.
        assert "Lê Văn Cường" not in html
        assert reverse("persons:inspect", args=[people["cuong"].pk]) not in html

    def test_timeline_is_in_time_order(self, people, district):
        from tracing.selectors import person_timeline

        an = people["an"]
        later = Classification.objects.create(person=an, level="F0", note="b")
        earlier = Classification.objects.create(person=an, level="F1", note="a")
        earlier.created_at = later.created_at - datetime.timedelta(days=2)
        earlier.save()
        notes = [entry.detail for entry in person_timeline(an, user=district) if entry.kind == "level"]
        assert notes == ["a", "b"]

    def test_the_chain_is_drawn_in_columns_by_level(self, people, district):
        from tracing.selectors import chain_drawing

        an, binh, cuong = people["an"], people["binh"], people["cuong"]
        Contact.objects.create(person=an, contact=binh, setting="household", found_by="interview")
        Contact.objects.create(person=binh, contact=cuong, setting="workplace", found_by="interview")
        drawing = chain_drawing(an, user=district)
        x = {node.id: node.x for node in drawing.nodes}
        assert x[an.pk] < x[binh.pk] < x[cuong.pk]
        labels = {node.id: node.label for node in drawing.nodes}
        assert labels[binh.pk] == "Thị Bình" and "Cường" not in labels[cuong.pk]
        assert len(drawing.edges) == 2

    def test_level_change_calls_classify_and_needs_the_permission(
        self, client, district, people, monkeypatch
    ):
        calls = []
        monkeypatch.setattr(
            "tracing.classify.level_set",
            lambda p, level, *, user, note="": calls.append((p.pk, level, user, note)),
        )
        url = reverse("persons:level", args=[people["an"].pk])
        response = client.post(url, {"level": "recovered", "note": "khỏi bệnh"})
        assert response.status_code == 302
        assert calls == [(people["an"].pk, "recovered", district, "khỏi bệnh")]
        assert client.post(url, {"level": "F0"}).status_code == 302 and len(calls) == 1  # not offered
        assert client.get(url).status_code == 405
        other = reverse("persons:level", args=[people["cuong"].pk])
        assert client.post(other, {"level": "recovered"}).status_code == 404

    def test_level_change_is_recorded(self, client, district, people):
        url = reverse("persons:level", args=[people["an"].pk])
        client.post(url, {"level": "recovered", "note": "khỏi bệnh"})
        people["an"].refresh_from_db()
        assert people["an"].level == "recovered"
        change = Classification.objects.get(person=people["an"])
        assert (change.level_from, change.changed_by, change.note) == ("F0", district, "khỏi bệnh")

    def test_level_change_is_refused_without_change_permission(
        self, client, people, area_tree, make_user, monkeypatch
    ):
        monkeypatch.setattr("tracing.classify.level_set", lambda *a, **k: pytest.fail("must not be called"))
        client.force_login(make_user("pheduyet", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER))
        response = client.post(reverse("persons:level", args=[people["an"].pk]), {"level": "recovered"})
        assert response.status_code in (302, 403)
        assert "Change the level" not in html_of(
            client.get(reverse("persons:inspect", args=[people["an"].pk]))
        )


class TestAlerts:
    @pytest.fixture
    def alerts(self, people, area_tree):
        return {
            "old": Alert.objects.create(
                key="a1",
                kind="fever",
                person=people["an"],
                area=area_tree["dong_cau"],
                message="Sốt cao",
                resolved_at=timezone.now(),
            ),
            "open": Alert.objects.create(
                key="a2",
                kind="missed_checkin",
                person=people["binh"],
                area=area_tree["cam_duc"],
                message="Chưa khai",
            ),
            "far": Alert.objects.create(
                key="a3", kind="fever", person=people["cuong"], area=area_tree["vinh_luong"], message="Sốt xa"
            ),
        }

    def test_scoped_unresolved_first_and_filtered(self, client, district, alerts):
        html = html_of(client.get(reverse("alerts:index")))
        assert "Sốt xa" not in html
        assert html.index("Chưa khai") < html.index("Sốt cao")
        assert reverse("persons:inspect", args=[alerts["open"].person_id]) in html
        assert reverse("alerts:resolve", args=[alerts["open"].pk]) in html
        assert reverse("alerts:resolve", args=[alerts["old"].pk]) not in html  # resolved already
        html = html_of(client.get(reverse("alerts:index"), {"kind": "fever"}))
        assert "Sốt cao" in html and "Chưa khai" not in html

    def test_resolve(self, client, district, alerts):
        response = client.post(
            reverse("alerts:resolve", args=[alerts["open"].pk]), {"next": "/admin/alerts/"}
        )
        assert response.status_code == 302 and response["Location"] == "/admin/alerts/"
        alerts["open"].refresh_from_db()
        assert alerts["open"].resolved_at and alerts["open"].resolved_by == district
        assert client.post(reverse("alerts:resolve", args=[alerts["far"].pk])).status_code == 404
        elsewhere = client.post(
            reverse("alerts:resolve", args=[alerts["old"].pk]), {"next": "https://x.example/"}
        )
        assert elsewhere["Location"] == reverse("alerts:index")
        assert client.get(reverse("alerts:inspect", args=[alerts["far"].pk])).status_code == 404
        html = html_of(client.get(reverse("alerts:inspect", args=[alerts["open"].pk])))
        assert reverse("persons:inspect", args=[alerts["open"].person_id]) in html

    def test_resolve_needs_the_permission(self, client, alerts, area_tree, make_user):
        client.force_login(make_user("pheduyet", area=area_tree["cam_lam"], role=GroupRole.ROLE_APPROVER))
        assert "Chưa khai" in html_of(client.get(reverse("alerts:index")))
        response = client.post(reverse("alerts:resolve", args=[alerts["open"].pk]))
        assert response.status_code in (302, 403)
        alerts["open"].refresh_from_db()
        assert alerts["open"].resolved_at is None


class TestDuplicates:
    @pytest.fixture
    def pair(self, people, area_tree):
        twin = person("Nguyen Van An", area_tree["dong_cau"], birth_year=1985, national_id="056185000111")
        far = person("Le Van Cuong", area_tree["vinh_luong"], birth_year=1970)
        return {
            "here": DuplicateCandidate.objects.create(person=twin, other=people["an"], reason="same name"),
            "far": DuplicateCandidate.objects.create(person=far, other=people["cuong"], reason="same name"),
            "twin": twin,
        }

    def test_queue_is_scoped_and_compares_side_by_side(self, client, district, pair):
        html = html_of(client.get(reverse("duplicates:index")))
        assert reverse("duplicates:inspect", args=[pair["here"].pk]) in html
        assert reverse("duplicates:inspect", args=[pair["far"].pk]) not in html
        assert client.get(reverse("duplicates:inspect", args=[pair["far"].pk])).status_code == 404
        html = html_of(client.get(reverse("duplicates:inspect", args=[pair["here"].pk])))
        assert "Nguyễn Văn An" in html and "Nguyen Van An" in html and "056185000111" in html

    def test_merge_keeping_one(self, client, district, pair, people):
        response = client.post(reverse("duplicates:merge", args=[pair["here"].pk]), {"keep": people["an"].pk})
        assert response.status_code == 302
        assert response["Location"] == reverse("persons:inspect", args=[people["an"].pk])
        pair["twin"].refresh_from_db()
        assert pair["twin"].merged_into == people["an"]
        people["an"].refresh_from_db()
        assert people["an"].national_id == "056185000111"
        assert "Nguyen Van An" not in html_of(client.get(reverse("duplicates:index")))
        html = html_of(client.get(reverse("persons:inspect", args=[people["an"].pk])))
        merge = PersonMerge.objects.get()
        assert reverse("persons:merge_undo", args=[merge.pk]) in html

    def test_merge_then_undo_from_the_person_page(self, client, district, pair, people):
        client.post(reverse("duplicates:merge", args=[pair["here"].pk]), {"keep": people["an"].pk})
        merge = PersonMerge.objects.get()
        response = client.post(reverse("persons:merge_undo", args=[merge.pk]))
        assert response.status_code == 302
        pair["twin"].refresh_from_db()
        assert pair["twin"].merged_into is None and pair["twin"].national_id == "056185000111"
        again = client.post(reverse("persons:merge_undo", args=[merge.pk]))
        assert again.status_code == 302 and PersonMerge.objects.count() == 2  # refused, with a message
        from django.utils import translation

        with translation.override("vi"):
            expected = translation.gettext("This merge was already undone.")
        assert expected in [str(message) for message in again.wsgi_request._messages]

    def test_keep_must_be_one_of_the_pair(self, client, district, pair, people):
        client.post(reverse("duplicates:merge", args=[pair["here"].pk]), {"keep": people["binh"].pk})
        assert not PersonMerge.objects.exists()

    def test_not_the_same_person(self, client, district, pair):
        response = client.post(reverse("duplicates:dismiss", args=[pair["here"].pk]))
        assert response.status_code == 302
        pair["here"].refresh_from_db()
        assert pair["here"].resolved_at is not None
        assert client.post(reverse("duplicates:dismiss", args=[pair["far"].pk])).status_code == 404


class TestOrdersClustersRules:
    def test_orders_are_scoped_and_show_facility_occupancy(self, client, district, people, area_tree):
        facility = Place.objects.create(
            kind=Place.KIND_QUARANTINE_FACILITY,
            name="Khu cách ly Cam Đức",
            area=area_tree["cam_duc"],
            capacity=2,
        )
        elsewhere = Place.objects.create(
            kind=Place.KIND_QUARANTINE_FACILITY,
            name="Khu cách ly Vĩnh Lương",
            area=area_tree["vinh_luong"],
            capacity=5,
        )
        today = timezone.localdate()
        for who, place in (
            (people["an"], facility),
            (people["binh"], facility),
            (people["cuong"], elsewhere),
        ):
            QuarantineOrder.objects.create(
                person=who,
                kind="facility",
                facility=place,
                area=place.area,
                start_date=today,
                planned_end=today + datetime.timedelta(days=14),
            )
        html = html_of(client.get(reverse("quarantine_orders:index")))
        assert "Khu cách ly Cam Đức" in html and "Nguyễn Văn An" in html
        assert "Lê Văn Cường" not in html and "Khu cách ly Vĩnh Lương" not in html
        from tracing.selectors import occupancy_visible_to

        [row] = occupancy_visible_to(district)
        assert (row.active, row.full) == (2, True)
        html = html_of(client.get(reverse("quarantine_orders:index"), {"status": "completed"}))
        assert "Nguyễn Văn An" not in html

    def test_clusters_listed_with_counts(self, client, district, people, area_tree):
        park = Place.objects.create(
            kind=Place.KIND_INDUSTRIAL_PARK, name="KCN Suối Dầu", area=area_tree["suoi_tan"]
        )
        cluster = Cluster.objects.create(name="KCN Suối Dầu — xưởng may", place=park, workshop="xưởng may")
        for who in (people["an"], people["binh"], people["dung"]):
            ClusterMember.objects.create(cluster=cluster, person=who)
        html = html_of(client.get(reverse("clusters:index")))
        assert "KCN Suối Dầu — xưởng may" in html
        from tracing.selectors import clusters_counted, clusters_visible_to

        [found] = clusters_counted(clusters_visible_to(district))
        assert (found.counts["members"], found.counts["F0"], found.counts["F1"]) == (3, 1, 1)
        assert re.search(r"<td[^>]*>\s*3\s*</td>", html)  # the members column, filled in

    def test_order_and_cluster_pages_are_scoped(self, client, district, people, area_tree):
        today = timezone.localdate()
        week = {"kind": "home", "start_date": today, "planned_end": today + datetime.timedelta(days=7)}
        here = QuarantineOrder.objects.create(person=people["an"], area=area_tree["dong_cau"], **week)
        far = QuarantineOrder.objects.create(person=people["cuong"], area=area_tree["vinh_luong"], **week)
        assert client.get(reverse("quarantine_orders:inspect", args=[here.pk])).status_code == 200
        assert client.get(reverse("quarantine_orders:inspect", args=[far.pk])).status_code == 404
        park = Place.objects.create(
            kind=Place.KIND_INDUSTRIAL_PARK, name="KCN Vĩnh Lương", area=area_tree["vinh_luong"]
        )
        cluster = Cluster.objects.create(name="KCN Vĩnh Lương", place=park)
        assert client.get(reverse("clusters:inspect", args=[cluster.pk])).status_code == 404
        assert "KCN Vĩnh Lương" not in html_of(client.get(reverse("clusters:index")))

    def test_province_admin_edits_quarantine_rules(self, client, area_tree, make_user):
        client.force_login(
            make_user("quantri", area=area_tree["province"], role=GroupRole.ROLE_PROVINCE_ADMIN)
        )
        response = client.post(
            reverse("quarantine_rules:add"),
            {"level": "F1", "kind": "facility", "days": "14", "self_monitoring_days": "7"},
        )
        assert response.status_code == 302
        html = html_of(client.get(reverse("wagtailadmin_home")))
        for label in ("persons:index", "alerts:index", "duplicates:index", "quarantine_orders:index"):
            assert reverse(label) in html
