"""Shared fixtures: a small real organisation, users with roles, API clients with tokens."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_migrate
from django.test import Client
from django.utils import timezone

from beistand.accounts.models import RoleGrant
from beistand.organisation.models import (
    Body,
    Building,
    Employee,
    Floor,
    OrgUnit,
    Room,
    Site,
)

PASSWORD = "Richtig-Pferd-Batterie-42"

# Every alarm WebSocket frame sent in a test is checked against the protocol's schema, and
# every problem answer of the API against its operation's OpenAPI responses.
pytest_plugins = ["tests.protocol_check", "tests.api_check"]


def pytest_addoption(parser):
    parser.addoption(
        "--screenshots", metavar="DIR", default=None,
        help="write the documentation screenshots to DIR (scripts/screenshots.sh passes "
             "docs/screenshots); without it they go to a temporary directory, so a test run "
             "never changes the checkout")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "screenshots: takes documentation screenshots (set on every test that uses "
                   "the screenshots fixture; scripts/screenshots.sh runs -m screenshots)")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "screenshots" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.screenshots)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """The SQLite test database in this run's temporary directory when it would be in the
    checkout (var/, the default without BEISTAND_DATA_DIR): the run leaves no database behind
    there, and two runs at the same time never share (and break) one file."""
    from django.conf import settings as django_settings
    from django.db import connections

    db = connections["default"].settings_dict
    name = (db.get("TEST") or {}).get("NAME")
    root = Path(django_settings.PROJECT_ROOT).resolve()
    if db["ENGINE"].endswith("sqlite3") and name and Path(name).resolve().is_relative_to(root):
        db["TEST"]["NAME"] = str(tmp_path_factory.mktemp("db") / Path(name).name)


@pytest.fixture(scope="session")
def _scratch_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(autouse=True)
def _files_outside_the_checkout(settings, _scratch_dir):
    """Uploads and the register's deletion journal go to this run's temporary directory when
    they would be written to var/ in the checkout (pytest run without BEISTAND_DATA_DIR)."""
    root = Path(settings.PROJECT_ROOT).resolve()
    if Path(settings.MEDIA_ROOT).resolve().is_relative_to(root):
        settings.MEDIA_ROOT = _scratch_dir / "uploads"
    if Path(settings.DELETION_JOURNAL).resolve().is_relative_to(root):
        settings.DELETION_JOURNAL = _scratch_dir / "deletions.log"


@pytest.fixture(autouse=True)
def _fast_password_hasher(request, settings):
    """argon2 costs ~0.3 s a hash here; tests that are about hashing are marked real_hasher."""
    if request.node.get_closest_marker("real_hasher") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db):
    """Stadt Teststadt: Dezernat I with Amt 11 and ZKS I/3, Amt 32 with Abteilung 32/1."""
    with transaction.atomic():
        Body.objects.create(name="Stadt Teststadt", street="Markt 1", postal_code="12345",
                            city="Teststadt")
        dez = OrgUnit.objects.create(code="I", name="Dezernat I", kind="dezernat")
        amt11 = OrgUnit.objects.create(code="11", name="Personal", kind="amt", parent=dez)
        zks = OrgUnit.objects.create(code="I/3", name="ZKS", kind="stabsstelle", parent=dez)
        amt32 = OrgUnit.objects.create(code="32", name="Ordnungsamt", kind="amt", parent=dez)
        abt = OrgUnit.objects.create(code="32/1", name="Außendienst", kind="abteilung",
                                     parent=amt32)
        site = Site.objects.create(name="Rathaus", street="Markt 1", postal_code="12345",
                                   city="Teststadt", latitude=50.9375, longitude=6.9603)
        building = Building.objects.create(site=site, name="Hauptgebäude")
        floor = Floor.objects.create(building=building, level=1)
        rooms = [Room.objects.create(floor=floor, number=f"1.{i:02d}", x=4.0 * i, y=0.0)
                 for i in range(1, 6)]
    return {"dez": dez, "amt11": amt11, "zks": zks, "amt32": amt32, "abt": abt,
            "site": site, "building": building, "floor": floor, "rooms": rooms}


@pytest.fixture
def make_user(org):
    """make_user("name", roles=[...], unit=..., head_of=..., employee=True) -> User."""
    User = get_user_model()
    counter = {"n": 0}

    def make(username, roles=(), unit=None, head_of=None, employee=True, room=None,
             supervisor=None, expires_at=None):
        counter["n"] += 1
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=PASSWORD,
                                            email=f"{username}@teststadt.example")
            if employee:
                emp = Employee.objects.create(
                    user=user, personnel_number=f"P{counter['n']:05d}-{username}",
                    last_name=username.capitalize(), first_name="Test",
                    email=user.email, unit=unit or org["abt"], room=room,
                    supervisor=supervisor, service_phone="+49 221 0000",
                )
                if head_of is not None:
                    head_of.head = emp
                    head_of.save()
            for role in roles:
                RoleGrant.objects.create(user=user, role=role, reason="Test-Setup der Rolle",
                                         expires_at=expires_at)
        return user

    return make


@pytest.fixture
def client():
    return Client()


def issue_token(client, username, password=PASSWORD, otp=None):
    body = {"username": username, "password": password}
    if otp is not None:
        body["otp"] = otp
    response = client.post("/api/v1/auth/token", json.dumps(body),
                           content_type="application/json")
    assert response.status_code == 201, response.content
    if otp is None:
        # Fixture shortcut: the token stands for one issued after the second factor (callers
        # issue it in demo mode, without an authenticator). The factor itself is tested in
        # tests/accounts; a token without it is refused for privileged roles (issue 16, 1.).
        from beistand.accounts.models import ApiToken

        ApiToken.objects.filter(pk=response.json()["id"]).update(otp_verified=True)
    return response.json()["token"]


@pytest.fixture
def bearer(client, settings):
    """bearer(user) -> headers dict with a fresh API token (demo mode: no 2FA needed)."""
    def make(user):
        settings.DEMO_MODE = True
        try:
            token = issue_token(client, user.get_username())
        finally:
            settings.DEMO_MODE = False
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    return make


@pytest.fixture
def tomorrow():
    return timezone.now() + timedelta(days=1)


@pytest.fixture(autouse=True)
def _audit_rows_for_transactional_tests(request):
    """Transactional tests (live server, commit behaviour) end with a flush of every table.

    The audit trail refuses DELETE and TRUNCATE always, so such tests remove its triggers (in
    the test database) before the flush; the flush's post_migrate re-installs them and the head.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction")
                                     or (marker.args and marker.args[0])))
    transactional = transactional or "transactional_db" in request.fixturenames \
        or "live_server" in request.fixturenames
    if not transactional:
        yield
        return
    from beistand.audit.chain import GENESIS_HASH
    from beistand.audit.models import AuditHead

    request.getfixturevalue("transactional_db")
    AuditHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
    yield
    from django.db import connection

    from beistand.audit import guard, protection

    with guard.maintenance():  # the SQLite guard refuses DROP TRIGGER outside maintenance
        protection.remove(connection)


