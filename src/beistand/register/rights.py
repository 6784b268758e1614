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
from beistand.register.models import (
    Lookup,
    RegisterAddress,
    RegisterPerson,
    RightsRequest,
)

Kind = RightsRequest.Kind
State = RightsRequest.State

DECIDING_ROLES = (Role.ZKS,)
READING_ROLES = (Role.ZKS, Role.DPO)
# Kinds the ZKS may record as a request of the person (Art. 14 is a duty, opened at publication).
REQUEST_KINDS = (Kind.ACCESS, Kind.RECTIFICATION, Kind.ERASURE, Kind.RESTRICTION, Kind.OBJECTION)
FINAL_STATES = (State.GRANTED, State.REFUSED, State.DONE)
RECTIFIABLE = ("last_name", "first_names", "birth_name", "aliases", "date_of_birth", "address")
ADDRESS_FIELDS = ("street", "house_number", "postal_code", "city")

PURPOSES = [
    "Schutz der Beschäftigten der Behörde vor Angriffen bei der Erfüllung ihrer Aufgaben "
    "(Beschäftigtenschutzgesetz NRW – BSchG NRW)",
    "Beschäftigte, die dienstlich mit Ihnen zu tun haben, können im Einzelfall prüfen, ob "
    "Schutzmaßnahmen empfohlen sind (z. B. Termine nur zu zweit).",
]
RECIPIENTS = [
    "ausschließlich besonders berechtigte Beschäftigte dieser Behörde, im Einzelfall und nur "
    "bei dienstlichem Kontakt mit Ihnen (jede Abfrage wird protokolliert)",
    "die Zentrale Koordinierungsstelle (ZKS) der Behörde, die das Register führt",
    "keine Übermittlung an andere Behörden oder Dritte (nach dem BSchG NRW unzulässig)",
]
LEGAL_BASIS = [
    "Beschäftigtenschutzgesetz NRW (BSchG NRW) vom 18.11.2025, GV. NRW. 2025 S. 1012",
    "Art. 6 Abs. 1 Buchst. e DSGVO (Wahrnehmung einer Aufgabe im öffentlichen Interesse) "
    "in Verbindung mit dem BSchG NRW",
    "Art. 10 DSGVO (Daten über Straftaten) in Verbindung mit dem BSchG NRW",
    "Datenschutzgesetz Nordrhein-Westfalen (DSG NRW)",
]
SUPERVISORY_AUTHORITY = ("Landesbeauftragte für Datenschutz und Informationsfreiheit "
                         "Nordrhein-Westfalen (LDI NRW), Kavalleriestraße 2–4, 40213 Düsseldorf, "
                         "poststelle@ldi.nrw.de")


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

def open_notification(person: RegisterPerson, user=None, received_on: date | None = None
                      ) -> RightsRequest:
    """The Art. 14 duty for a newly registered person (inside the publication's transaction)."""
    received_on = received_on or _today()
    return RightsRequest.objects.create(
        person=person, kind=Kind.NOTIFICATION, received_on=received_on,
        due_on=add_months(received_on), created_by=user,
        details="Information der betroffenen Person nach Art. 14 DSGVO (Eintragung).")


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
    if len(details) > 5000:
        raise InvalidInput("Das Anliegen ist zu lang (höchstens 5000 Zeichen).", field="details")
    with transaction.atomic():
        person = _person(person_id)
        if person.status == RegisterPerson.Status.DELETED:
            raise Conflict("Die Eintragung ist bereits gelöscht.")
        return RightsRequest.objects.create(
            person=person, kind=kind, received_on=received, due_on=add_months(received),
            details=details, created_by=user)


def list_requests(user, *, state: str | None = None, person_id=None, now=None):
    """Requests, nearest deadline first. ``state``: ``open`` (open or deferred), ``overdue``
    (deadline or re-check date passed), or a model state."""
    _require_reader(user)
    qs = RightsRequest.objects.select_related("person").order_by("due_on", "pk")
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if state in (None, ""):
        return qs
    if state == "open":
        return qs.filter(state__in=(State.OPEN, State.DEFERRED))
    if state == "overdue":
        return due_rights_requests(now).select_related("person").order_by("due_on", "pk")
    if state in State.values:
        return qs.filter(state=state)
    raise InvalidInput(f"Unbekannter Filter „{state}“ (open, overdue, "
                       f"{', '.join(State.values)}).", field="state")


def get_request(user, request_id) -> RightsRequest:
    _require_reader(user)
    return _request(request_id)


def due_rights_requests(now=None):
    """Open requests past their deadline and deferred ones whose re-check date has come."""
    from django.db.models import Q

    today = _today(now)
    return RightsRequest.objects.filter(
        Q(state=State.OPEN, due_on__lte=today)
        | Q(state=State.DEFERRED, defer_until__lte=today))


