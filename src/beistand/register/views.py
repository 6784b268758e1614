"""Register pages: the querier's look-up (Auskunft), the DPO's access log and the ZKS pages.

Thin views: they parse forms and call the register's public face (``register.services``). A
DomainError they do not handle becomes the German error page (``core.middleware``); they catch
one only to show it differently (the form again, or a message on the page). There is deliberately no
list of persons for queriers: a look-up needs a purpose and more than a last name, and its
details need a second, logged click.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.core import error_pages as errors
from beistand.core.errors import DomainError, InvalidInput, NotFound
from beistand.register import forms
from beistand.register import services as register
from beistand.register.models import Lookup, ProtectiveMeasure, RegisterPerson, RightsRequest
from beistand.reports.forms import LEVELS

# What a querier should do at each hazard level (the Aachen model, as on the report form).
LEVEL_TITLES = {0: "keine besondere Gefahr", 1: "erhöhte Vorsicht", 2: "Gefahr",
                3: "akute Gefahr"}
FIELD_LABELS = {"last_name": "Name", "first_name": "Vorname", "first_names": "Vorname",
                "date_of_birth": "Geburtsdatum", "birth_name": "Geburtsname",
                "alias": "weiterer Name", "aliases": "weiterer Name", "street": "Straße",
                "postal_code": "PLZ", "city": "Ort", "address": "Anschrift",
                "house_number": "Hausnummer", "swapped": "Vor- und Nachname vertauscht"}
HOW_LABELS = {"exact": "genau", "normalised": "andere Schreibweise",
              "normalized": "andere Schreibweise", "phonetic": "klingt gleich",
              "fuzzy": "ähnlich geschrieben", "typo": "Tippfehler", "swapped": "vertauscht",
              "tolerance": "abweichend (Zahlendreher)", "alias": "weiterer Name",
              "birth_name": "Geburtsname", "current": "aktuelle Anschrift"}


def _fmt_date(value) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value.strftime("%d.%m.%Y")


def _match_texts(match) -> list[str]:
    """The service's "which field matched how" as short German phrases."""
    texts = []
    for item in match:
        label = FIELD_LABELS.get(item["field"], item["field"])
        how_text = HOW_LABELS.get(item["how"], item["how"])
        texts.append(f"{label}: {how_text}" if how_text else label)
    return texts


def _level(level) -> dict:
    level = int(level or 0)
    return {"value": level, "title": LEVEL_TITLES.get(level, ""),
            "text": LEVELS.get(level, ("", ""))[1]}


def _candidate(c: dict) -> dict:
    """A look-up candidate or detail (dicts from register.lookup) as the templates show it."""
    return {
        "id": c["entry_id"],
        "name": ", ".join(p for p in (c["last_name"], c["first_names"]) if p),
        "date_of_birth": _fmt_date(c["date_of_birth"]),
        "level": _level(c["hazard_level"]),
        "last_incident": _fmt_date(c["last_incident_on"]),
        "measures": c["measures"],  # labels, in catalogue order
        "match": _match_texts(c.get("match", [])),
        "score": c.get("score"),
    }


# --- Querier: the look-up --------------------------------------------------------------------

def _lookup_page(request, person_form, address_form, mode="person", status=200):
    return render(request, "register/lookup.html", {
        "person_form": person_form, "address_form": address_form, "mode": mode,
    }, status=status)


@login_required
def lookup(request):
    """The look-up form (GET) and its result (POST): a warning card per candidate, or none."""
    accounts.require_role(request.user, Role.QUERIER)
    if request.method == "GET":
        mode = "address" if request.GET.get("modus") == "anschrift" else "person"
        return _lookup_page(request, forms.PersonLookupForm(), forms.AddressLookupForm(), mode)
    if request.method != "POST":
        return errors.method_not_allowed(request, ["GET", "POST"])
    mode = "address" if request.POST.get("mode") == "address" else "person"
    if mode == "address":
        form = forms.AddressLookupForm(request.POST)
        person_form, address_form = forms.PersonLookupForm(), form
    else:
        form = forms.PersonLookupForm(request.POST)
        person_form, address_form = form, forms.AddressLookupForm()
    if not form.is_valid():
        return _lookup_page(request, person_form, address_form, mode, status=400)
    try:
        if mode == "address":
            result = register.lookup_address(request.user, **form.service_kwargs())
        else:
            result = register.lookup_person(request.user, **form.service_kwargs())
    except InvalidInput as exc:
        form.service_error(exc.field, exc.detail)
        return _lookup_page(request, person_form, address_form, mode, status=400)
    candidates = [_candidate(c) for c in result["candidates"]]
    d = form.cleaned_data
    if mode == "address":
        asked = " ".join(p for p in (d["street"], d["house_number"]) if p) + f", {d['postal_code']}"
    else:
        asked = ", ".join(p for p in (d["last_name"], d["first_name"]) if p)
        if d["date_of_birth"]:
            asked += f", geb. {d['date_of_birth']:%d.%m.%Y}"
    return render(request, "register/result.html", {
        "lookup_id": result["id"], "candidates": candidates, "mode": mode,
        "asked": asked, "purpose": d["purpose"],
        "asked_at": timezone.localtime().strftime("%d.%m.%Y, %H:%M Uhr"),
    })


