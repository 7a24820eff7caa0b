"""WAGTAIL_FINISH_WORKFLOW_ACTION, imported by Wagtail while its models load: no model imports
at module level."""


def workflow_finish(workflow_state, user=None):
    """The end of an approved workflow publishes its object.

    For a submission the workflow's approval is the authority: its last approver publishes
    it without holding the "publish" permission, which would let them skip the workflow.
    Pages (guidance) keep Wagtail's own behaviour.
    """
    from wagtail.workflows import publish_workflow_state

    from forms_engine.models import Submission

    obj = workflow_state.content_object
    if isinstance(obj, Submission):
        obj.get_latest_revision().publish(user=user, skip_permission_checks=True)
    else:
        publish_workflow_state(workflow_state, user=user)
