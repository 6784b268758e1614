"""Pages of the silent alarm: the alarm page (trigger and browser receive client), the coverage
check, the alarm log with its detail page, statistics and CSV export.

Thin views: rules and role checks live in ``services``, ``coverage`` and ``reporting``; a
DomainError a view does not show differently becomes the German error page
(``core.middleware``), never a 500.
"""

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from beistand.accounts.roles import Role
from beistand.accounts.services import has_role
from beistand.alarms import coverage, report_hook, reporting, services
from beistand.alarms.models import Alarm
from beistand.core import error_pages as errors
from beistand.core.errors import AccessDenied, DomainError, InvalidInput
from beistand.organisation import services as org

LOG_ROLES = (Role.SECURITY, Role.ZKS, Role.ADMIN)
# How often the alarm page and the phone app ask for the coverage indicator over HTTP (seconds):
# a fallback - the server pushes it over the alarm WebSocket (frame "coverage") when it changes.
COVERAGE_REFRESH_SECONDS = 60
# The templates offered on the page, in this order (others an admin adds come after them).
PAGE_TEMPLATES = ["beistand", "bedrohung", "medizin", "amok", "probealarm"]
TEMPLATE_HINTS = {
    "beistand": "Kolleginnen und Kollegen in der Nähe kommen unauffällig zu Ihnen.",
    "bedrohung": "Akute Bedrohung: Hilfe kommt zu zweit, der Sicherheitsdienst ist informiert.",
    "medizin": "Ersthelferinnen und Ersthelfer kommen mit Erste-Hilfe-Material.",
    "amok": "Warnt das ganze Gebäude: niemand kommt, alle schließen sich ein.",
    "probealarm": "Nur ein Test an Ihre eigenen Geräte – niemand wird alarmiert.",
}


def _new_client_id() -> str:
    return f"web-{secrets.token_hex(8)}"


def _templates() -> list[dict]:
    rows = list(services.templates().filter(triggerable=True))
    rows.sort(key=lambda t: (PAGE_TEMPLATES.index(t.code) if t.code in PAGE_TEMPLATES
                             else len(PAGE_TEMPLATES), t.order, t.name))
    return [{"code": t.code, "name": t.name, "test": t.test, "come": t.come,
             "confirm": t.code == "amok" or t.audience in ("building", "site"),
             "hint": TEMPLATE_HINTS.get(t.code, ""), "checked": t.code == "beistand"}
            for t in rows]


def _recent(user) -> list[dict]:
    rows = []
    for alarm in reporting.participant_alarms(user):
        rows.append({
            "id": alarm.pk, "template": alarm.template.name, "state": alarm.get_state_display(),
            "at": timezone.localtime(alarm.triggered_at).strftime("%d.%m.%Y, %H:%M Uhr"),
            "role": "ausgelöst" if alarm.sender_user_id == user.pk else "geholfen",
            "report_url": (f"{reverse('reports:new')}?alarm={alarm.pk}"
                           if alarm.state == Alarm.State.RESOLVED and not alarm.report_id
                           else ""),
            "report_id": alarm.report_id,
        })
    return rows


@never_cache
@login_required
def page(request):
    """"Stiller Alarm": trigger button and the browser receive client (static/alarms/alarm.js)."""
    employee = org.employee_of(request.user)
    return render(request, "alarms/page.html", {
        "templates": _templates(), "employee": employee,
        "client_id": _new_client_id(), "recent": _recent(request.user),
        "heartbeat_s": settings.ALARM_HEARTBEAT_SECONDS,
        "coverage_refresh_s": COVERAGE_REFRESH_SECONDS,
        "report_url": reverse("reports:new"),
        "can_see_log": has_role(request.user, *LOG_ROLES),
    })


@login_required
def trigger(request):
    """Without JavaScript the trigger form posts here; with it, the page calls the API."""
    if request.method != "POST":
        return errors.method_not_allowed(request, ["POST"])
    code = request.POST.get("template", "beistand")
    if code == "amok" and request.POST.get("confirm") != "ja":
        messages.error(request, "Der Amok-Alarm wurde nicht ausgelöst: bitte die Rückfrage "
                                "bestätigen.")
        return redirect("alarms:page")
    client_id = request.POST.get("client_id", "")
    try:
        result = services.trigger(user=request.user, template=code, source="web",
                                  client_id=client_id if client_id.startswith("web-") else "")
    except DomainError as exc:
        messages.error(request, f"Der Alarm wurde nicht ausgelöst: {exc.detail}")
        return redirect("alarms:page")
    messages.success(request, f"Alarm wurde ausgelöst ({result.alarm.template.name}, "
                              f"Nr. {result.alarm.pk}).")
    return redirect("alarms:page")


# --- Coverage ---------------------------------------------------------------------------------

