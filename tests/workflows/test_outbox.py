"""The outbox: an accepted submission's event is stored with it and its jobs run exactly once,
whatever Redis and the relays do. Real Redis, a real RQ worker (burst mode)."""

import json
import uuid

import pytest
from django.test import Client

from forms_engine.models import Submission
from tests.asgi_client import AsgiClient
from tests.workflows.conftest import burst
from workflows.events import SUBMISSION_ACCEPTED, handlers_for, submission_of
from workflows.models import Event, EventHandled
from workflows.outbox import relay_pending, stuck_relay, sweep

pytestmark = pytest.mark.django_db(transaction=True)

VALID = {"traveller": {"full_name": "Trần Thị Bình", "birth_year": 1990}, "direction": "out"}


def submit(client, form, bearer, data=VALID):
    body = json.dumps({"client_id": str(uuid.uuid4()), "data": data})
    return client.post(
        f"/api/v1/forms/{form.slug}/submissions", body, content_type="application/json", **bearer
    )


@pytest.mark.parametrize("client_class", [Client, AsgiClient], ids=["django", "lane"])
def test_an_accepted_submission_brings_its_event(client_class, postgres, queues, checkpoint_form, bearer):
    response = submit(client_class(), checkpoint_form, bearer)
    assert response.status_code == 201
    event = Event.objects.get()
    assert event.kind == SUBMISSION_ACCEPTED
    submission = Submission.objects.get(pk=response.json()["id"])
    assert event.key == f"submission.accepted:{submission.form_id}:{submission.client_id}"
    assert submission_of(event) == submission
    assert event.relayed_at is None  # the scheduler relays it, not the request


def test_a_replayed_submission_records_no_second_event(postgres, queues, checkpoint_form, bearer):
    client_id = str(uuid.uuid4())
    body = json.dumps({"client_id": client_id, "data": VALID})
    url = f"/api/v1/forms/{checkpoint_form.slug}/submissions"
    for client in (Client(), AsgiClient(), Client()):
        client.post(url, body, content_type="application/json", **bearer)
    assert Event.objects.count() == 1


def test_relayed_twice_the_job_runs_once(postgres, counting_handler, checkpoint_form, bearer):
    submit(Client(), checkpoint_form, bearer)
    event = Event.objects.get()

    assert relay_pending() == 1
    Event.objects.update(relayed_at=None)  # as if the relay crashed before recording its work
    assert relay_pending() == 1
    burst()

    assert counting_handler(event) == 1
    handled = EventHandled.objects.filter(event=event)
    assert [h.result for h in handled if h.handler.endswith("count_runs")] == [{"counted": event.pk}]
    event.refresh_from_db()
    assert event.done_at is not None


def test_a_failing_handler_does_not_hold_back_the_other_handlers_of_its_queue(
    postgres, counting_handler, checkpoint_form, bearer
):
    from workflows.events import handles, unregister

    @handles(SUBMISSION_ACCEPTED, queue="tracing")
    def always_fails(event):
        raise RuntimeError("broken handler")

    try:
        submit(Client(), checkpoint_form, bearer)
        relay_pending()
        burst()
    finally:
        unregister(SUBMISSION_ACCEPTED, f"{always_fails.__module__}.{always_fails.__qualname__}")
    event = Event.objects.get()
    assert counting_handler(event) == 1  # the same job ran it, after or before the failure
    handlers = set(EventHandled.objects.filter(event=event).values_list("handler", flat=True))
    assert not any(name.endswith("always_fails") for name in handlers)
    event.refresh_from_db()
    assert event.done_at is None  # RQ retries the job later; what is handled is skipped then


def test_redis_down_loses_nothing_and_the_relay_delivers_every_event_once_after(
    postgres, counting_handler, checkpoint_form, bearer, redis_down, settings
):
    statuses = {submit(AsgiClient(), checkpoint_form, bearer).status_code for _ in range(100)}
    statuses |= {submit(Client(), checkpoint_form, bearer).status_code for _ in range(100)}
    assert statuses == {201}
    assert Submission.objects.count() == Event.objects.count() == 200

    assert relay_pending() == 0  # Redis is down: nothing relayed, nothing lost, no exception
    assert Event.objects.filter(relayed_at=None).count() == 200

    settings.RQ_QUEUES = {name: {**c, "URL": queues_url()} for name, c in settings.RQ_QUEUES.items()}
    assert sweep()["relayed"] == 200
    burst()
    assert [counting_handler(e) for e in Event.objects.all()] == [1] * 200
    assert Event.objects.filter(done_at=None).count() == 0


def test_a_job_lost_by_redis_is_relayed_again_by_the_sweep(
    postgres, counting_handler, checkpoint_form, bearer, queues
):
    from datetime import timedelta

    submit(Client(), checkpoint_form, bearer)
    relay_pending()
    queues["default"].connection.flushdb()  # Redis restarted without its data
    queues_of_handlers = {handler.queue for handler in handlers_for(SUBMISSION_ACCEPTED)}
    assert stuck_relay(older_than=timedelta(0)) == len(queues_of_handlers)  # every job, one a queue
    burst()
    event = Event.objects.get()
    assert counting_handler(event) == 1
    assert stuck_relay(older_than=timedelta(0)) == 0  # done: nothing more to relay


def queues_url() -> str:
    import os

    return os.environ["REDIS_URL"]


def test_failed_jobs_are_visible_to_superusers_only(client, make_user, area_tree, wagtail_root, redis_url):
    from django.urls import reverse

    admin = make_user("quantri", superuser=True)
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    jobs = reverse("admin:django_rq_dashboard_changelist")
    assert jobs in client.get("/admin/").content.decode()
    assert client.get(jobs).status_code == 200
    assert client.get(reverse("admin:django_rq_failed_jobs", args=[0])).status_code == 200
    staff = make_user("it", area=area_tree["cam_lam"])
    staff.is_staff = True  # staff but not superuser: still kept out
    staff.save()
    client.force_login(staff)
    assert jobs not in client.get("/admin/").content.decode()
    assert client.get(jobs).status_code == 302
