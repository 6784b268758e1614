"""Loads the demo body "Stadt Musterstadt" idempotently; also a fixture generator for tests.

Every object is looked up by its natural key and written only when missing or different, so a
second run writes nothing and adds no audit rows. Everything runs in one transaction under the
audit actor "demo".
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from beistand.accounts.models import RoleGrant
from beistand.accounts.roles import Role
from beistand.audit import services as audit
from beistand.demo import data
from beistand.organisation import importer
from beistand.organisation.models import Body, Building, Employee, Floor, OrgUnit, Room, Site

ACTOR = audit.Actor(user=None, label="demo")


class DemoRefused(Exception):
    """The database holds a real body: demo data must never be mixed into it."""


@dataclass
class DemoSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    accounts: list[dict] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    incidents: int = 0  # past incidents created for the statistics (0 when already there)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def count(self, outcome: str):
        setattr(self, outcome, getattr(self, outcome) + 1)


def _ensure(summary: DemoSummary, model, lookup: dict, values: dict):
    """Create or update one object by natural key; save only on a real difference."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model.objects.create(**lookup, **values)
        summary.count("created")
        return obj
    dirty = [k for k, v in values.items() if _differs(getattr(obj, k), v)]
    if dirty:
        for k in dirty:
            setattr(obj, k, values[k])
        obj.save()
        summary.count("updated")
    else:
        summary.count("unchanged")
    return obj


def _differs(current, wanted) -> bool:
    if hasattr(wanted, "pk"):
        return getattr(current, "pk", None) != wanted.pk
    if isinstance(current, Decimal):  # coordinates: the data holds strings
        return current != Decimal(wanted)
    return current != wanted


def _check_database():
    body = Body.objects.filter(pk=1).first()
    if body is not None and body.name != data.BODY["name"]:
        raise DemoRefused(f"Die Datenbank enthält bereits die Behörde „{body.name}“. "
                          "Demo-Daten werden nur in eine leere oder eine Demo-Datenbank geladen.")
    if body is None and Employee.objects.exists():
        raise DemoRefused("Die Datenbank enthält bereits Beschäftigte ohne Behörde. "
                          "Demo-Daten werden nur in eine leere Datenbank geladen.")


def _load_places(summary: DemoSummary):
    for spec in data.SITES:
        site = _ensure(summary, Site, {"name": spec["name"]}, {
            k: spec[k] for k in ("street", "postal_code", "city", "latitude", "longitude")})
        for name, lat, lon, levels in spec["buildings"]:
            building = _ensure(summary, Building, {"site": site, "name": name},
                               {"latitude": lat, "longitude": lon})
            for level in levels:
                floor = _ensure(summary, Floor, {"building": building, "level": level},
                                {"name": "Erdgeschoss" if level == 0 else f"{level}. OG"})
                for i in range(1, data.ROOMS_PER_FLOOR + 1):
                    number = f"{level}.{i:02d}"
                    x, y = data.room_position(i)
                    _ensure(summary, Room, {"floor": floor, "number": number}, {
                        "name": data.ROOM_NAMES.get((site.name, building.name, number), ""),
                        "x": x, "y": y})


def _load_units_and_employees(summary: DemoSummary):
    files = [importer.read_file(data.UNITS_CSV), importer.read_file(data.EMPLOYEES_CSV)]
    report = importer.import_files(files, actor_label=ACTOR.label)
    if not report.ok:
        # The shipped files are wrong: a programming error, not a user's input.
        raise RuntimeError("Demo-Daten fehlerhaft:\n" + report.as_text())
    for counts in (report.units, report.employees):
        summary.created += counts.created
        summary.updated += counts.updated
        summary.unchanged += counts.unchanged


class _DemoPassword:
    """One argon2 hash of "demo" shared by all demo accounts: hashing costs ~0.3 s each, and
    a salt per account protects nothing when the password is published anyway."""

    def __init__(self):
        self._good: set[str] = set()

    def encoded(self) -> str:
        if not self._good:
            self._good.add(make_password(data.DEMO_PASSWORD))
        return next(iter(self._good))

    def matches(self, user) -> bool:
        if user.password in self._good:
            return True
        if user.check_password(data.DEMO_PASSWORD):
            self._good.add(user.password)
            return True
        return False


