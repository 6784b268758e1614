"""About 300 plausible past incidents over three years for the statistics demo.

Deterministic (a seeded random generator), idempotent (loaded once: when demo incidents exist, a
second run writes nothing) and fast: reports, perpetrators, links and the
status history are written in bulk, and **one** audit row per run summarises them (as the legacy
register import does), instead of one audited write per object. The status history is written with
its historical times (``StatusChange.at`` is ``auto_now_add``, so plain ``INSERT``s), which gives
the statistics real lead times.

Published demo incidents do not create register entries: the register demo (look-ups by the
querier) stays exactly as documented.
"""

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone

from beistand.audit import services as audit
from beistand.organisation.models import Employee, Room
from beistand.reports.models import (
    HelpOffer,
    HelpRequest,
    Offence,
    Perpetrator,
    Report,
    Status,
    StatusChange,
)

SEED = 20260101
COUNT = 300
YEARS = 3
# Units whose staff meet clients, weighted by how often they are attacked.
UNIT_WEIGHTS = {"32/3": 9, "33/1": 7, "50/2": 7, "51/4": 6, "20/3": 5, "37/3": 4, "32/2": 3,
                "10/2": 2, "32/1": 1, "63": 1}
# Offence combinations with weights (levels follow the catalogue).
OFFENCE_MIX = [
    (("controversy",), 3), (("insult",), 22), (("verbal_aggression",), 18), (("harassment",), 6),
    (("insult", "verbal_aggression"), 8), (("threat",), 14), (("threat", "insult"), 6),
    (("coercion",), 3), (("property_damage",), 5), (("physical_violence",), 8),
    (("physical_violence", "threat"), 3), (("sexual_harassment",), 3), (("weapon",), 6),
    (("weapon", "threat"), 3), (("bomb_threat",), 2), (("hostage_robbery",), 2),
]
SURNAMES = ("Adamczyk", "Becker", "Demir", "Engel", "Fuchs", "Graf", "Hahn", "Ivanov", "Jung",
            "Kraus", "Lang", "Mertens", "Nowak", "Otto", "Petrov", "Quandt", "Roth", "Sommer")
FIRST_NAMES = ("Andreas", "Birgit", "Cem", "Dirk", "Elena", "Frank", "Gül", "Heiko", "Irina",
               "Jens", "Katrin", "Lars", "Maik", "Nadine", "Olaf", "Petra", "Ralf", "Sven")
DESCRIPTIONS = {
    0: "Kontroverses Gespräch am Schalter, ohne Grenzüberschreitung (Demo).",
    1: "Die Person beschimpfte die Beschäftigte lautstark und ließ sich nicht beruhigen (Demo).",
    2: "Die Person drohte Gewalt an bzw. wurde handgreiflich; Kolleginnen kamen hinzu (Demo).",
    3: "Die Person zog ein Messer; die Polizei wurde gerufen (Demo).",
}
HELP_CODES = ("psychosocial", "security_advice", "legal_protection", "debriefing",
              "protective_equipment")


@dataclass
class Plan:
    reporter: Employee
    occurred_at: datetime
    offences: tuple[str, ...]
    level: int
    field: bool
    room: Room | None
    known: bool
    police: bool
    injured: bool
    incapacity: int | None
    steps: list[tuple[str, str, datetime]]  # (action, to_status, at)
    help: tuple[str, ...]


def _weighted(rng: random.Random, pairs):
    items, weights = zip(*pairs, strict=True)
    return rng.choices(items, weights=weights, k=1)[0]