@login_required
def lookup_detail(request):
    """The second click: incident categories and dates of one shown person (logged)."""
    accounts.require_role(request.user, Role.QUERIER)
    if request.method != "POST":
        return errors.method_not_allowed(request, ["POST"])
    try:
        lookup_id = int(request.POST.get("lookup", ""))
        person_id = int(request.POST.get("person", ""))
    except ValueError:
        raise NotFound("Diese Abfrage gibt es nicht.") from None
    detail = register.lookup_detail(request.user, lookup_id, person_id)
    incidents = [{"date": _fmt_date(inc["incident_date"]), "level": _level(inc["hazard_level"]),
                  "offences": inc["offences"]} for inc in detail["incidents"]]
    contact = detail["zks_contact"]
    return render(request, "register/detail.html", {
        "card": _candidate(detail), "incidents": incidents, "lookup_id": lookup_id,
        "detail_id": detail["id"],
        "zks_contact": ", ".join(p for p in (contact["name"], contact["phone"], contact["email"])
                                 if p) if contact else "",
    })


# --- DPO: the access log ---------------------------------------------------------------------

def _log_row(entry: Lookup) -> dict:
    return {
        "id": entry.pk,
        "at": timezone.localtime(entry.at).strftime("%d.%m.%Y, %H:%M"),
        "kind": entry.get_kind_display(),
        "querier": entry.querier_label, "unit": entry.unit_code,
        "purpose": entry.purpose,
        "query": "; ".join(f"{FIELD_LABELS.get(k, k)}: {v}" for k, v in entry.query.items()
                           if v not in (None, "")),
        "shown": ", ".join(str(p) for p in entry.shown) or "keine",
        "keep": entry.keep_for_audit,
    }


def _log_filters(form) -> dict:
    d = form.cleaned_data
    return {"querier": d.get("querier") or None, "person_id": d.get("person_id"),
            "since": d.get("since"), "until": d.get("until")}


LOG_PAGE_SIZE = 200


@login_required
def access_log(request):
    accounts.require_role(request.user, Role.DPO)
    form = forms.AccessLogFilterForm(request.GET or None)
    filters = _log_filters(form) if form.is_bound and form.is_valid() else {}
    if form.is_bound and not form.is_valid():
        filters = None
    if request.GET.get("format") == "csv" and filters is not None:
        content = register.export_access_log_csv(request.user, **filters)
        if isinstance(content, str):
            content = content.encode("utf-8-sig")
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="zugriffsprotokoll-{timezone.localdate():%Y-%m-%d}.csv"')
        return response
    rows, total, signals = [], 0, []
    if filters is not None:
        entries = register.search_access_log(request.user, **filters)
        total = len(entries)
        rows = [_log_row(e) for e in entries[:LOG_PAGE_SIZE]]
    signals = _signals(register.misuse_signals(request.user, timezone.localdate()))
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    return render(request, "register/access_log.html", {
        "form": form, "rows": rows, "total": total, "page_size": LOG_PAGE_SIZE,
        "signals": signals, "csv_url": f"?{csv_query.urlencode()}",
        "status": 400 if filters is None else 200,
    }, status=400 if filters is None else 200)


def _signals(signals) -> list[dict]:
    """Misuse signals (access_log.Signal) as the template shows them."""
    return [{"title": sig.title, "text": sig.detail, "lookups": sig.lookup_ids}
            for sig in signals]


