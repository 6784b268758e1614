"""Supervision of the silent alarm, run by the worker every housekeeping round (a minute; the
``ops.supervision`` job). Operational monitoring, hence in ops: it reads the alarm's own checks
(``beistand.alarms.supervision``) and keeps the alerts and probe runs (``ops.models``).

An alarm function that is silently broken is worse than none. Three conditions raise a
**technical alert** to the administrators (e-mail to every holder of the admin role, and an
SMS to ``BEISTAND_ONCALL_PHONE`` when an SMS gateway is set):

- **coverage**: during the supervision hours, a unit whose staff's alarm plan has nobody online
  in its first tier (only units whose staff use the alarm, i.e. have an alarm inbox);
- **sms**: the SMS gateway failed ``BEISTAND_SUPERVISION_SMS_FAILURES`` times in a row;
- **probe**: the daily synthetic Probealarm (``BEISTAND_PROBE_TIME``) failed: a system device
  connects to the server's alarm WebSocket, presses its trigger URL with the Probealarm
  template, and must get its own alarm pushed back; the alarm and its stored event are checked,
  then the alarm is ended and the device revoked.

Each condition is alerted once (``TechnicalAlert`` with its key) until it clears; then a
"behoben" message follows. Alert texts name units by code and never persons.
"""

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from beistand.accounts.models import DeviceToken, RoleGrant
from beistand.accounts.roles import Role
from beistand.alarms import services as alarms
from beistand.alarms.models import Alarm, InboxEvent
from beistand.alarms.supervision import queue_oncall_sms, sms_failure_streak, uncovered_units
from beistand.audit import services as audit
from beistand.notify.services import enqueue_mail
from beistand.ops.models import ProbeRun, TechnicalAlert

logger = logging.getLogger("beistand.alarms.supervision")

SYSTEM_ACTOR = audit.Actor(user=None, label="system:alarmüberwachung")
PROBE_USERNAME = "beistand-systempruefung"
PROBE_RETRY = timedelta(hours=1)


@dataclass
class Supervision:
    raised: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    probe: ProbeRun | None = None


# --- Schedule helpers -------------------------------------------------------------------------

def _hhmm(text: str):
    hours, _, minutes = text.strip().partition(":")
    return int(hours), int(minutes or 0)


def in_supervision_hours(now) -> bool:
    local = timezone.localtime(now)
    days = {int(d) for d in settings.SUPERVISION_WEEKDAYS if d.strip().isdigit()}
    if local.isoweekday() not in days:
        return False
    start, _, end = settings.SUPERVISION_HOURS.partition("-")
    try:
        start_t, end_t = _hhmm(start), _hhmm(end)
    except ValueError:
        logger.warning("BEISTAND_SUPERVISION_HOURS ist ungültig; Abdeckung wird nicht geprüft")
        return False
    return start_t <= (local.hour, local.minute) < end_t


# --- Alerts -------------------------------------------------------------------------------------

def _raise(key: str, text: str, now) -> bool:
    """True when this is a new alert (none open for ``key``)."""
    updated = TechnicalAlert.objects.filter(key=key, cleared_at__isnull=True).update(
        last_seen_at=now)
    if updated:
        return False
    TechnicalAlert.objects.create(key=key, text=text[:500], raised_at=now, last_seen_at=now)
    return True


def _clear(key_prefix: str, keep: set[str], now) -> list[TechnicalAlert]:
    open_alerts = [a for a in TechnicalAlert.objects.filter(key__startswith=key_prefix,
                                                             cleared_at__isnull=True)
                   if a.key not in keep]
    for alert in open_alerts:
        alert.cleared_at = now
        alert.save(update_fields=["cleared_at"])
    return open_alerts


def admin_addresses() -> list[str]:
    grants = (RoleGrant.objects.active().filter(role=Role.ADMIN, user__is_active=True)
              .select_related("user"))
    return sorted({g.user.email for g in grants if g.user.email})