def _plans(today: date) -> list[Plan]:
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not security
    levels = dict(Offence.objects.values_list("code", "level"))
    by_unit = {}
    for unit_code in UNIT_WEIGHTS:
        # Staff without a demo account: the demo accounts' own lists stay as documented.
        staff = list(Employee.objects.filter(unit__code=unit_code, active=True,
                                             user__isnull=True)
                     .select_related("room").order_by("personnel_number"))
        if staff:
            by_unit[unit_code] = staff
    if not by_unit or not levels:
        return []
    units = [(code, w) for code, w in UNIT_WEIGHTS.items() if code in by_unit]
    start = date(today.year - YEARS + 1, 1, 1)
    # Twenty days before today every demo case has reached its final state.
    span = max(1, (today - timedelta(days=20) - start).days)
    rooms = list(Room.objects.order_by("pk"))
    plans = []
    for _ in range(COUNT):
        day = start + timedelta(days=int(rng.random() ** 0.8 * span))  # more recent: more reports
        moment = timezone.make_aware(datetime.combine(
            day, time(rng.randint(7, 17), rng.choice((0, 10, 20, 30, 40, 50)))))
        reporter = rng.choice(by_unit[_weighted(rng, units)])
        offences = tuple(c for c in _weighted(rng, OFFENCE_MIX) if c in levels)
        if not offences:
            continue
        level = max(levels[c] for c in offences)
        field = reporter.field_service or rng.random() < 0.15
        room = None if field else (reporter.room or rng.choice(rooms))
        known = rng.random() < (0.55 if field else 0.8)
        police = level >= 2 and rng.random() < 0.35 + 0.2 * level
        injured = "physical_violence" in offences or "weapon" in offences
        injured = injured and rng.random() < 0.6
        incapacity = rng.choice((0, 1, 2, 3, 5, 8, 14)) if injured else None
        plans.append(Plan(reporter, moment, offences, level, field, room, known, police,
                          injured, incapacity, _steps(rng, moment, level, known, today),
                          tuple(rng.sample(HELP_CODES, k=rng.choice((0, 0, 1, 1, 2))))))
    return plans


def _steps(rng, occurred_at, level, known, today) -> list[tuple[str, str, datetime]]:
    """The workflow with plausible delays (hours): report, release, complaint, publication."""
    limit = timezone.make_aware(datetime.combine(today, time(6, 0)))
    at = occurred_at + timedelta(hours=rng.uniform(0.3, 30))
    steps = [("submit", Status.SUBMITTED, at)]
    if rng.random() < 0.08:
        at += timedelta(hours=rng.uniform(2, 20))
        steps.append(("return", Status.RETURNED, at))
        at += timedelta(hours=rng.uniform(1, 48))
        steps.append(("resubmit", Status.SUBMITTED, at))
    for action, status, hours in (("release", Status.RELEASED, (1, 40)),
                                  ("file_complaint", Status.COMPLAINT_FILED, (4, 110))):
        at += timedelta(hours=rng.triangular(hours[0], hours[1], hours[0] + 6))
        steps.append((action, status, at))
    at += timedelta(hours=rng.triangular(2, 120, 20))
    if level >= 2 and known:
        steps.append(("publish", Status.PUBLISHED, at))
    else:
        steps.append(("close", Status.CLOSED, at))
    return [s for s in steps if s[2] < limit] or steps[:1]


def insert_history(rows: list[tuple]) -> None:
    """Status history with historical times: plain INSERTs (``at`` is auto_now_add)."""
    table = connection.ops.quote_name(StatusChange._meta.db_table)
    sql = (f"INSERT INTO {table} (report_id, action, from_status, to_status, actor_id, at, "  # noqa: S608
           "comment, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")
    with connection.cursor() as cursor:
        cursor.executemany(sql, [
            (r, a, f, t, u, connection.ops.adapt_datetimefield_value(at), c, json.dumps(d))
            for r, a, f, t, u, at, c, d in rows])


def _set_times(rows: list[tuple[int, datetime, datetime]]) -> None:
    """created_at/status_changed_at to the incident's own past (auto_now_add on the model)."""
    table = connection.ops.quote_name(Report._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET created_at = %s, updated_at = %s, "  # noqa: S608
            "status_changed_at = %s WHERE id = %s",
            [(adapt(created), adapt(changed), adapt(changed), pk)
             for pk, created, changed in rows])