@login_required
def keep_for_audit(request, lookup_id: int):
    accounts.require_role(request.user, Role.DPO)
    if request.method != "POST":
        return errors.method_not_allowed(request, ["POST"])
    reason = request.POST.get("reason", "").strip()
    try:
        if not reason:
            raise InvalidInput("Bitte geben Sie an, für welche Prüfung der Eintrag aufbewahrt "
                               "wird.", field="reason")
        register.keep_for_audit(request.user, lookup_id, reason)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, f"Abfrage {lookup_id}: {exc.detail} Es wurde nichts geändert.")
    else:
        messages.success(request, f"Abfrage {lookup_id} wird für die Prüfung aufbewahrt und "
                                  "nicht nach einem Jahr gelöscht.")
    back = request.POST.get("next", "")
    if back.startswith("/register/zugriffsprotokoll/") and "//" not in back:
        return redirect(back)
    return redirect("register:access_log")


# --- ZKS: the register ----------------------------------------------------------------------

def _person_row(p: RegisterPerson) -> dict:
    return {"id": p.pk, "name": str(p), "date_of_birth": _fmt_date(p.date_of_birth),
            "level": _level(p.hazard_level), "status": p.get_status_display(),
            "review_on": _fmt_date(p.review_on), "last_incident": _fmt_date(p.last_incident_on)}


@login_required
def manage(request):
    accounts.require_role(request.user, Role.ZKS)
    today = timezone.localdate()
    # Reads of persons go through audited services (issue 16, finding 5).
    due = register.read_review_list(request.user, today)
    open_requests = list(register.list_rights_requests(request.user, state="open"))
    query = request.GET.get("name", "").strip()[:200]
    found = register.search_persons(request.user, query) if query else None
    return render(request, "register/manage.html", {
        "due": [_person_row(p) for p in due], "query": query,
        "found": [{**_person_row(p), "match_level": p.match_level,
                   "explanation": p.match_explanation} for p in found]
        if found is not None else None,
        "rights_requests": [_rights_row(r, today) for r in open_requests],
        "reason_form": forms.ReasonForm(),
    })


def _rights_row(r: RightsRequest, today) -> dict:
    return {"obj": r, "kind": r.get_kind_display(), "state": r.get_state_display(),
            "due": _fmt_date(r.due_on),
            "overdue": r.due_on < today and register.rights_request_facts(r.state).open,
            "defer_until": _fmt_date(r.defer_until), "person_id": r.person_id,
            "person": str(r.person),
            # A letter exists for the Art. 14 information and for every decided request.
            "letter_url": reverse("register:letter_pdf", args=[r.pk])
            if register.letter_exists(r) else "",
            "is_notification": r.kind == RightsRequest.Kind.NOTIFICATION,
            "is_rectification": r.kind == RightsRequest.Kind.RECTIFICATION,
            "open": register.rights_request_facts(r.state).open}


def _document_links(person_id: int) -> list[dict]:
    return [{"url": reverse("register:access_report_pdf", args=[person_id]),
             "label": "Auskunft nach Art. 15 DSGVO (PDF)"}]


@login_required
def person(request, person_id: int):
    accounts.require_role(request.user, Role.ZKS)
    # Identity, addresses, incidents and rights requests: one audited read (finding 5).
    record = register.read_person(request.user, person_id)
    p = record.person
    today = timezone.localdate()
    same = RegisterPerson.objects.in_bulk([d["person_id"] for d in record.same_persons])
    return render(request, "register/person.html", {
        "p": p, "row": _person_row(p), "today": today,
        "same_persons": [{**d, "name": str(same[d["person_id"]]),
                          "date_of_birth": _fmt_date(same[d["person_id"]].date_of_birth)}
                         for d in record.same_persons if d["person_id"] in same],
        "addresses": record.addresses,
        "entries": [{"obj": e, "date": _fmt_date(e.incident_date),
                     "offences": ", ".join(o.label for o in e.offences.all()),
                     "report_url": f"/meldungen/{e.report_id}/" if e.report_id else ""}
                    for e in record.entries],
        "measures": [(m, m.pk in record.measure_ids)
                     for m in ProtectiveMeasure.objects.filter(active=True)],
        "rights_requests": [_rights_row(r, today) for r in record.rights_requests],
        "rights_kinds": RightsRequest.Kind.choices,
        "documents": _document_links(p.pk),
    })


