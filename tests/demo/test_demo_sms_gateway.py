"""The demo's SMS gateway (issue 19 item 10): a real HTTP server on loopback that the alarm's
generic JSON SMS provider sends to, with a page listing what it "sent"."""

import urllib.request

import pytest

from beistand.alarms import sms
from beistand.alarms.models import SmsMessage
from beistand.demo.sms_gateway import DemoGateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_gateway(settings):
    gateway = DemoGateway().start()
    settings.SMS_PROVIDER = "http"
    settings.SMS_HTTP_URL = f"{gateway.url}/send"
    yield gateway
    gateway.stop()


def test_the_alarm_sms_provider_sends_to_it_and_the_page_lists_it(demo_gateway):
    row = SmsMessage.objects.create(direction="out", phone="+491712222222", state="queued",
                                    text="ALARM Nr. 7 Beistand, 07.12. 12:00 Uhr. Ort: <1.01>")
    assert sms.send_one(row.pk) == "sent"
    row.refresh_from_db()
    assert row.state == "sent" and row.gateway_id == "demo-1"
    with urllib.request.urlopen(demo_gateway.url + "/", timeout=5) as resp:
        page = resp.read().decode()
    assert "+491712222222" in page and "ALARM Nr. 7" in page
    assert "&lt;1.01&gt;" in page and "<1.01>" not in page  # escaped


def test_bad_requests_are_refused(demo_gateway):
    request = urllib.request.Request(demo_gateway.url + "/send", data=b"kein json",
                                     method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=5)
    assert err.value.code == 400
    assert demo_gateway.sent == []
