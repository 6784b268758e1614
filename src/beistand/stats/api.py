"""API of the statistics, mounted at ``/stats``: anonymised, disclosure-controlled figures.

Only the statistics role, the ZKS, the DPO and the administration (every other role 403).
Query parameters are parsed by ``filters.py`` from the raw query string, so an unknown
parameter, dimension or value is a 400 problem with a German ``detail`` naming it.
"""

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from ninja import Router

from beistand.stats import services
from beistand.stats.filters import ALLOWED_PARAMS, parse_filters, refuse_unknown_params

router = Router(tags=["Statistik"])

_FILTER_DOC = (
    "Filter (alle optional, kombinierbar): `from`, `to` (JJJJ-MM-TT, höchstens 10 Jahre; "
    "Standard: die letzten drei Kalenderjahre bis heute), `level` (0–3, mehrere mit Komma), "
    "`offence` (Delikt-Kennungen), `unit` (Kennung einer Einheit, samt Untereinheiten), "
    "`site` (Standort-Id), `location` (office|field), `perpetrator` (known|unknown), "
    "`police` (true|false), `unit_depth` (1–5, Gliederungsebene bei `group_by=unit`).")


def _params(request, allowed=ALLOWED_PARAMS) -> dict:
    refuse_unknown_params(request.GET.keys(), allowed)
    return {key: request.GET.get(key) for key in request.GET}


@router.get("/incidents", summary="Vorfälle gezählt, gruppiert und gefiltert",
            description="`group_by`: bis zu drei von month, quarter, year, level, offence, unit, "
                        "site, location, perpetrator, police, injured (Standard: month). "
                        + _FILTER_DOC + " Zellen unter k (BEISTAND_STATS_MIN_CELL) stehen als "
                        "\"<k\", zum Schutz vor Rückrechnung aus Summen zurückgehaltene als "
                        "\"x\"; `suppressed` zählt beide.", operation_id="stats_incidents")
def incidents(request):
    services.require_reader(request.auth)
    query = services.parse_query(_params(request))
    return services.incident_counts(request.auth, query)


_NO_GROUP = ALLOWED_PARAMS - {"group_by"}


@router.get("/key-figures", summary="Kennzahlen des Zeitraums", description=_FILTER_DOC,
            operation_id="stats_key_figures")
def key_figures(request):
    services.require_reader(request.auth)
    filters = parse_filters(_params(request, _NO_GROUP))
    return {"from": filters.start.isoformat(), "to": filters.end.isoformat(),
            "min_cell": services.tables.min_cell(),
            "figures": services.key_figures(request.auth, filters)}


@router.get("/lead-times", summary="Bearbeitungszeiten je Schritt",
            description="Median, 90. Perzentil (Stunden) und Anteil innerhalb der Frist für "
                        "Meldung → Freigabe → Strafanzeige → Veröffentlichung. " + _FILTER_DOC,
            operation_id="stats_lead_times")
def lead_times(request):
    services.require_reader(request.auth)
    filters = parse_filters(_params(request, _NO_GROUP))
    return {"from": filters.start.isoformat(), "to": filters.end.isoformat(),
            "steps": services.lead_times(request.auth, filters)}


@router.get("/annual-report/{year}.pdf", summary="Jahresbericht als PDF",
            openapi_extra={"responses": {200: {"description": "PDF", "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}},
            operation_id="stats_annual_report")
def annual_report(request, year: int):
    filename, pdf = services.annual_report_pdf(request.auth, year)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