def _notify(raised: list[TechnicalAlert], cleared: list[TechnicalAlert]) -> None:
    """One e-mail (and one SMS) per round for everything raised or cleared in it."""
    if not raised and not cleared:
        return
    if raised:
        subject = f"beistand: technische Warnung – {raised[0].text}"
        if len(raised) > 1:
            subject = f"beistand: {len(raised)} technische Warnungen"
    else:
        subject = f"beistand: behoben – {cleared[0].text}"
        if len(cleared) > 1:
            subject = f"beistand: {len(cleared)} technische Warnungen behoben"
    addresses = admin_addresses()
    with audit.acting_as(SYSTEM_ACTOR):
        if addresses:
            enqueue_mail(addresses, subject, "technical_alert",
                         {"raised": raised, "cleared": cleared},
                         reason="Technische Warnung (Alarmüberwachung)")
        else:
            logger.warning("Technische Warnung ohne Empfänger: keine Administration mit "
                           "E-Mail-Adresse")
        if settings.ONCALL_PHONE and settings.SMS_PROVIDER != "none":
            lines = [f"WARNUNG {a.text}" for a in raised] + [f"BEHOBEN {a.text}"
                                                              for a in cleared]
            queue_oncall_sms(settings.ONCALL_PHONE, "beistand: " + "; ".join(lines))
    for alert in raised:
        logger.warning("Technische Warnung %s: %s", alert.key, alert.text)
    for alert in cleared:
        logger.info("Technische Warnung behoben %s", alert.key)


# --- The round ----------------------------------------------------------------------------------

def run(now=None, *, probe: bool = True) -> Supervision:
    """Check every condition, alert what is new, announce what cleared."""
    now = now or timezone.now()
    result = Supervision()
    if probe and probe_due(now):
        result.probe = run_probe(now=now)
    raised_rows, cleared_rows = [], []
    with transaction.atomic(), audit.acting_as(SYSTEM_ACTOR):
        # Coverage: only judged within the supervision hours; outside them it stays as it was.
        if in_supervision_hours(now):
            units = set(uncovered_units(now))
            keys = {f"coverage:{code}" for code in units}
            for code in sorted(units):
                text = (f"Einheit {code}: niemand aus der ersten Alarmstufe ist erreichbar "
                        "(kein Alarm-Client verbunden)")
                if _raise(f"coverage:{code}", text, now):
                    raised_rows.append(f"coverage:{code}")
            cleared_rows += _clear("coverage:", keys, now)
        # SMS gateway: N failures in a row raise, the first success clears.
        if settings.SMS_PROVIDER != "none":
            streak = sms_failure_streak()
            if streak >= settings.SUPERVISION_SMS_FAILURES:
                if _raise("sms", f"SMS-Gateway: {streak} Sendeversuche in Folge "
                                 "fehlgeschlagen", now):
                    raised_rows.append("sms")
            elif streak == 0:
                cleared_rows += _clear("sms", set(), now)
        # The last synthetic Probealarm decides the probe condition.
        last = ProbeRun.objects.order_by("-started_at").first()
        if last is not None and not last.ok:
            if _raise("probe", f"Probealarm der Systemprüfung fehlgeschlagen: {last.detail}"[
                    :500], now):
                raised_rows.append("probe")
        elif last is not None:
            cleared_rows += _clear("probe", set(), now)
        raised = list(TechnicalAlert.objects.filter(key__in=raised_rows,
                                                    cleared_at__isnull=True))
        _notify(raised, cleared_rows)
    result.raised = [a.key for a in raised]
    result.cleared = [a.key for a in cleared_rows]
    return result


# --- Synthetic Probealarm -----------------------------------------------------------------------

def probe_due(now) -> bool:
    if not settings.PROBE_TIME.strip():
        return False
    try:
        hour, minute = _hhmm(settings.PROBE_TIME)
    except ValueError:
        logger.warning("BEISTAND_PROBE_TIME ist ungültig (HH:MM erwartet)")
        return False
    local = timezone.localtime(now)
    if (local.hour, local.minute) < (hour, minute):
        return False
    day_start = timezone.make_aware(datetime(local.year, local.month, local.day),
                                    timezone.get_current_timezone())
    last = (ProbeRun.objects.filter(started_at__gte=day_start,
                                    started_at__lt=day_start + timedelta(days=1))
            .order_by("-started_at").first())
    # Once a day; a failed probe is repeated hourly until it passes (and the alert clears).
    return last is None or (not last.ok and now - last.started_at >= PROBE_RETRY)


def _probe_user():
    User = get_user_model()
    user = User.objects.filter(username=PROBE_USERNAME).first()
    if user is None:
        user = User(username=PROBE_USERNAME, first_name="Systemprüfung", is_active=True)
        user.set_unusable_password()
        user.save()
    return user