_HISTORICAL_APPS = []


def _seed_catalogues():
    """The rows the data migrations seed: offences, help offers, protective measures, alarm
    templates and the default alarm plan (creates only what is missing). Written through the
    migrations' historical models, as the migrations write them: no audit signal fires, so the
    audit trail stays as empty as after a migrate."""
    import importlib

    from django.db.migrations.loader import MigrationLoader

    from beistand.alarms.seed import seed as seed_alarms
    from beistand.reports import catalogue as seed

    if not _HISTORICAL_APPS:
        from django.db import connection

        _HISTORICAL_APPS.append(MigrationLoader(connection).project_state().apps)
    apps = _HISTORICAL_APPS[0]
    Offence = apps.get_model("reports", "Offence")
    HelpOffer = apps.get_model("reports", "HelpOffer")
    ProtectiveMeasure = apps.get_model("register", "ProtectiveMeasure")
    measures = importlib.import_module("beistand.register.migrations.0004_seed_measures")
    with transaction.atomic():
        for sort, (code, label, level, attack) in enumerate(seed.OFFENCES):
            Offence.objects.get_or_create(code=code, defaults={
                "label": label, "level": level, "attack": attack, "sort": sort})
        for sort, (code, label, unit_code, description) in enumerate(seed.HELP_OFFERS):
            HelpOffer.objects.get_or_create(code=code, defaults={
                "label": label, "unit_code": unit_code, "description": description,
                "sort": sort})
        for sort, (code, label) in enumerate(measures.MEASURES):
            ProtectiveMeasure.objects.get_or_create(code=code, defaults={"label": label,
                                                                         "sort": sort})
        seed_alarms(apps.get_model("alarms", "AlarmTemplate"),
                    apps.get_model("alarms", "AlarmPlan"), apps.get_model("alarms", "AlarmTier"))


def _reseed_after_flush(sender, using="default", **kwargs):
    """A transactional test ends with a flush that empties every table, the seeded ones too;
    the flush then sends post_migrate, and this puts the seeded rows back, so the next test
    finds the database as the migrations left it, whatever order the tests run in (pytest-xdist
    hands each worker whole files in its own order)."""
    if sender.label == "reports" and using == "default":
        _seed_catalogues()


post_migrate.connect(_reseed_after_flush, dispatch_uid="tests-reseed-after-flush")


@pytest.fixture
def seeded_catalogues(transactional_db):
    """The seeded catalogues, in place for a transactional test (see _reseed_after_flush)."""
    _seed_catalogues()
