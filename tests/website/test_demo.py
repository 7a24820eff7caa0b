import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from wagtail.models import Page, Site

from places.models import Area, Place, UserArea
from website.demo.load import DEMO_USERS, demo_load
from website.models import HomePage

PASSWORD = "demo-pass-2021"


def row_counts():
    return {
        model.__name__: model.objects.count()
        for model in (Area, Place, get_user_model(), Group, UserArea, Page, Site)
    }


@pytest.fixture
def demo(db):
    demo_load(password=PASSWORD)


def test_demo_loads_twice_with_the_same_row_counts(demo):
    first = row_counts()
    demo_load(password=PASSWORD)
    assert row_counts() == first
    assert first["Place"] >= 15
    assert first["User"] == len(DEMO_USERS)
    assert Area.find_problems() == ([], [], [], [], [])


def test_demo_province_has_2021_districts_and_sample_villages(demo):
    province = Area.objects.get(code="56")
    assert province.name == "Tỉnh Khánh Hòa"
    assert {a.name for a in province.get_children()} >= {
        "Huyện Cam Lâm",
        "Thị xã Ninh Hòa",
        "Thành phố Nha Trang",
    }
    villages = Area.objects.filter(level_label__in=["Thôn", "Tổ dân phố"])
    assert villages.values("path").count() >= 20
    communes_with_villages = {v.get_parent().code for v in villages}
    assert len(communes_with_villages) >= 5


def test_demo_places_cover_every_kind_needed(demo):
    kinds = set(Place.objects.values_list("kind", flat=True))
    assert kinds >= {
        Place.KIND_CHECKPOINT,
        Place.KIND_INDUSTRIAL_PARK,
        Place.KIND_QUARANTINE_FACILITY,
        Place.KIND_VACCINATION_SITE,
        Place.KIND_TESTING_SITE,
    }
    assert all(p.latitude and p.longitude for p in Place.objects.all())
    assert not Place.objects.filter(kind=Place.KIND_QUARANTINE_FACILITY, capacity__isnull=True).exists()


def test_each_demo_user_logs_in_with_an_area_and_role(demo):
    for spec in DEMO_USERS:
        user = authenticate(username=spec.username, password=PASSWORD)
        assert user is not None, spec.username
        assert UserArea.objects.get(user=user).area.code == spec.area_code
        if spec.role:
            assert user.groups.filter(product_role__role=spec.role).exists()


def test_home_page_is_the_site_root_and_serves(demo, client):
    site = Site.objects.get(is_default_site=True)
    assert isinstance(site.root_page.specific, HomePage)
    response = client.get("/")
    assert response.status_code == 200
    assert "Outbreak Desk — Khánh Hòa" in response.content.decode()


def test_admin_login_page_is_vietnamese(demo, client):
    html = client.get("/admin/login/").content.decode()
    assert "Đăng nhập" in html


def test_content_api_lists_the_home_page(demo, client):
    response = client.get("/api/v2/pages/")
    assert response.status_code == 200
    assert "Outbreak Desk — Khánh Hòa" in [item["title"] for item in response.json()["items"]]


def test_demo_password_comes_from_the_environment_or_is_kept_once_generated(monkeypatch, settings, tmp_path):
    from website.demo.load import demo_password

    monkeypatch.setenv("DEMO_PASSWORD", "tu-bien-moi-truong")
    assert demo_password() == "tu-bien-moi-truong"

    monkeypatch.delenv("DEMO_PASSWORD")
    settings.VAR_DIR = tmp_path
    generated = demo_password()
    assert len(generated) >= 12
    assert demo_password() == generated
    assert (tmp_path / "demo_password").stat().st_mode & 0o077 == 0


def test_demo_workflows_verify_positive_results_by_district_then_cdc(demo, client):
    import json
    import uuid

    from wagtail.models import APIToken

    from forms_engine.models import FormPage, Submission
    from workflows.models import Event

    testing = FormPage.objects.get(slug="ket-qua-xet-nghiem")
    assert testing.submission_workflow.name == "Xác minh kết quả xét nghiệm"
    steps = [t.specific for t in testing.submission_workflow.tasks.order_by("workflow_tasks__sort_order")]
    assert [type(s).__name__ for s in steps] == ["RuleTask", "AreaGroupApprovalTask", "AreaGroupApprovalTask"]
    assert FormPage.objects.get(slug="dieu-tra-dich-te").submission_workflow.name == "Xác nhận ca bệnh"
    release = FormPage.objects.get(slug="de-nghi-ket-thuc-cach-ly")
    assert release.submission_workflow.name == "Duyệt kết thúc cách ly"

    officer = get_user_model().objects.get(username="thucdia.vinhluong")
    _t, key = APIToken.create_token(user=officer, name="demo")

    def result(value):
        data = {
            "person": {"full_name": "Lê Thị Hoa", "birth_year": 1988},
            "test_type": "test_nhanh",
            "sample_date": "2021-08-20",
            "result": value,
        }
        body = json.dumps({"client_id": str(uuid.uuid4()), "data": data})
        response = client.post(
            "/api/v1/forms/ket-qua-xet-nghiem/submissions",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        assert response.status_code == 201, response.content
        return Submission.objects.get(pk=response.json()["id"])

    assert result("negative").status == "accepted"
    positive = result("positive")
    assert positive.status == "in_review"
    task_state = positive.current_workflow_task_state
    assert task_state.task.name == "Trung tâm Y tế huyện xác minh"
    users = get_user_model().objects.in_bulk(
        ["pheduyet.camlam", "pheduyet.nhatrang", "cdc.tinh"], field_name="username"
    )
    # The volunteer works in Vĩnh Lương (Nha Trang): Cam Lâm's health centre may not act on it.
    assert task_state.task.specific.get_actions(positive, users["pheduyet.camlam"]) == []
    assert task_state.task.specific.get_actions(positive, users["cdc.tinh"]) == []  # CDC comes later
    task_state.task.specific.on_action(task_state, users["pheduyet.nhatrang"], "approve")
    positive.refresh_from_db()
    task_state = positive.current_workflow_task_state
    assert positive.status == "in_review" and task_state.task.name == "CDC tỉnh xác nhận ca dương tính"
    task_state.task.specific.on_action(task_state, users["cdc.tinh"], "approve")
    positive.refresh_from_db()
    assert positive.status == "accepted"
    assert Event.objects.filter(kind="submission.accepted").count() == 2