def _load_accounts(summary: DemoSummary):
    User = get_user_model()
    now = timezone.now()
    password = _DemoPassword()
    for username, pn, roles, reason in data.ACCOUNTS:
        employee = Employee.objects.get(personnel_number=pn)
        user = User.objects.filter(username=username).first()
        wanted = {"first_name": employee.first_name, "last_name": employee.last_name,
                  "email": employee.email, "is_active": True}
        if user is None:
            # Set directly: "demo" would (rightly) fail the password validators.
            user = User(username=username, password=password.encoded(), **wanted)
            user.save()
            summary.count("created")
        else:
            dirty = [k for k, v in wanted.items() if getattr(user, k) != v]
            for k in dirty:
                setattr(user, k, wanted[k])
            if not password.matches(user):
                user.password = password.encoded()
                dirty.append("password")
            if dirty:
                user.save()
                summary.count("updated")
            else:
                summary.count("unchanged")
        if employee.user_id != user.pk:
            for other in Employee.objects.filter(user=user).exclude(pk=employee.pk):
                other.user = None  # one account, one employee (OneToOne)
                other.save()
            employee.user = user
            employee.save()
            summary.count("updated")
        for role in roles:
            if RoleGrant.objects.active().filter(user=user, role=role).exists():
                summary.count("unchanged")
                continue
            expires = now + timedelta(days=data.QUERIER_DAYS) if role == Role.QUERIER else None
            RoleGrant.objects.create(user=user, role=role, reason=reason, granted_by=None,
                                     expires_at=expires)
            summary.count("created")
        summary.accounts.append({"username": username, "password": data.DEMO_PASSWORD,
                                 "employee": employee.full_name, "unit": employee.unit.code,
                                 "roles": [str(r) for r in roles], "note": reason})


def _load_incidents(summary: DemoSummary):
    from beistand.demo.incidents import load_incidents

    users = dict(get_user_model().objects.filter(
        username__in=("melder", "vorgesetzte", "personal", "zks")).values_list("username", "pk"))
    summary.incidents = load_incidents(users)


def _load_alarm_plan(summary: DemoSummary):
    """The Stadthaus alarm plan: neighbours within 15 m, then the security service, then the
    floor, then the building, last the control room (the last resort, SMS and e-mail; the
    default plan elsewhere)."""
    from beistand.alarms.models import AlarmPlan, AlarmTier
    from beistand.alarms.seed import ensure_defaults

    ensure_defaults()
    site = Site.objects.get(name=data.ALARM_PLAN_SITE)
    plan = _ensure(summary, AlarmPlan, {"scope": AlarmPlan.Scope.SITE, "site": site},
                   {"name": f"Alarmplan {site.name}"})
    for order, kind, timeout in data.ALARM_PLAN_TIERS:
        _ensure(summary, AlarmTier, {"plan": plan, "order": order},
                {"kind": kind, "timeout_s": timeout, "radius_m": 15, "acks_needed": 1,
                 "sms_when_offline": True,
                 **(data.ALARM_CONTROL_ROOM if kind == "external" else {})})


def load_demo() -> DemoSummary:
    """Load (or complete) the demo body; return what was created, updated or left unchanged."""
    summary = DemoSummary()
    with transaction.atomic(), audit.acting_as(ACTOR):
        _check_database()
        _ensure(summary, Body, {"id": 1}, dict(data.BODY))
        _load_places(summary)
        _load_units_and_employees(summary)
        _load_accounts(summary)
        _load_incidents(summary)
        _load_alarm_plan(summary)
    summary.totals = {"units": OrgUnit.objects.count(), "sites": Site.objects.count(),
                      "rooms": Room.objects.count(), "employees": Employee.objects.count(),
                      "accounts": len(data.ACCOUNTS)}
    return summary
