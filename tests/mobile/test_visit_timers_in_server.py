"""The lone-worker timers run in the web server process itself (the scheduler's server lane),
not only in the worker: with no worker running, an overdue visit still raises its alarm."""

from datetime import timedelta

import pytest
from django.utils import timezone

from beistand.mobile import services
from beistand.mobile.models import Visit
from tests.alarms.helpers import wait_for
from tests.alarms.server_process import ServerProcess

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_overdue_visit_alarms_with_no_worker_running(people, fast_plan):
    long_ago = timezone.now() - timedelta(hours=3)
    visit = services.start(people["sender"], address="Am Markt 3", minutes=10, now=long_ago)
    assert Visit.objects.get(pk=visit.pk).state == Visit.State.RUNNING
    server = ServerProcess().start()
    try:
        alarmed = wait_for(
            lambda: Visit.objects.filter(pk=visit.pk, state=Visit.State.ALARMED).first(),
            timeout=60, what="the visit's alarm raised by the server process")
    finally:
        server.stop()
    assert alarmed.alarm is not None
    assert alarmed.alarm.client_id == f"visit-{visit.pk}"