def run_probe(base_url: str | None = None, now=None, timeout: float | None = None) -> ProbeRun:
    """Trigger a Probealarm from a system device over HTTP and receive it over the alarm
    WebSocket of the server at ``base_url``. Stored as a ProbeRun (ok or with the failing step).
    """
    from beistand.accounts.services import DEVICE_TOKEN_PREFIX
    from beistand.accounts.tokens import new_secret

    base = (base_url or settings.PROBE_URL or settings.BASE_URL).rstrip("/")
    timeout = float(timeout or settings.PROBE_TIMEOUT_SECONDS)
    started = time.monotonic()
    run = ProbeRun(started_at=now or timezone.now())
    device = None
    step = "Server erreichbar (/health/live)"
    try:
        _get(f"{base}/health/live", timeout=min(timeout, 5))
        step = "Systemgerät anlegen"
        clear, prefix, digest = new_secret(DEVICE_TOKEN_PREFIX)
        with transaction.atomic(), audit.acting_as(SYSTEM_ACTOR):
            user = _probe_user()
            device = DeviceToken.objects.create(
                name="Systemprüfung (täglicher Probealarm)", kind=DeviceToken.Kind.WORKSTATION,
                user=user, prefix=prefix, token_hash=digest)
        step = "Alarm-WebSocket verbinden"
        run.alarm_id = _probe_round_trip(base, clear, timeout)
        step = "Alarm und Ereignis gespeichert"
        alarm = Alarm.objects.filter(pk=run.alarm_id).select_related("template").first()
        if alarm is None or not alarm.template.test or alarm.persisted_at is None:
            raise RuntimeError("Alarm nicht gespeichert")
        if not InboxEvent.objects.filter(alarm_id=alarm.pk, kind="alarm",
                                         inbox__user=device.user).exists():
            raise RuntimeError("Ereignis nicht gespeichert")
        step = "Probealarm beenden"
        alarms.resolve(device.user, alarm.pk, note="Systemprüfung erfolgreich")
        run.ok = True
        run.detail = "Auslösung, Speicherung, Zustellung und Empfang geprüft"
    except Exception as exc:
        run.ok = False
        run.detail = f"{step}: {_describe(exc)}"[:500]
        logger.warning("Probealarm der Systemprüfung fehlgeschlagen bei „%s“: %s", step,
                       type(exc).__name__)
    finally:
        if device is not None:
            with transaction.atomic(), audit.acting_as(SYSTEM_ACTOR):
                device.revoked_at = timezone.now()
                device.save(update_fields=["revoked_at"])
    run.seconds = round(time.monotonic() - started, 3)
    run.save()
    if run.ok:
        logger.info("Probealarm der Systemprüfung erfolgreich (Alarm %s, %.2f s)", run.alarm_id,
                    run.seconds)
    return run


def _describe(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, TimeoutError):
        return "Zeitüberschreitung"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}{': ' + text[:200] if text else ''}"


def _get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (configuration)
        return response.read(65536)


def _probe_round_trip(base: str, token: str, timeout: float) -> int:
    """Connect, resume, trigger over HTTP, wait for the own alarm event, receipt it."""
    from websockets.sync.client import connect

    ws_url = "ws" + base[len("http"):] if base.startswith("http") else base
    deadline = time.monotonic() + timeout
    with connect(f"{ws_url}/ws/v1/alarms", additional_headers={
            "Authorization": f"Bearer {token}"}, open_timeout=min(timeout, 10)) as ws:
        hello = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if hello.get("type") != "hello":
            raise RuntimeError("keine Begrüßung vom Alarm-Server")
        last = int(hello.get("last_event_id") or 0)
        ws.send(json.dumps({"type": "resume", "last_event_id": last}))
        query = urllib.parse.urlencode({"template": "probealarm", "source": "desktop",
                                        "client_id": f"probe-{int(time.time())}"})
        request = urllib.request.Request(  # noqa: S310 (configuration)
            f"{base}/api/v1/trigger/{token}?{query}", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=max(0.1, deadline - time.monotonic())  # noqa: S310
                                    ) as response:
            answer = json.loads(response.read())
        alarm_id = int(answer["id"])
        if answer.get("template") != "probealarm":
            raise RuntimeError(f"Server löste Vorlage {answer.get('template')!r} aus")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("Probealarm nicht über den WebSocket empfangen")
            frame = json.loads(ws.recv(timeout=remaining))
            if "event_id" not in frame:
                continue
            ws.send(json.dumps({"type": "receipt", "event_id": frame["event_id"]}))
            if frame.get("type") == "alarm" and _alarm_id(frame) == alarm_id:
                return alarm_id


def _alarm_id(frame: dict):
    alarm = frame.get("alarm")
    if isinstance(alarm, dict):
        return alarm.get("id")
    return frame.get("alarm_id")
