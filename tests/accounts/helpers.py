"""Helpers for the accounts tests: real TOTP devices and codes, verified sessions."""

import time

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD


def totp_device(user, confirmed=True) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Test-App", confirmed=confirmed)


def code_for(device: TOTPDevice, offset_steps: int = 0) -> str:
    """The code the authenticator app shows now (or ``offset_steps`` steps later)."""
    device.refresh_from_db()
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time() + offset_steps * device.step
    return f"{generator.token():0{device.digits}d}"


def fresh_code(device: TOTPDevice) -> str:
    """A code django-otp has not seen yet (it refuses replays of the same time step)."""
    device.refresh_from_db()
    if device.last_t >= int((time.time() - device.t0) // device.step):
        return code_for(device, offset_steps=1)  # within the default tolerance of one step
    return code_for(device)


def wrong_code(device: TOTPDevice) -> str:
    right = {code_for(device, k) for k in (-1, 0, 1)}
    for candidate in ("000000", "111111", "222222", "333333"):
        if candidate not in right:
            return candidate
    raise AssertionError("unreachable")


def login_verified(client, user):
    """A browser session that has passed password and second factor."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or totp_device(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def password_login(client, username, password=PASSWORD, next_url=None):
    data = {"username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/konto/anmelden/", data)


def audit_mark() -> int:
    """The newest audit sequence number (to look only at what a test step wrote)."""
    from beistand.audit.models import AuditEvent

    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def actions_since(mark: int) -> list[str]:
    from beistand.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(seq__gt=mark).order_by("seq")
                .values_list("action", flat=True))