def _person_action(request, person_id, call, success):
    accounts.require_role(request.user, Role.ZKS)
    if request.method != "POST":
        return errors.method_not_allowed(request, ["POST"])
    try:
        call()
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, f"{exc.detail} Es wurde nichts geändert.")
    else:
        messages.success(request, success)
    back = request.POST.get("next", "")
    if back == "verwaltung":
        return redirect("register:manage")
    return redirect("register:person", person_id=person_id)


def _reason(request) -> str:
    reason = request.POST.get("reason", "").strip()
    if not reason:
        raise InvalidInput("Bitte geben Sie eine Begründung an.", field="reason")
    return reason


@login_required
def person_action(request, person_id: int):
    """One ZKS action on a person (a small form each on the person page)."""
    action = request.POST.get("action", "")
    post = request.POST
    def run():
        if action == "measures":
            register.set_measures(request.user, person_id, post.getlist("measures"))
        elif action == "restrict":
            register.restrict_person(request.user, person_id, _reason(request))
        elif action == "lift":
            register.lift_restriction(request.user, person_id, _reason(request))
        elif action == "outcome":
            register.record_case_outcome(request.user, outcome=post.get("outcome", ""),
                                    reason=_reason(request), person_id=person_id)
        elif action == "merge":
            other = _int(post.get("other"), "other",
                         "Bitte geben Sie die Nummer der doppelten Person an.")
            register.merge_persons(request.user, person_id, other, _reason(request))
        elif action == "distinct":
            other = _int(post.get("other"), "other", "Bitte geben Sie die andere Person an.")
            register.mark_distinct(request.user, person_id, other, _reason(request))
        elif action in ("extend", "delete"):
            register.decide_review(request.user, person_id, action, _reason(request))
        else:
            raise InvalidInput("Diese Aktion gibt es nicht.", field="action")

    success = {
        "measures": "Die empfohlenen Schutzmaßnahmen sind gespeichert.",
        "restrict": "Der Eintrag ist eingeschränkt: Abfragende sehen ihn nicht mehr.",
        "lift": "Die Einschränkung ist aufgehoben.",
        "outcome": "Der Ausgang des Verfahrens ist erfasst; der Eintrag ist eingeschränkt.",
        "merge": "Die Personen sind zusammengeführt.",
        "distinct": "Vermerkt: Es sind zwei verschiedene Personen.",
        "extend": "Die Speicherung ist verlängert; die nächste Prüfung ist vorgemerkt.",
        "delete": "Der Eintrag ist gelöscht.",
    }.get(action, "")
    response = _person_action(request, person_id, run, success)
    # A deleted person has no page any more: back to the task list.
    if action == "delete" and response.status_code == 302 and RegisterPerson.objects.filter(
            pk=person_id, status=RegisterPerson.Status.DELETED).exists():
        return redirect("register:manage")
    return response


def _int(value, field, message) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise InvalidInput(message, field=field) from None


@login_required
def rights_action(request, person_id: int):
    """Record or decide a request of the person (ZKS): create, decide, defer (Art. 14)."""
    post = request.POST

    def run():
        action = post.get("action", "")
        if action == "create":
            register.create_rights_request(request.user, person_id, post.get("kind", ""),
                                  _parse_date(post.get("received_on"), "received_on"),
                                  details=post.get("details", "").strip())
            return
        request_id = _int(post.get("request"), "request", "Diese Anfrage gibt es nicht.")
        if action == "defer":
            register.defer_rights_request(request.user, request_id, post.get("reason", ""),
                         post.get("defer_until", "").strip() or None)
        elif action == "decide":
            changes = {name: post.get(f"change_{name}", "").strip()
                       for name in ("last_name", "first_names", "date_of_birth")}
            changes = {k: v for k, v in changes.items() if v}
            register.decide_rights_request(request.user, request_id, post.get("decision", ""),
                          post.get("reason", ""), changes=changes or None)
        else:
            raise InvalidInput("Diese Aktion gibt es nicht.", field="action")

    return _person_action(request, person_id, run, "Der Antrag ist gespeichert.")


def _pdf(filename: str, content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def access_report_pdf(request, person_id: int):
    """Art. 15 report of the person as a PDF (ZKS/DPO)."""
    return _pdf(*register.access_report_pdf(request.user, person_id))


@login_required
def letter_pdf(request, request_id: int):
    """The letter of a rights request (Art. 14 information or a decision letter)."""
    return _pdf(*register.letter_pdf(request.user, request_id))


def _parse_date(value, field):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Bitte ein gültiges Datum angeben.", field=field) from None