def _int_param(request, name) -> int | None:
    value = (request.GET.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput("Bitte einen Eintrag aus der Liste wählen.", field=name)
    return int(value)


@never_cache
@login_required
def coverage_page(request):
    """"Wer bekommt meinen Alarm jetzt?" – for the own workstation, or (admin, security, ZKS)
    for any room or employee."""
    from beistand.reports.forms import colleague_label, find_colleagues, room_choices

    privileged = has_role(request.user, *LOG_ROLES)
    context = {"privileged": privileged, "result": None, "error": "", "matches": [],
               "query": "", "room_id": "", "rooms": [], "status": 200}
    try:
        room_id = _int_param(request, "raum")
        employee_id = _int_param(request, "person")
        query = (request.GET.get("suche") or "").strip()[:100]
        context["query"] = query
        if (room_id or employee_id or query) and not privileged:
            raise AccessDenied("Die Abdeckung anderer Räume und Personen sehen nur "
                               "Administration, Sicherheitsdienst und ZKS.")
        if query and employee_id is None and room_id is None:
            found = find_colleagues(query, limit=20)
            if len(found) == 1:
                employee_id = found[0].pk
            else:
                context["matches"] = [{"id": e.pk, "label": colleague_label(e),
                                       "unit": str(e.unit)} for e in found]
                if not found:
                    raise InvalidInput(f"Niemand gefunden für „{query}“.", field="suche")
        if privileged:
            context["rooms"] = room_choices()
            context["room_id"] = str(room_id or "")
        if not context["matches"]:
            if room_id is None and employee_id is None and org.employee_of(request.user) is None:
                if not privileged:
                    raise InvalidInput("Ihrem Konto ist kein Arbeitsplatz zugeordnet.")
            else:
                context["result"] = _coverage_view(
                    coverage.for_request(request.user, room_id=room_id,
                                         employee_id=employee_id))
    except AccessDenied:
        raise
    except DomainError as exc:
        context["error"] = exc.detail
        context["status"] = exc.status
    return render(request, "alarms/coverage.html", context, status=context["status"])


def _coverage_view(data: dict) -> dict:
    tiers = data["tiers"]
    first = tiers[0] if tiers else None
    first_online = first["online"] if first else 0
    for tier in tiers:
        tier["offline"] = [p for p in tier["receivers"] if not p["online"]]
        tier["reached"] = [p for p in tier["receivers"] if p["online"]]
    return {**data, "first_tier_offline": first is not None and first_online == 0
            and first["kind"] != "external",
            "nobody": not any(t["online"] for t in tiers)}


# --- Alarm log ----------------------------------------------------------------------------------

@never_cache
@login_required
def log_page(request):
    if not has_role(request.user, *LOG_ROLES):
        raise AccessDenied(
            "Das Alarmprotokoll sehen nur Sicherheitsdienst, ZKS und Administration.")
    flt = reporting.parse_filter(request.GET)
    if request.GET.get("format") == "csv" and flt.valid:
        content = reporting.export_csv(request.user, flt)
        response = HttpResponse(content.encode("utf-8-sig"),
                                content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="alarmprotokoll-{timezone.localdate():%Y-%m-%d}.csv"')
        return response
    rows, total, stats = [], 0, None
    if flt.valid:
        rows, total = reporting.log(request.user, flt)
        stats = reporting.log_statistics(request.user, flt)
        stats["ack_median"] = reporting.seconds_text(stats["ack_median_s"])
        stats["ack_p90"] = reporting.seconds_text(stats["ack_p90_s"])
        peak = max((m["total"] for m in stats["months"]), default=0)
        for month in stats["months"]:
            month["percent"] = round(100 * month["total"] / peak) if peak else 0
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    status = 200 if flt.valid else 400
    return render(request, "alarms/log.html", {
        "filter": flt, "rows": rows, "total": total, "stats": stats,
        "page_size": reporting.PAGE_SIZE, "csv_url": f"?{csv_query.urlencode()}",
        "templates": services.templates().order_by("order"), "states": Alarm.State.choices,
        "values": {"von": request.GET.get("von", ""), "bis": request.GET.get("bis", ""),
                   "vorlage": request.GET.get("vorlage", ""),
                   "status": request.GET.get("status", "")},
        "status": status,
    }, status=status)


@never_cache
@login_required
def detail_page(request, alarm_id: int):
    """One alarm: facts, timeline, recipients, thread. Security/ZKS/admin and participants."""
    data = reporting.detail(request.user, alarm_id)
    alarm = data["alarm"]
    data["can_see_log"] = has_role(request.user, *LOG_ROLES)
    data["report_url"] = ""
    if alarm.state == Alarm.State.RESOLVED and not alarm.report_id \
            and report_hook.can_report(request.user, alarm):
        data["report_url"] = f"{reverse('reports:new')}?alarm={alarm.pk}"
    return render(request, "alarms/detail.html", data)
