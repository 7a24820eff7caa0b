"""Builders shared by the tests: form fields as raw StreamField JSON, and published forms."""

from forms_engine.models import FormPage


def field(block_type, label, key, **value):
    """One block of a FormPage's Fields stream, as raw StreamField JSON."""
    return {"type": block_type, "value": {"label": label, "key": key, **value}}


def shown_if(key, op, value):
    return {"mode": "all", "conditions": [{"field": key, "op": op, "value": value}]}


def publish_form(parent, *, slug, fields, area, title=None, kind="checkpoint", public=False) -> FormPage:
    """A live FormPage under ``parent``, published once (which freezes version 1)."""
    form = FormPage(
        title=title or f"Form {slug}", slug=slug, kind=kind, area=area, is_public=public, fields=fields
    )
    parent.add_child(instance=form)
    form.save_revision().publish()
    form.refresh_from_db()
    return form


def approval_required(form: FormPage) -> FormPage:
    """``form`` with a one-step workflow for its submissions: approval by the approvers' group."""
    from wagtail.models import GroupApprovalTask, Workflow, WorkflowTask

    from forms_engine.selectors import live_form_forget
    from places.models import GroupRole
    from places.roles import roles_ensure

    workflow = Workflow.objects.create(name="Duyệt phiếu chốt")
    task = GroupApprovalTask.objects.create(name="Trạm Y tế huyện duyệt")
    task.groups.set([roles_ensure()[GroupRole.ROLE_APPROVER]])
    WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    form.submission_workflow = workflow
    form.save(update_fields=["submission_workflow"])
    live_form_forget()  # the cached form still has none
    return form
