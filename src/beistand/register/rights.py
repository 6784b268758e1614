"""Rights of the registered person (GDPR Art. 14-21), each tracked as a ``RightsRequest`` with the
one-month deadline of Art. 12(3).

Roles: the ZKS creates, defers and decides requests; the DPO sees every request, letter and
access report but decides nothing (the DPO controls the ZKS, so it must not be the one deciding).
Everybody else gets 403.

- Art. 14: opened automatically when ``publish_from_report`` registers a NEW person. The ZKS
  sends the letter (decision ``done``) or defers it with a reason and a re-check date
  (DSG NRW §11); ``remind_deferred`` mails the ZKS mailbox once the re-check date has come.
- Art. 15: ``access_report`` - everything on the person, purposes, recipient categories and the
  number of look-ups per unit; never reporter data, never staff names (a register of dangerous
  persons must not tell the person who asked about them or who reported them).
- Art. 16/17/18/21: ``decide`` with ``granted``/``refused`` and a reason; granted rectification
  applies ``changes``, erasure purges the person, restriction and objection restrict the entry
  (restricted entries are never shown to queriers).

Which move each kind of request allows, and what each state means (open, due, letter), is the
table in ``rights_workflow``.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.audit import services as audit
from beistand.core.errors import Conflict, InvalidInput, NotFound
from beistand.register import letters, rights_workflow
from beistand.register.disclosure import (
    LEGAL_BASIS,
    PURPOSES,
    RECIPIENTS,
    RIGHTS,
    SUPERVISORY_AUTHORITY,
    person_data,
)
from beistand.register.models import (
    Lookup,
    RegisterAddress,
    RegisterPerson,
    RightsRequest,
)
from beistand.register.rights_workflow import REQUEST_KINDS

Kind = RightsRequest.Kind
State = RightsRequest.State

DECIDING_ROLES = (Role.ZKS,)
READING_ROLES = (Role.ZKS, Role.DPO)
RECTIFIABLE = ("last_name", "first_names", "birth_name", "aliases", "date_of_birth", "address")
ADDRESS_FIELDS = ("street", "house_number", "postal_code", "city")

# Every text that can reach a letter is bounded (a letter's length bounds its rendering time and
# the time a request spends on it). Names as in the model; aliases: a report brings at most 20,
# merges add the duplicate's names, so the register allows more, but not without end.
NAME_LENGTHS = {"last_name": 100, "first_names": 150, "birth_name": 100}
MAX_ALIASES = 50
ALIAS_LENGTH = 100
ADDRESS_LENGTHS = {"street": 150, "house_number": 20, "postal_code": 10, "city": 100}
REASON_LENGTH = 2000
DETAILS_LENGTH = 5000



# --- Dates ------------------------------------------------------------------------------------

def add_months(day: date, months: int = 1) -> date:
    """Same day ``months`` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _today(now: datetime | None = None) -> date:
    return timezone.localdate(now) if now else timezone.localdate()


