"""Statistics pages: the dashboard with filter bar, its CSV/XLSX export, the annual report
button; the DPO's records. Thin: forms in, services out; a DomainError becomes a German message
(400 with the form; otherwise the error page of ``core.middleware``), never a 500."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode

from beistand.core.errors import InvalidInput
from beistand.stats import exports, services
from beistand.stats.filters import (
    LOCATIONS,
    PERPETRATOR,
    Filters,
    default_period,
    parse_filters,
)
from beistand.stats.forms import FilterForm


def _filters_text(f: Filters, period: str) -> list[tuple[str, str]]:
    from beistand.stats.filters import DIMENSIONS

    lines = [("Zeitraum", f"{f.start:%d.%m.%Y} – {f.end:%d.%m.%Y}"),
             ("Zeiteinheit", DIMENSIONS[period])]
    if f.levels:
        lines.append(("Gefährdungsstufe", ", ".join(str(v) for v in f.levels)))
    if f.offences:
        lines.append(("Delikt", ", ".join(f.offences)))
    if f.unit:
        lines.append(("Organisationseinheit", f.unit))
    if f.site is not None:
        lines.append(("Standort", str(f.site)))
    if f.location:
        lines.append(("Ort", LOCATIONS[f.location]))
    if f.perpetrator:
        lines.append(("Täter/in", PERPETRATOR[f.perpetrator]))
    if f.police is not None:
        lines.append(("Polizei vor Ort", "ja" if f.police else "nein"))
    lines.append(("Gliederungsebene", str(f.unit_depth)))
    return lines


def _parse(request):
    data = request.GET.copy()
    start, end = default_period()
    for name, value in (("period", "quarter"), ("unit_depth", "2"),
                        ("from", start.isoformat()), ("to", end.isoformat())):
        if not data.get(name):
            data[name] = value
    form = FilterForm(data)
    try:
        filters = parse_filters(form.params())
    except InvalidInput as exc:
        form.show_error(exc.field, exc.detail)
        return form, None
    return form, filters


@login_required
def dashboard(request):
    services.require_reader(request.user)
    form, filters = _parse(request)
    this_year = timezone.localdate().year
    context = {"form": form, "years": list(range(this_year, this_year - 10, -1)),
               "report_year": this_year - 1, "dpo_url": None}
    if services.accounts.has_role(request.user, services.Role.DPO):
        context["dpo_url"] = reverse("stats:dpo")
    if filters is None:
        return render(request, "stats/dashboard.html", context, status=400)
    period = form.chosen_period()
    board = services.dashboard(request.user, filters, period)
    query = urlencode({**filters.as_params(), "period": period})
    context.update(board=board, filters_text=_filters_text(filters, period),
                   csv_url=f"{reverse('stats:export', args=['csv'])}?{query}",
                   xlsx_url=f"{reverse('stats:export', args=['xlsx'])}?{query}")
    return render(request, "stats/dashboard.html", context)


@login_required
def export(request, fmt: str):
    services.require_reader(request.user)
    form, filters = _parse(request)
    if filters is None or fmt not in exports.CONTENT_TYPES:
        detail = "; ".join(e for errs in form.errors.values() for e in errs) or \
            "Unbekanntes Format."
        raise InvalidInput(detail)
    period = form.chosen_period()
    board = services.dashboard(request.user, filters, period)
    build = exports.to_csv if fmt == "csv" else exports.to_xlsx
    data = build(board.all_tables, _filters_text(filters, period), board.k)
    response = HttpResponse(data, content_type=exports.CONTENT_TYPES[fmt])
    name = f"statistik-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.{fmt}"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@login_required
def annual_report(request):
    services.require_reader(request.user)
    name, pdf = services.annual_report_pdf(request.user, request.GET.get("jahr", ""))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