def defer(user, request_id, reason: str, until) -> RightsRequest:
    """Defer the Art. 14 information (DSG NRW §11): documented reason and a re-check date."""
    _require_decider(user)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput("Bitte begründen Sie die Zurückstellung (DSG NRW § 11), mindestens "
                           "10 Zeichen.", field="reason")
    if until in (None, ""):
        raise InvalidInput("Bitte geben Sie ein Datum für die erneute Prüfung an.",
                           field="defer_until")
    until = _parse_date(until, "defer_until")
    if until <= _today():
        raise InvalidInput("Das Datum der erneuten Prüfung muss in der Zukunft liegen.",
                           field="defer_until")
    with transaction.atomic():
        req = _request(request_id, lock=True)
        if req.kind != Kind.NOTIFICATION:
            raise Conflict("Zurückstellen ist nur bei der Information nach Art. 14 möglich; "
                           "andere Anträge werden entschieden (stattgegeben/abgelehnt).")
        if req.state in FINAL_STATES:
            raise Conflict("Dieser Antrag ist bereits abgeschlossen.")
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


def decide(user, request_id, decision: str, reason: str = "", changes: dict | None = None
           ) -> Decision:
    """Decide a request. Art. 14: ``done`` (letter sent). Others: ``granted``/``refused`` with a
    reason; a granted rectification needs ``changes``."""
    _require_decider(user)
    reason = (reason or "").strip()
    with transaction.atomic():
        req = _request(request_id, lock=True)
        if req.state in FINAL_STATES:
            raise Conflict("Dieser Antrag ist bereits abgeschlossen.")
        person = RegisterPerson.objects.select_for_update().get(pk=req.person_id)
        if req.kind == Kind.NOTIFICATION:
            if decision != State.DONE:
                raise InvalidInput("Die Information nach Art. 14 wird als versandt („done“) "
                                   "abgeschlossen oder zurückgestellt.", field="decision")
        else:
            if decision not in (State.GRANTED, State.REFUSED):
                raise InvalidInput("Entscheidung muss „granted“ (stattgegeben) oder „refused“ "
                                   "(abgelehnt) sein.", field="decision")
            if len(reason) < 10:
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
                from beistand.register import letters

                result.letter_pdf = letters.decision_letter(req)
                result.purge_note = _erase(person, reason)
                req.refresh_from_db()
                return result
        req.save()
        return result


def _rectify(person: RegisterPerson, changes: dict, req: RightsRequest) -> None:
    from beistand.register import services

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
        if not isinstance(value, str) or len(value.strip()) > 100 or (
                name == "last_name" and not value.strip()):
            raise InvalidInput(f"Ungültiger Wert für {name}.", field=f"changes.{name}")
        setattr(person, name, value.strip())
        applied.append(name)
    if "aliases" in changes:
        aliases = changes["aliases"]
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise InvalidInput("Weitere Namen als Liste von Texten angeben.",
                               field="changes.aliases")
        person.aliases = [a.strip() for a in aliases if a.strip()]
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
    services.refresh_person(person)
    req.decision_reason = f"{req.decision_reason}\n\nBerichtigt: {', '.join(applied)}".strip()


def _rectify_address(person: RegisterPerson, value) -> None:
    """A wrong current address is corrected in place (it was never right: no history kept)."""
    if not isinstance(value, dict) or set(value) - set(ADDRESS_FIELDS):
        raise InvalidInput(f"Anschrift als Objekt mit {', '.join(ADDRESS_FIELDS)} angeben.",
                           field="changes.address")
    data = {k: str(value.get(k) or "").strip() for k in ADDRESS_FIELDS}
    if not data["street"] or not data["postal_code"]:
        raise InvalidInput("Straße und PLZ sind erforderlich.", field="changes.address")
    current = person.addresses.filter(valid_to__isnull=True).order_by("-valid_from", "-pk")
    address = current.first()
    if address is None:
        RegisterAddress.objects.create(person=person, valid_from=_today(), **data)
        return
    for key, val in data.items():
        setattr(address, key, val)
    address.save()


def _erase(person: RegisterPerson, reason: str) -> str:
    """Art. 17: the retention engineer's purge if it exists, otherwise our own minimal one."""
    try:
        from beistand.register.retention import purge_person
    except ImportError:
        purge_person = None
    if purge_person is not None:
        purge_person(person, f"Löschung nach Art. 17 DSGVO: {reason}",
                     actor=audit.current_actor())
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