def _parse_date(value, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise InvalidInput(f"„{value}“ ist kein gültiges Datum (JJJJ-MM-TT).",
                           field=field) from None


# --- Access -----------------------------------------------------------------------------------

def _require_reader(user) -> None:
    accounts.require_role(user, *READING_ROLES)


def _require_decider(user) -> None:
    accounts.require_role(user, *DECIDING_ROLES)


def _person(person_id) -> RegisterPerson:
    person = RegisterPerson.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound("Diese Person ist im Register nicht (mehr) vorhanden.")
    return person


def _request(request_id, *, lock: bool = False) -> RightsRequest:
    qs = RightsRequest.objects.select_related("person")
    if lock:
        qs = qs.select_for_update(of=("self",))
    found = qs.filter(pk=request_id).first()
    if found is None:
        raise NotFound("Diesen Antrag gibt es nicht.")
    return found


# --- Requests ---------------------------------------------------------------------------------

def open_notification(person: RegisterPerson, user=None, received_on: date | None = None,
                      entry=None) -> RightsRequest:
    """The Art. 14 duty for a new register entry (inside the publication's transaction): per
    entry, also for a person registered before — each entry is new data about the person."""
    received_on = received_on or _today()
    about = (f" vom Vorfall am {entry.incident_date:%d.%m.%Y}"
             if entry is not None and entry.incident_date else "")
    return RightsRequest.objects.create(
        person=person, entry=entry, kind=Kind.NOTIFICATION, received_on=received_on,
        due_on=add_months(received_on), created_by=user,
        details=f"Information der betroffenen Person nach Art. 14 DSGVO (Eintragung{about}).")


def create_request(user, person_id, kind: str, received_on, details: str = "") -> RightsRequest:
    """Record a request of the person (received by letter, e-mail or in person)."""
    _require_decider(user)
    if kind not in REQUEST_KINDS:
        allowed = ", ".join(REQUEST_KINDS)
        raise InvalidInput(f"Unbekannte Art des Antrags „{kind}“ (erlaubt: {allowed}).",
                           field="kind")
    received = _parse_date(received_on, "received_on")
    if received > _today():
        raise InvalidInput("Das Eingangsdatum liegt in der Zukunft.", field="received_on")
    details = (details or "").strip()
    if len(details) > DETAILS_LENGTH:
        raise InvalidInput(f"Das Anliegen ist zu lang (höchstens {DETAILS_LENGTH} Zeichen).",
                           field="details")
    with transaction.atomic():
        person = _person(person_id)
        if person.status == RegisterPerson.Status.DELETED:
            raise Conflict("Die Eintragung ist bereits gelöscht.")
        return RightsRequest.objects.create(
            person=person, kind=kind, received_on=received, due_on=add_months(received),
            details=details, created_by=user)


def list_requests(user, *, state: str | None = None, person_id=None, now=None
                  ) -> list[RightsRequest]:
    """Requests, nearest deadline first. ``state``: ``open`` (open or deferred), ``overdue``
    (deadline or re-check date passed), or a model state.

    The list shows personal data (the person, the request's text, the decision's reason): it is
    read and audited in one transaction (``register.rightsrequest.list``: filters, count and the
    request and person ids shown) – every read of personal data is audited (docs/audit.md)."""
    _require_reader(user)
    qs = RightsRequest.objects.select_related("person").order_by("due_on", "pk")
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if state in (None, ""):
        pass
    elif state == "open":
        qs = qs.filter(state__in=rights_workflow.states(open=True))
    elif state == "overdue":
        qs = due_rights_requests(now).select_related("person").order_by("due_on", "pk")
        if person_id is not None:
            qs = qs.filter(person_id=person_id)
    elif state in State.values:
        qs = qs.filter(state=state)
    else:
        raise InvalidInput(f"Unbekannter Filter „{state}“ (open, overdue, "
                           f"{', '.join(State.values)}).", field="state")
    with transaction.atomic():
        requests = list(qs)
        audit.record("register.rightsrequest.list", object_type="register.rightsrequest",
                     object_repr="Anträge der Betroffenen", actor=user,
                     after={"filters": {"state": state or None, "person_id": person_id},
                            "count": len(requests),
                            "requests": [r.pk for r in requests],
                            "persons": sorted({r.person_id for r in requests})})
    return requests


def get_request(user, request_id) -> RightsRequest:
    """One request (person, text, decision): an audited read, like the list."""
    _require_reader(user)
    with transaction.atomic():
        req = _request(request_id)
        audit.record_read(req, actor=user, action="register.rightsrequest.read",
                          purpose="Antrag der betroffenen Person ansehen",
                          fields=["person", "kind", "state", "details", "decision_reason"])
    return req


def due_rights_requests(now=None):
    """Open requests past their deadline and deferred ones whose re-check date has come."""
    return RightsRequest.objects.filter(rights_workflow.due_filter(_today(now)))


def defer(user, request_id, reason: str, until) -> RightsRequest:
    """Defer the Art. 14 information (DSG NRW §11): documented reason and a re-check date."""
    _require_decider(user)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput("Bitte begründen Sie die Zurückstellung (DSG NRW § 11), mindestens "
                           "10 Zeichen.", field="reason")
    check_reason(reason)
    if until in (None, ""):
        raise InvalidInput("Bitte geben Sie ein Datum für die erneute Prüfung an.",
                           field="defer_until")
    until = _parse_date(until, "defer_until")
    if until <= _today():
        raise InvalidInput("Das Datum der erneuten Prüfung muss in der Zukunft liegen.",
                           field="defer_until")
    with transaction.atomic():
        req = _request(request_id, lock=True)
        rights_workflow.check(req, "defer", State.DEFERRED)
        req.state = State.DEFERRED
        req.defer_until = until
        req.decision_reason = reason
        req.save()
        return req


@dataclass
class Decision:
    request: RightsRequest
    # Only for a granted erasure: the letter, rendered before the data is gone (it cannot be
    # produced again afterwards).
    letter_pdf: bytes | None = None
    purge_note: str = ""


def check_reason(reason: str) -> None:
    """A decision's or deferral's reason goes into the letter: bounded."""
    if len(reason) > REASON_LENGTH:
        raise InvalidInput(f"Die Begründung ist zu lang (höchstens {REASON_LENGTH} Zeichen).",
                           field="reason")


def check_aliases(aliases, field: str = "aliases") -> list[str]:
    """Further names as a list of at most ``MAX_ALIASES`` texts of ``ALIAS_LENGTH`` characters
    (refused beyond, nothing cut): they are shown in every letter to the person."""
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise InvalidInput("Weitere Namen als Liste von Texten angeben.", field=field)
    cleaned = [a.strip() for a in aliases if a.strip()]
    if len(cleaned) > MAX_ALIASES:
        raise InvalidInput(f"Zu viele weitere Namen ({len(cleaned)}; höchstens {MAX_ALIASES}).",
                           field=field)
    too_long = [a for a in cleaned if len(a) > ALIAS_LENGTH]
    if too_long:
        raise InvalidInput(f"Ein weiterer Name ist zu lang (höchstens {ALIAS_LENGTH} Zeichen): "
                           f"„{too_long[0][:30]}…“.", field=field)
    return cleaned


def decide(user, request_id, decision: str, reason: str = "", changes: dict | None = None
           ) -> Decision:
    """Decide a request. Art. 14: ``done`` (letter sent). Others: ``granted``/``refused`` with a
    reason; a granted rectification needs ``changes``.

    A granted erasure gathers its letter in the transaction, before the data is purged, and
    renders it after the commit (no lock is held while the PDF is laid out)."""
    _require_decider(user)
    reason = (reason or "").strip()
    check_reason(reason)
    # The look-up log is scanned for the person before the transaction (the slow part of an
    # erasure); the purge re-checks only what was logged since.
    scan = None
    target = RightsRequest.objects.filter(pk=request_id).values_list("person_id", "kind").first()
    if target is not None and target[1] == Kind.ERASURE and decision == State.GRANTED:
        from beistand.register.retention import scan_lookups

        scan = scan_lookups([target[0]])
    draft = None
    with transaction.atomic():
        req = _request(request_id, lock=True)
        rights_workflow.check(req, "decide", decision)
        person = RegisterPerson.objects.select_for_update().get(pk=req.person_id)
        if req.kind in REQUEST_KINDS and len(reason) < 10:
            raise InvalidInput("Bitte begründen Sie die Entscheidung (mindestens 10 "
                               "Zeichen).", field="reason")
        if changes and not (req.kind == Kind.RECTIFICATION and decision == State.GRANTED):
            raise InvalidInput("Änderungen gibt es nur bei einer stattgegebenen Berichtigung.",
                               field="changes")
        if person.status == RegisterPerson.Status.DELETED and decision != State.REFUSED:
            raise Conflict("Die Eintragung ist bereits gelöscht.")
        req.state = decision
        req.decision_reason = reason or req.decision_reason
        req.decided_by = user
        req.decided_at = timezone.now()
        result = Decision(req)
        if decision == State.GRANTED:
            if req.kind == Kind.RECTIFICATION:
                _rectify(person, changes or {}, req)
            elif req.kind in (Kind.RESTRICTION, Kind.OBJECTION):
                person.status = RegisterPerson.Status.RESTRICTED
                person.status_reason = f"{req.get_kind_display()} stattgegeben: {reason}"[:500]
                person.save()
            elif req.kind == Kind.ERASURE:
                req.save()
                draft = letters.decision_draft(req)
                result.purge_note = _erase(person, reason, scan)
                req.refresh_from_db()
        if draft is None:
            req.save()
    if draft is not None:
        result.letter_pdf = draft.render()
    return result


def _rectify(person: RegisterPerson, changes: dict, req: RightsRequest) -> None:
    from beistand.register.persons import refresh_person

    if not changes:
        raise InvalidInput("Eine Berichtigung braucht die zu ändernden Angaben.",
                           field="changes")
    unknown = sorted(set(changes) - set(RECTIFIABLE))
    if unknown:
        raise InvalidInput(f"Nicht berichtigbar: {', '.join(unknown)} (erlaubt: "
                           f"{', '.join(RECTIFIABLE)}).", field="changes")
    applied = []
    for name in ("last_name", "first_names", "birth_name"):
        if name not in changes:
            continue
        value = changes[name]
        if not isinstance(value, str) or (name == "last_name" and not value.strip()):
            raise InvalidInput(f"Ungültiger Wert für {name}.", field=f"changes.{name}")
        if len(value.strip()) > NAME_LENGTHS[name]:
            raise InvalidInput(f"{name}: höchstens {NAME_LENGTHS[name]} Zeichen.",
                               field=f"changes.{name}")
        setattr(person, name, value.strip())
        applied.append(name)
    if "aliases" in changes:
        person.aliases = check_aliases(changes["aliases"], "changes.aliases")
        applied.append("aliases")
    if "date_of_birth" in changes:
        value = changes["date_of_birth"]
        person.date_of_birth = None if value in (None, "") else _parse_date(
            value, "changes.date_of_birth")
        if person.date_of_birth and person.date_of_birth > _today():
            raise InvalidInput("Das Geburtsdatum liegt in der Zukunft.",
                               field="changes.date_of_birth")
        applied.append("date_of_birth")
    if "address" in changes:
        _rectify_address(person, changes["address"])
        applied.append("address")
    person.save()
    refresh_person(person)
    req.decision_reason = f"{req.decision_reason}\n\nBerichtigt: {', '.join(applied)}".strip()


def _rectify_address(person: RegisterPerson, value) -> None:
    """A wrong current address is corrected in place (it was never right: no history kept)."""
    if not isinstance(value, dict) or set(value) - set(ADDRESS_FIELDS):
        raise InvalidInput(f"Anschrift als Objekt mit {', '.join(ADDRESS_FIELDS)} angeben.",
                           field="changes.address")
    data = {k: str(value.get(k) or "").strip() for k in ADDRESS_FIELDS}
    if not data["street"] or not data["postal_code"]:
        raise InvalidInput("Straße und PLZ sind erforderlich.", field="changes.address")
    for key, limit in ADDRESS_LENGTHS.items():
        if len(data[key]) > limit:
            raise InvalidInput(f"Anschrift, {key}: höchstens {limit} Zeichen.",
                               field=f"changes.address.{key}")
    current = person.addresses.filter(valid_to__isnull=True).order_by("-valid_from", "-pk")
    address = current.first()
    if address is None:
        RegisterAddress.objects.create(person=person, valid_from=_today(), **data)
        return
    for key, val in data.items():
        setattr(address, key, val)
    address.save()


def _erase(person: RegisterPerson, reason: str, scan=None) -> str:
    """Art. 17: the retention engineer's purge if it exists, otherwise our own minimal one."""
    try:
        from beistand.register.retention import purge_person
    except ImportError:
        purge_person = None
    if purge_person is not None:
        purge_person(person, f"Löschung nach Art. 17 DSGVO: {reason}",
                     actor=audit.current_actor(), scan=scan)
        return "register.retention.purge_person"
    # Fallback: personal data gone, the row stays (the request refers to it) as a tombstone.
    person.addresses.all().delete()
    person.search_keys.all().delete()
    person.measures.clear()
    for entry in person.entries.all():
        entry.delete()
    person.last_name = "gelöscht"
    person.first_names = person.birth_name = ""
    person.aliases = []
    person.date_of_birth = None
    person.hazard_level = 0
    person.last_incident_on = person.review_on = person.delete_on = None
    person.status = RegisterPerson.Status.DELETED
    person.status_reason = "Löschung nach Art. 17 DSGVO"
    person.save()
    # The person's own wording may repeat the erased data; saved one by one (audited model).
    for other in RightsRequest.objects.filter(person=person).exclude(details=""):
        other.details = ""
        other.save(update_fields=["details"])
    return "fallback"


# --- Reminders --------------------------------------------------------------------------------

def remind_deferred(now=None) -> list[int]:
    """Mail the ZKS mailbox once per deferral whose re-check date has come (idempotent: the
    outbox row's reason names the request and the date)."""
    from beistand.notify import services as notify
    from beistand.notify.models import OutgoingMail

    today = _today(now)
    sent = []
    ids = list(RightsRequest.objects.filter(state=State.DEFERRED, defer_until__lte=today)
               .values_list("pk", flat=True))
    with audit.acting_as(audit.Actor(user=None, label="system:betroffenenrechte")):
        for pk in ids:
            with transaction.atomic():
                req = RightsRequest.objects.select_for_update().filter(pk=pk).first()
                if req is None or req.state != State.DEFERRED or req.defer_until > today:
                    continue
                reason = f"register:rights:{req.pk}:deferred:{req.defer_until.isoformat()}"
                if OutgoingMail.objects.filter(reason=reason).exists():
                    continue
                notify.enqueue_mail(
                    [settings.ZKS_MAILBOX],
                    f"Wiedervorlage: zurückgestellte Information nach Art. 14 DSGVO "
                    f"(Antrag {req.pk})",
                    "register_rights_reminder",
                    {"request_id": req.pk, "kind": req.get_kind_display(),
                     "defer_until": req.defer_until.strftime("%d.%m.%Y"),
                     "due_on": req.due_on.strftime("%d.%m.%Y")},
                    reason=reason)
                sent.append(req.pk)
    return sent


# --- Art. 15 access report --------------------------------------------------------------------

def lookup_counts(person) -> dict[str, int]:
    """Look-ups that showed the person (a person or its id), per unit (no querier names).
    ``shown`` is a JSON list: a text pre-filter keeps it portable (SQLite has no JSON
    containment), then an exact check. A scan of the access log: the callers count before their
    audited transaction, which then holds the (SQLite) write lock only for the short reads."""
    pid = getattr(person, "pk", person)
    counts: dict[str, int] = {}
    rows = Lookup.objects.filter(shown__icontains=str(pid)).values_list("unit_code", "shown")
    for unit_code, shown in rows.iterator():
        if pid in (shown or []) or str(pid) in [str(s) for s in shown or []]:
            key = unit_code or "ohne Einheit"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _report(person: RegisterPerson, counts: dict[str, int]) -> dict:
    return {
        "generated_at": timezone.now(),
        "person": person_data(person),
        "purposes": PURPOSES,
        "legal_basis": LEGAL_BASIS,
        "recipients": RECIPIENTS,
        "source": "Meldungen von Beschäftigten der Behörde über Vorfälle bei der "
                  "Aufgabenerfüllung (Angaben zur meldenden Person werden nicht "
                  "gespeichert); ggf. Übernahme aus dem früheren Register der Behörde",
        "retention": {
            "review_years": settings.REGISTER_REVIEW_YEARS,
            "delete_years": settings.REGISTER_DELETE_YEARS,
            "review_on": person.review_on, "delete_on": person.delete_on,
        },
        "lookups_per_unit": counts,
        "lookup_log_days": settings.REGISTER_ACCESS_LOG_DAYS,
        "rights_requests": [
            {"kind": r.kind, "kind_label": r.get_kind_display(), "received_on": r.received_on,
             "state": r.state, "state_label": r.get_state_display()}
            for r in person.rights_requests.order_by("received_on", "pk")],
        "rights": RIGHTS,
        "supervisory_authority": SUPERVISORY_AUTHORITY,
    }


ACCESS_PURPOSE = "Auskunft nach Art. 15 DSGVO"


def access_report(user, person_id, *, purpose: str = ACCESS_PURPOSE) -> dict:
    """The complete Art. 15 report as a JSON-ready dict (audited read)."""
    _require_reader(user)
    counts = lookup_counts(person_id)
    with transaction.atomic():
        person = _person(person_id)
        report = _report(person, counts)
        # Last in the transaction: on PostgreSQL the audit head's row lock is held from here to
        # the commit, so every other audited write (an alarm) waits for as short as possible.
        audit.record_read(person, actor=user, purpose=purpose,
                          action="register.person.access_report")
    return report


def access_report_pdf(user, person_id) -> tuple[str, bytes]:
    """The Art. 15 letter: gathered and audited in one short transaction, rendered after it."""
    _require_reader(user)
    counts = lookup_counts(person_id)
    with transaction.atomic():
        person = _person(person_id)
        draft = letters.access_report_draft(_report(person, counts))
        audit.record_read(person, actor=user, purpose=ACCESS_PURPOSE,
                          action="register.person.access_report")
    return f"auskunft-art15-{person_id}.pdf", draft.render()


def letter_pdf(user, request_id) -> tuple[str, bytes]:
    """The letter of a request: Art. 14 notification, or the decision letter of Art. 15-21.
    Gathered and audited in one short transaction, rendered after the commit."""
    _require_reader(user)
    target = RightsRequest.objects.filter(pk=request_id).values_list("person_id", "kind",
                                                                     "state").first()
    counts = None
    if target is not None and target[1] == Kind.ACCESS and target[2] == State.GRANTED:
        counts = lookup_counts(target[0])
    with transaction.atomic():
        req = _request(request_id)
        if req.person.status == RegisterPerson.Status.DELETED:
            raise Conflict("Die Eintragung ist gelöscht; das Schreiben wurde bei der "
                           "Entscheidung einmalig erzeugt.")
        if not rights_workflow.letter_exists(req):
            raise Conflict("Das Schreiben gibt es erst nach der Entscheidung.")
        if req.kind == Kind.NOTIFICATION:
            draft = letters.notification_draft(req)
        elif req.kind == Kind.ACCESS and req.state == State.GRANTED:
            if counts is None:  # decided between the look and the transaction
                counts = lookup_counts(req.person_id)
            draft = letters.access_report_draft(_report(req.person, counts), request=req)
            audit.record_read(req.person, actor=user, purpose=ACCESS_PURPOSE,
                              action="register.person.access_report")
        else:
            draft = letters.decision_draft(req)
        audit.record_read(req.person, actor=user, purpose=f"Schreiben zu Antrag {req.pk}",
                          action="register.rights.letter")
    return f"schreiben-{req.kind}-{req.pk}.pdf", draft.render()
