"""Shared fixtures: a small real organisation, users with roles, API clients with tokens."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
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

    The audit trail refuses DELETE unless its head row allows pruning, so such tests set that
    flag (in the test database) before the flush, and find the head row re-created at setup.
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
    AuditHead.objects.update_or_create(pk=1, defaults={"allow_prune": True,
                                                       "last_hash": GENESIS_HASH})