def lookup_counts(person: RegisterPerson) -> dict[str, int]:
    """Look-ups that showed the person, per unit (no querier names). ``shown`` is a JSON list:
    a text pre-filter keeps it portable (SQLite has no JSON containment), then an exact check."""
    counts: dict[str, int] = {}
    rows = Lookup.objects.filter(shown__icontains=str(person.pk)).values_list("unit_code",
                                                                              "shown")
    for unit_code, shown in rows.iterator():
        if person.pk in (shown or []) or str(person.pk) in [str(s) for s in shown or []]:
            key = unit_code or "ohne Einheit"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def person_data(person: RegisterPerson) -> dict:
    """Everything stored on the person, as the person may see it (no staff, no reporters)."""
    addresses = [{"street": a.street, "house_number": a.house_number,
                  "postal_code": a.postal_code, "city": a.city,
                  "valid_from": a.valid_from, "valid_to": a.valid_to}
                 for a in person.addresses.order_by("-valid_to", "-valid_from", "pk")]
    entries = []
    for e in person.entries.prefetch_related("offences").order_by("-incident_date", "pk"):
        entries.append({
            "incident_date": e.incident_date, "hazard_level": e.hazard_level,
            "offences": [o.label for o in e.offences.all().order_by("-level", "sort", "label")],
            "source": e.get_source_display(),
        })
    return {
        "id": person.pk,
        "last_name": person.last_name, "first_names": person.first_names,
        "birth_name": person.birth_name, "aliases": list(person.aliases or []),
        "date_of_birth": person.date_of_birth,
        "addresses": addresses,
        "hazard_level": person.hazard_level, "last_incident_on": person.last_incident_on,
        "entries": entries,
        "measures": [m.label for m in person.measures.all()],
        "status": person.status, "status_label": person.get_status_display(),
        "review_on": person.review_on, "delete_on": person.delete_on,
    }


def access_report(user, person_id, *, purpose: str = "Auskunft nach Art. 15 DSGVO") -> dict:
    """The complete Art. 15 report as a JSON-ready dict (audited read)."""
    _require_reader(user)
    with transaction.atomic():
        person = _person(person_id)
        audit.record_read(person, actor=user, purpose=purpose,
                          action="register.person.access_report")
        report = {
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
            "lookups_per_unit": lookup_counts(person),
            "lookup_log_days": settings.REGISTER_ACCESS_LOG_DAYS,
            "rights_requests": [
                {"kind": r.kind, "kind_label": r.get_kind_display(), "received_on": r.received_on,
                 "state": r.state, "state_label": r.get_state_display()}
                for r in person.rights_requests.order_by("received_on", "pk")],
            "rights": RIGHTS,
            "supervisory_authority": SUPERVISORY_AUTHORITY,
        }
    return report


RIGHTS = [
    "Auskunft über die gespeicherten Daten (Art. 15 DSGVO)",
    "Berichtigung unrichtiger Daten (Art. 16 DSGVO)",
    "Löschung (Art. 17 DSGVO)",
    "Einschränkung der Verarbeitung (Art. 18 DSGVO)",
    "Widerspruch gegen die Verarbeitung aus Gründen Ihrer besonderen Situation "
    "(Art. 21 DSGVO)",
    "Beschwerde bei der Aufsichtsbehörde (Art. 77 DSGVO)",
]


def access_report_pdf(user, person_id) -> tuple[str, bytes]:
    from beistand.register import letters

    data = access_report(user, person_id)
    return f"auskunft-art15-{person_id}.pdf", letters.access_report_pdf(data)


def letter_pdf(user, request_id) -> tuple[str, bytes]:
    """The letter of a request: Art. 14 notification, or the decision letter of Art. 15-21."""
    from beistand.register import letters

    _require_reader(user)
    with transaction.atomic():
        req = _request(request_id)
        if req.person.status == RegisterPerson.Status.DELETED:
            raise Conflict("Die Eintragung ist gelöscht; das Schreiben wurde bei der "
                           "Entscheidung einmalig erzeugt.")
        if req.kind != Kind.NOTIFICATION and req.state not in (State.GRANTED, State.REFUSED):
            raise Conflict("Das Schreiben gibt es erst nach der Entscheidung.")
        audit.record_read(req.person, actor=user, purpose=f"Schreiben zu Antrag {req.pk}",
                          action="register.rights.letter")
        if req.kind == Kind.NOTIFICATION:
            pdf = letters.notification_letter(req)
        elif req.kind == Kind.ACCESS and req.state == State.GRANTED:
            pdf = letters.access_report_pdf(access_report(user, req.person_id), request=req)
        else:
            pdf = letters.decision_letter(req)
    return f"schreiben-{req.kind}-{req.pk}.pdf", pdf
