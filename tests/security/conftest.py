"""One shared data set for the security tests: the demo body (every role has an account, reports
in every state, register persons), plus one object of every kind a URL can name, an API token
per role and a logged-in browser (second factor passed) per role.

It is built once per test module inside a transaction that is rolled back at the end; every test
runs in a savepoint inside it (pytest-django's ``db``), so what a test changes is undone too.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from beistand.accounts.models import ApiToken, DeviceToken, EnrolmentCode, RoleGrant
from beistand.accounts.tokens import USER_TOKEN_PREFIX, new_secret
from beistand.demo.services import load_demo

# The roles of the matrix and the demo account that holds each (anonymous: nobody logged in).
ACCOUNTS = {
    "anonymous": None,
    "reporter": "melder",
    "supervisor": "vorgesetzte",
    "personnel": "personal",
    "zks": "zks",
    "querier": "abfrage",
    "statistics": "statistik",
    "dpo": "dsb",
    "security": "sicherheit",
    "admin": "admin",
}
ROLES = tuple(ACCOUNTS)

# A PNG of one pixel: the smallest upload the attachment check accepts.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


@dataclass
class World:
    users: dict = field(default_factory=dict)        # role -> User (None for anonymous)
    headers: dict = field(default_factory=dict)      # role -> extra request headers (bearer)
    browsers: dict = field(default_factory=dict)     # role -> logged-in test Client
    ids: dict = field(default_factory=dict)          # URL argument name -> value


def _token(user) -> str:
    clear, prefix, digest = new_secret(USER_TOKEN_PREFIX)
    ApiToken.objects.create(user=user, name="Sicherheitstest", prefix=prefix, token_hash=digest,
                            expires_at=timezone.now() + timedelta(days=1), otp_verified=True)
    return clear


def _browser(user) -> Client:
    browser = Client()
    browser.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="Sicherheitstest", confirmed=True)
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return browser


def _objects(world: World) -> None:
    """One object of every kind a URL names, owned by the reporter where it has an owner."""
    from beistand.alarms import services as alarms
    from beistand.mobile import visits
    from beistand.register import lookup, rights
    from beistand.register.models import RegisterPerson
    from beistand.reports import attachments, help
    from beistand.reports.models import Report
    from beistand.reports.services import (
        PerpetratorInput,
        ReportInput,
        create_report,
        transition,
    )

    u = world.users

    def report(last_name):
        return create_report(u["reporter"], ReportInput(
            occurred_at=timezone.now() - timedelta(hours=2), offences=["threat"],
            description="Der Kunde drohte, mich nach Dienstschluss abzufangen.",
            perpetrators=[PerpetratorInput(last_name=last_name, first_names="Max",
                                           date_of_birth=date(1975, 5, 5))]), submit=True)

    published = report("Beispiel")
    transition(u["supervisor"], published.pk, "release")
    transition(u["personnel"], published.pk, "file_complaint",
               {"police_file_number": "KK11-2026-1"})
    transition(u["zks"], published.pk, "publish")
    report = report("Mustermann")
    attachment = attachments.add_attachment(
        u["reporter"], report.pk, SimpleUploadedFile("foto.png", PNG, content_type="image/png"))
    help_request = help.request_help(u["reporter"], None, ["psychosocial"])[0]
    person = RegisterPerson.objects.get(entries__report=published)
    found = lookup.lookup_person(u["querier"], "Az. 1/2026, Hausbesuch", "Beispiel",
                                 first_name="Max", date_of_birth="1975-05-05")
    rights_request = rights.create_request(u["zks"], person.pk, "art15",
                                           timezone.localdate().isoformat(), "Auskunft")
    alarm = alarms.trigger(user=u["reporter"], template="probealarm", source="web").alarm
    visit = visits.start(u["reporter"], address="Weidenweg 7, Musterstadt", minutes=30)
    device = DeviceToken.objects.create(
        name="Tischtelefon 1.05", kind=DeviceToken.Kind.DESK_PHONE,
        room=u["reporter"].employee.room, prefix="bsd_test", token_hash="0" * 64)
    code = EnrolmentCode.objects.create(
        name="PC 1.05", room=u["reporter"].employee.room, prefix="TEST", code_hash="1" * 64,
        expires_at=timezone.now() + timedelta(hours=1))
    _clear, prefix, digest = new_secret(USER_TOKEN_PREFIX)
    token = ApiToken.objects.create(user=u["reporter"], name="Zweitgerät", prefix=prefix,
                                    token_hash=digest)
    grant = RoleGrant.objects.filter(user=u["querier"]).first()
    world.ids.update({
        "report_id": report.pk, "attachment_id": attachment.pk, "kind": "summary",
        "fmt": "csv", "document": "verzeichnis",
        "request_id": help_request.pk, "help_request_id": help_request.pk,
        "rights_request_id": rights_request.pk,
        "person_id": person.pk, "lookup_id": found["id"], "alarm_id": alarm.pk,
        "visit_id": visit.pk, "device_id": device.pk, "token_id": token.pk,
        "code_id": code.pk,
        "grant_id": grant.pk, "employee_id": u["reporter"].employee.pk,
        "year": timezone.localdate().year, "device_token": "bsd_unbekannt",
        "token": "unbekannter-antwortlink",
        "closed_report_id": Report.objects.filter(status="closed").order_by("pk")
        .values_list("pk", flat=True).first(),
    })


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    saved_hashers = django_settings.PASSWORD_HASHERS
    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    try:
        # The module's data lives in one block rolled back at the end: a test harness's block,
        # marked as Django's TestCase marks its own, so code that refuses work inside an
        # application transaction (PDF rendering, issue 19) sees the requests as it would live.
        block = transaction.atomic()
        block._from_testcase = True
        with django_db_blocker.unblock(), block:
            with transaction.atomic():  # the set-up itself, as the application writes
                load_demo()
                world = World()
                User = get_user_model()
                for role, username in ACCOUNTS.items():
                    if username is None:
                        world.users[role], world.headers[role] = None, {}
                        world.browsers[role] = Client()
                        continue
                    user = User.objects.get(username=username)
                    world.users[role] = user
                    world.headers[role] = {"HTTP_AUTHORIZATION": f"Bearer {_token(user)}"}
                    world.browsers[role] = _browser(user)
                _objects(world)
            yield world
            transaction.set_rollback(True)
    finally:
        django_settings.PASSWORD_HASHERS = saved_hashers


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and lockouts count in the cache; every test starts from zero."""
    cache.clear()
    yield
    cache.clear()
