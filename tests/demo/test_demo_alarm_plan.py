"""Issue 19 item 10: in the demo out of the box, kollege1's silent alarm reaches melder (the
neighbours tier) and sicherheit (the security tier), and the plan ends in its last resort."""

import pytest
from django.contrib.auth import get_user_model

from beistand.alarms import services
from beistand.alarms.models import AlarmRecipient
from beistand.demo.services import load_demo

pytestmark = pytest.mark.django_db(transaction=True)


def test_kollege1_reaches_melder_and_sicherheit():
    load_demo()
    users = get_user_model().objects
    alarm = services.trigger(user=users.get(username="kollege1"), template="beistand",
                             source="web", countdown_s=0).alarm
    tiers = dict(AlarmRecipient.objects.filter(alarm=alarm)
                 .values_list("inbox__user__username", "tier"))
    assert tiers.get("melder") == 1, tiers
    assert tiers.get("sicherheit") == 2, tiers
    last = alarm.plan.tiers.order_by("-order").first()
    assert last.kind == "external" and last.external_phone