def load_incidents(actor_user_ids: dict[str, int], today: date | None = None) -> int:
    """Create the missing demo incidents (inside the caller's transaction); return how many.

    ``actor_user_ids``: user ids of the demo accounts that act in the workflow (``zks`` enters
    and publishes/closes, ``vorgesetzte`` releases, ``personal`` files the complaint).
    """
    # Loaded once: the plan depends on the date, so a later run must not add a second set.
    if Report.objects.filter(description__in=DESCRIPTIONS.values()).exists():
        return 0
    today = today or timezone.localdate()
    plans = _plans(today)
    if not plans:
        return 0
    todo = plans
    # Entered by the ZKS as past cases (their reporters have no account in the demo).
    creator = actor_user_ids["zks"]
    actor_for = {"submit": creator, "resubmit": creator, "return": actor_user_ids["vorgesetzte"],
                 "release": actor_user_ids["vorgesetzte"],
                 "file_complaint": actor_user_ids["personal"],
                 "publish": actor_user_ids["zks"], "close": actor_user_ids["zks"]}
    reports = Report.objects.bulk_create([Report(
        status=p.steps[-1][1], reporter=p.reporter, created_by_id=creator,
        occurred_at=p.occurred_at,
        location_kind=Report.LocationKind.FIELD if p.field else Report.LocationKind.OFFICE,
        room=p.room, address="Musterweg (Demo), 12345 Musterstadt" if p.field else "",
        hazard_level=p.level, attack=p.level >= 1, description=DESCRIPTIONS[p.level],
        injuries="Prellungen (Demo)" if p.injured else "", incapacity_days=p.incapacity,
        police_on_site=p.police, complaint_date=(p.steps[3][2].date() if len(p.steps) > 3
                                                 else None),
    ) for p in todo])
    offence_links, victim_links, perpetrators, history, times, helps = [], [], [], [], [], []
    offers = set(HelpOffer.objects.values_list("code", flat=True))
    rng = random.Random(SEED + 1)  # noqa: S311
    for report, p in zip(reports, todo, strict=True):
        offence_links += [Report.offences.through(report_id=report.pk, offence_id=c)
                          for c in p.offences]
        victim_links.append(Report.victims.through(report_id=report.pk,
                                                   employee_id=p.reporter.pk))
        perpetrators.append(Perpetrator(
            report=report, known=p.known,
            last_name=rng.choice(SURNAMES) if p.known else "",
            first_names=rng.choice(FIRST_NAMES) if p.known else "",
            description="" if p.known else "etwa 30 Jahre, dunkle Jacke (Demo)"))
        previous = Status.DRAFT
        for action, status, at in p.steps:
            data = {"complaint_date": at.date().isoformat()} if action == "file_complaint" \
                else {}
            history.append((report.pk, action, previous, status, actor_for[action], at,
                            "Demo" if action in ("return", "close") else "", data))
            previous = status
        times.append((report.pk, p.steps[0][2], p.steps[-1][2]))
        helps += [HelpRequest(victim=p.reporter, report=report, offer_id=code,
                              state=rng.choice((HelpRequest.State.DONE,
                                                HelpRequest.State.IN_PROGRESS,
                                                HelpRequest.State.REQUESTED,
                                                HelpRequest.State.DECLINED)))
                  for code in p.help if code in offers]
    Report.offences.through.objects.bulk_create(offence_links)
    Report.victims.through.objects.bulk_create(victim_links)
    Perpetrator.objects.bulk_create(perpetrators)
    HelpRequest.objects.bulk_create(helps)
    insert_history(history)
    _set_times(times)
    audit.record("demo.incidents", object_type="reports.report", object_repr="Demo-Vorfälle",
                 after={"reports": len(reports), "first_id": reports[0].pk,
                        "last_id": reports[-1].pk, "status_changes": len(history),
                        "help_requests": len(helps), "seed": SEED})
    return len(reports)
