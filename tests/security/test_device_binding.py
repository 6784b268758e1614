"""Re-attack of issue 16: an administrator created a device token (or an enrolment code) bound
to another person - the DPO - and triggered alarms in the DPO's name and received the alarms
meant for the DPO with their own button.

Now nobody binds a device to a holder of a privileged role but that person; a device bound to
any other person by someone else is announced to that person by mail in the same transaction,
so an unknown device in one's name is noticed."""

import pytest
from django.db import transaction

from beistand.accounts import enrolment
from beistand.accounts import services as accounts
from beistand.accounts.models import DeviceToken, EnrolmentCode, RoleGrant
from beistand.accounts.roles import Role
from beistand.core.errors import AccessDenied
from beistand.notify.models import OutgoingMail

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(make_user):
    return {"admin": make_user("admin", roles=[Role.ADMIN]),
            "dsb": make_user("dsb", roles=[Role.DPO]),
            "kollegin": make_user("kollegin")}


def test_reproduction_no_button_in_the_dpos_name(cast):
    admin, dsb = cast["admin"], cast["dsb"]
    with pytest.raises(AccessDenied) as refused:
        accounts.create_device_token(admin, "Funktaster", "button_hub", user=dsb)
    assert "koppelt nur diese Person selbst" in refused.value.detail
    with pytest.raises(AccessDenied):
        enrolment.create_codes(admin, [{"name": "PC DSB", "user": dsb}])
    assert not DeviceToken.objects.filter(user=dsb).exists()
    assert not EnrolmentCode.objects.filter(user=dsb).exists()


def test_a_device_in_a_colleagues_name_is_announced_to_them(cast):
    admin, kollegin = cast["admin"], cast["kollegin"]
    _, device = accounts.create_device_token(admin, "Funktaster Außendienst", "mobile",
                                             user=kollegin)
    mail = OutgoingMail.objects.get(reason=f"accounts:device:{device.pk}:bound")
    assert mail.to == ["kollegin@teststadt.example"]
    assert "Funktaster Außendienst" in mail.subject and "Test Admin hat am" in mail.body
    assert "sofort" in mail.body and "/konto/sicherheit/" in mail.body
    # One's own device is nobody else's business.
    accounts.create_device_token(admin, "Eigener Taster", "mobile", user=admin)
    assert OutgoingMail.objects.filter(reason__startswith="accounts:device:").count() == 1


def test_a_code_for_a_person_who_became_privileged_is_refused_at_redemption(cast, client):
    admin, kollegin = cast["admin"], cast["kollegin"]
    [(clear, _code)] = enrolment.create_codes(admin, [{"name": "PC", "user": kollegin}])
    with transaction.atomic():
        RoleGrant.objects.create(user=kollegin, role=Role.ZKS, reason="Test-Setup der Rolle")
    answer = client.post("/api/v1/devices/enrol", {"code": clear},
                         content_type="application/json")
    assert answer.status_code == 403
    assert not DeviceToken.objects.filter(user=kollegin).exists()
