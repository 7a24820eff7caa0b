"""The demo province's review teams and approval workflows (FORMS-REFERENCE.md, "Demo workflows").

Rights come from each user's role group (the approver role); a *team* group says which
workflow steps its members act on, and the area-scoped steps keep each member to their own
area. The tracing team also carries the rights of its own work (TEAM_PERMISSIONS). Made
idempotently by name, as an admin would have made them in Settings › Workflows.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from wagtail.models import Workflow, WorkflowTask

from workflows.tasks import AreaGroupApprovalTask, RuleTask

TEAM_HEALTH_CENTRE = "Trung tâm Y tế huyện"
TEAM_CDC = "CDC tỉnh"
TEAM_TRACING = "Tổ truy vết huyện"
TEAM_FACILITY_HEADS = "Trưởng khu cách ly"
TEAMS = (TEAM_HEALTH_CENTRE, TEAM_CDC, TEAM_TRACING, TEAM_FACILITY_HEADS)

WORKFLOW_TEST_RESULT = "Xác minh kết quả xét nghiệm"
WORKFLOW_CASE_CONFIRMATION = "Xác nhận ca bệnh"
WORKFLOW_QUARANTINE_RELEASE = "Duyệt kết thúc cách ly"


# What a team does beyond its members' role: the tracing team resolves alerts, merges
# duplicate persons and sets levels explicitly (always within its members' areas).
TEAM_PERMISSIONS = {
    TEAM_TRACING: (
        "tracing.view_person",
        "tracing.change_person",
        "tracing.view_alert",
        "tracing.change_alert",
        "tracing.view_duplicatecandidate",
        "tracing.change_duplicatecandidate",
        "tracing.view_personmerge",
        "tracing.add_personmerge",
        "tracing.view_quarantineorder",
        "tracing.view_cluster",
    ),
}


def demo_teams_load() -> dict[str, Group]:
    teams = {name: Group.objects.get_or_create(name=name)[0] for name in TEAMS}
    for name, permissions in TEAM_PERMISSIONS.items():
        teams[name].permissions.add(*_permissions(permissions))
    return teams


def _permissions(names) -> list[Permission]:
    query = Q()
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


def demo_workflows_load(teams: dict[str, Group]) -> dict[str, Workflow]:
    """The three demo workflows, by name; their steps in order."""
    negative = task(
        RuleTask,
        "Âm tính: tự động duyệt",
        condition={"all": [{"field": "result", "op": "eq", "value": "negative"}]},
        otherwise=RuleTask.OTHERWISE_PASS_ON,
    )
    health_centre = area_approval("Trung tâm Y tế huyện xác minh", teams[TEAM_HEALTH_CENTRE], due_hours=4)
    cdc = area_approval("CDC tỉnh xác nhận ca dương tính", teams[TEAM_CDC], due_hours=8)
    tracing = area_approval("Tổ truy vết huyện xác nhận", teams[TEAM_TRACING], due_hours=12)
    facility = area_approval("Trưởng khu cách ly duyệt", teams[TEAM_FACILITY_HEADS], due_hours=24)
    return {
        WORKFLOW_TEST_RESULT: workflow(WORKFLOW_TEST_RESULT, [negative, health_centre, cdc]),
        WORKFLOW_CASE_CONFIRMATION: workflow(WORKFLOW_CASE_CONFIRMATION, [tracing]),
        WORKFLOW_QUARANTINE_RELEASE: workflow(WORKFLOW_QUARANTINE_RELEASE, [facility]),
    }


def task(model, name: str, **fields):
    found, _ = model.objects.update_or_create(name=name, defaults={"active": True, **fields})
    return found


def area_approval(name: str, team: Group, *, due_hours: int) -> AreaGroupApprovalTask:
    found = task(AreaGroupApprovalTask, name, due_hours=due_hours)
    found.groups.set([team])
    return found


def workflow(name: str, steps: list) -> Workflow:
    found, _ = Workflow.objects.update_or_create(name=name, defaults={"active": True})
    WorkflowTask.objects.filter(workflow=found).exclude(task__in=steps).delete()
    for order, step in enumerate(steps):
        WorkflowTask.objects.update_or_create(workflow=found, task=step, defaults={"sort_order": order})
    return found
