"""Report pages: form, "my reports", work queues, overdue list and the case page.

Thin views: they parse forms and call reports.services (and the help-request service). A
DomainError they do not handle themselves becomes the German error page
(``core.middleware.DomainErrorMiddleware``); they catch one only to do something else with it,
e.g. show the form or the case page again with the message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms.utils import ErrorDict, ErrorList
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.core import error_pages as errors
from beistand.core.errors import AccessDenied, Conflict, DomainError, InvalidInput, NotFound
from beistand.organisation import services as org
from beistand.reports import attachments as attachment_service
from beistand.reports import documents, forms, origins, services, workflow
from beistand.reports import help as help_service

DRAFT_HEADER = "X-Beistand-Draft"

ACTION_LABELS = {
    "create": "Angelegt (Entwurf)", "submit": "Eingereicht", "resubmit": "Erneut eingereicht",
    "release": "Von der/dem Vorgesetzten freigegeben",
    "return": "Zur Überarbeitung zurückgegeben",
    "file_complaint": "Strafanzeige/Hausverbot erfasst (Personalverwaltung)",
    "publish": "Im Register veröffentlicht (ZKS)", "close": "Abgeschlossen (ZKS)",
}


def _datetime(value) -> str:
    return timezone.localtime(value).strftime("%d.%m.%Y, %H:%M Uhr") if value else ""


def _deadline(report, now) -> dict:
    if report.due_at is None:
        return {"text": "", "overdue": False}
    return {"text": _datetime(report.due_at), "overdue": report.due_at < now,
            "iso": report.due_at.isoformat()}


def _row(report, now, user=None) -> dict:
    return {"report": report, "reference": report.reference,
            "url": reverse("reports:detail", args=[report.pk]),
            "occurred": _datetime(report.occurred_at), "status": report.get_status_display(),
            "tone": workflow.facts(report.status).tone,
            "deadline": _deadline(report, now),
            "offences": ", ".join(o.label for o in report.offences.all()),
            "responsible": workflow.facts(report.status).responsible_label,
            "actions": [forms.ACTION_TEXT.get(a, (a,))[0]
                        for a in services.allowed_actions(user, report)] if user else []}


def _timeline(report) -> list[dict]:
    entries = []
    for change in report.history.select_related("actor__employee").all():
        actor = change.actor
        employee = getattr(actor, "employee", None)
        entries.append({
            "label": ACTION_LABELS.get(change.action, change.action),
            "at": _datetime(change.at), "iso": change.at.isoformat(),
            "actor": employee.full_name if employee else actor.get_username(),
            "comment": change.comment, "status": change.get_to_status_display(),
            "data": change.data})
    return entries


# --- Report form ------------------------------------------------------------------------------

def _reporter(request):
    reporter = org.employee_of(request.user)
    if reporter is None or not reporter.active:
        raise AccessDenied("Melden können nur Beschäftigte dieser Behörde. Ihrem Konto ist kein "
                           "Beschäftigtendatensatz zugeordnet.")
    return reporter


def _suppress_errors(report_forms):
    """After "add another" (no JS) the form is shown again without validating it."""
    report_forms.main._errors = ErrorDict()
    for formset in report_forms.sets.values():
        formset._errors = []
        formset._non_form_errors = ErrorList()
        for form in formset.forms:
            form._errors = ErrorDict()


def _render_form(request, report_forms, *, report=None, status=200, show_errors=True,
                 action_url=None):
    if not show_errors:
        _suppress_errors(report_forms)
    summary = report_forms.error_summary() if show_errors and report_forms.bound else []
    user_key = f"u{request.user.pk}:{report.pk if report else 'neu'}"
    return render(request, "reports/form.html", {
        "forms": report_forms, "main": report_forms.main, "report": report,
        "summary": summary, "draft_key": user_key,
        "action_url": action_url or request.path,
    }, status=status)


def _limit_uploads(request) -> None:
    """Stop reading an oversized upload at once (before CSRF middleware would parse it)."""
    if request.method == "POST":
        request.upload_handlers.insert(0, attachment_service.SizeLimitUploadHandler(request))


def _check_uploads(request, report_forms) -> bool:
    """Refuse wrong types and oversized files before anything is saved."""
    problems = []
    if getattr(request, "upload_too_large", False):
        limit = attachment_service.max_bytes() // (1024 * 1024)
        problems.append(f"Eine Datei ist zu groß (höchstens {limit} MB je Datei). Bitte wählen "
                        "Sie die Anlagen erneut aus.")
    for upload in request.FILES.getlist("attachments"):
        if upload.size == 0:
            problems.append(f"{upload.name}: Die Datei ist leer.")
            continue
        upload.seek(0)
        if attachment_service.sniff(upload.read(16)) is None:
            problems.append(f"{upload.name}: Erlaubt sind Fotos (JPEG, PNG, HEIC) und "
                            "PDF-Dokumente.")
        upload.seek(0)
    for problem in problems:
        report_forms.main.add_error(None, problem)
        report_forms.attachment_error = problem
    return not problems


def _checked_uploads(request, report=None):
    """The uploaded files checked and virus-scanned before the saving transaction: the files to
    store, and German problems for those that will not be (the report is saved anyway)."""
    room = attachment_service.MAX_PER_REPORT - (report.attachments.count() if report else 0)
    return attachment_service.check_uploads(request.FILES.getlist("attachments"), room)


def _json_errors(report_forms) -> JsonResponse:
    return JsonResponse({"ok": False, "errors": [
        {"field": anchor, "label": label, "detail": str(message)}
        for anchor, label, message in report_forms.error_summary()]}, status=400)


def _after_save(request, report, submitted: bool, problems: list[str], draft_slot="neu"):
    if submitted:
        messages.success(request, f"Ihre Meldung {report.reference} ist abgesendet. Sie sehen "
                                  "hier, was mit ihr geschieht.")
    else:
        messages.success(request, f"Ihre Meldung {report.reference} ist als Entwurf "
                                  "gespeichert. Sie ist noch nicht abgesendet.")
    for problem in problems:
        messages.warning(request, f"Anlage nicht gespeichert – {problem}")
    url = reverse("reports:detail", args=[report.pk])
    if request.headers.get(DRAFT_HEADER):
        return JsonResponse({"ok": True, "id": report.pk, "reference": report.reference,
                             "status": report.status, "url": url}, status=201)
    # The case page tells draft.js to forget the local copy of this form.
    return redirect(f"{url}?entwurf={draft_slot}")


@csrf_exempt
@login_required
def new(request):
    _limit_uploads(request)
    return _new(request)


@csrf_protect
def _new(request):
    reporter = _reporter(request)
    # Started elsewhere, e.g. "Vorfall melden" after a silent alarm: /meldungen/neu/?alarm=<id>
    # starts prefilled, and the saved report is linked to the alarm.
    source = origins.from_query(request.GET)
    action_url = f"{request.path}?{source.query}" if source else None
    if request.method == "GET":
        initial = source.initial(request.user) if source else None
        return _render_form(request, forms.ReportForms(reporter=reporter, initial=initial),
                            action_url=action_url)
    if request.method != "POST":
        return errors.method_not_allowed(request, ["GET", "POST"])
    add = request.POST.get("add")
    report_forms = forms.ReportForms(request.POST, reporter=reporter, add=add)
    if add:
        return _render_form(request, report_forms, show_errors=False, action_url=action_url)
    submit = request.POST.get("intent") != "draft"
    valid = report_forms.is_valid()
    if not _check_uploads(request, report_forms) or not valid:
        if request.headers.get(DRAFT_HEADER):
            return _json_errors(report_forms)
        return _render_form(request, report_forms, status=400, action_url=action_url)
    files, problems = _checked_uploads(request)
    try:
        # One transaction: the report, its link to the alarm, its attachments, the submission.
        report = services.create_report(request.user, report_forms.to_input(reporter),
                                        submit=submit, source=source, files=files)
    except InvalidInput as exc:
        report_forms.apply_service_error(exc.field, exc.detail)
        if request.headers.get(DRAFT_HEADER):
            return _json_errors(report_forms)
        return _render_form(request, report_forms, status=400, action_url=action_url)
    return _after_save(request, report, submit, problems)


@csrf_exempt
@login_required
def edit(request, report_id: int):
    """The reporter edits a draft or a returned report, then saves or (re)submits it."""
    _limit_uploads(request)
    return _edit(request, report_id)


@csrf_protect
def _edit(request, report_id: int):
    reporter = _reporter(request)
    report = services.get_report(request.user, report_id, purpose="Meldung bearbeiten")
    if not workflow.facts(report.status).reporter_edits or report.reporter_id != reporter.pk:
        messages.error(request, "Diese Meldung können Sie nicht mehr bearbeiten.")
        return redirect("reports:detail", report_id=report.pk)
    if request.method == "GET":
        return _render_form(request, forms.ReportForms(
            reporter=reporter, initial=forms.initial_from_report(report)), report=report)
    if request.method != "POST":
        return errors.method_not_allowed(request, ["GET", "POST"])
    add = request.POST.get("add")
    report_forms = forms.ReportForms(request.POST, reporter=reporter, add=add)
    if add:
        return _render_form(request, report_forms, report=report, show_errors=False)
    submit = request.POST.get("intent") != "draft"
    valid = report_forms.is_valid()
    if not _check_uploads(request, report_forms) or not valid:
        if request.headers.get(DRAFT_HEADER):
            return _json_errors(report_forms)
        return _render_form(request, report_forms, report=report, status=400)
    files, problems = _checked_uploads(request, report)
    try:
        report = services.update_report(request.user, report.pk,
                                        report_forms.to_input(reporter), submit=submit,
                                        files=files)
    except InvalidInput as exc:
        report_forms.apply_service_error(exc.field, exc.detail)
        if request.headers.get(DRAFT_HEADER):
            return _json_errors(report_forms)
        return _render_form(request, report_forms, report=report, status=400)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("reports:detail", report_id=report.pk)
    return _after_save(request, report, submit, problems)


@login_required
@require_GET
def colleagues(request):
    """Suggestions for the victim field: name, unit, personnel number (JSON, max. 10)."""
    if org.employee_of(request.user) is None:
        return JsonResponse({"results": []}, status=403)
    found = forms.find_colleagues(request.GET.get("q", ""))
    return JsonResponse({"results": [
        {"value": forms.colleague_label(e), "unit": str(e.unit)} for e in found]})


# --- Lists --------------------------------------------------------------------------------------

@login_required
def mine(request):
    """The reporter's own reports with a status timeline each."""
    employee = org.employee_of(request.user)
    now = timezone.now()
    reports = services.visible_reports(request.user)
    if employee is not None:
        own = reports.filter(reporter=employee)
    else:
        own = reports.filter(created_by=request.user)
    rows = []
    for report in own.prefetch_related("offences").order_by("-created_at"):
        row = _row(report, now)
        row["timeline"] = _timeline(report)
        row["next"] = workflow.facts(report.status).next_step
        rows.append(row)
    return render(request, "reports/mine.html", {
        "rows": rows, "can_report": employee is not None})


def _work_roles(user) -> bool:
    return accounts.has_role(user, Role.SUPERVISOR, Role.PERSONNEL, Role.ZKS)


@login_required
def work_queue(request):
    if not _work_roles(request.user):
        raise AccessDenied(
            "Die Arbeitsliste gibt es für Vorgesetzte, die Personalverwaltung und die ZKS.")
    now = timezone.now()
    rows = [_row(r, now, request.user)
            for r in services.read_queue(request.user)]  # audited read
    sections = []
    for status, state in workflow.STATES.items():
        items = [row for row in rows if row["report"].status == status]
        if items and state.queue_title:
            sections.append({"status": status, "title": state.queue_title, "rows": items})
    return render(request, "reports/queue.html", {
        "sections": sections, "total": len(rows),
        "overdue": sum(1 for row in rows if row["deadline"]["overdue"]),
        "is_zks": accounts.has_role(request.user, Role.ZKS)})


@login_required
def overdue(request):
    accounts.require_role(request.user, Role.ZKS)
    now = timezone.now()
    rows = [_row(r, now) for r in services.overdue_reports(now).prefetch_related("offences")]
    return render(request, "reports/overdue.html", {"rows": rows})


# --- Case page ----------------------------------------------------------------------------------

DOCUMENT_LABELS = {"complaint": "Strafanzeige (PDF)", "accident": "Unfallanzeige (PDF)",
                   "summary": "Fallübersicht (PDF)"}


def _document_links(user, report) -> list[dict]:
    """Links to the PDFs this user may have now (the documents service decides)."""
    links = []
    for kind, label in DOCUMENT_LABELS.items():
        if kind == "accident" and report.incapacity_days is None:
            continue
        try:
            documents.KINDS[kind].check(user, report, None)
        except DomainError:
            continue
        links.append({"url": f"/api/v1/reports/{report.pk}/documents/{kind}", "label": label})
    return links


def _help_context(request, report):
    try:
        requests_ = help_service.help_requests_of_report(request.user, report)
    except DomainError:
        requests_ = []
    employee = org.employee_of(request.user)
    is_victim = employee is not None and report.victims.filter(pk=employee.pk).exists()
    requested = {r.offer_id for r in requests_ if employee and r.victim_id == employee.pk}
    offers = [o for o in services.help_offer_catalogue() if o.code not in requested]
    owned = help_service.owned_unit_codes(employee)
    items = [{"obj": r, "mine": employee is not None and r.victim_id == employee.pk,
              "owned": r.offer.unit_code in owned,
              "open": r.state in help_service.OPEN_STATES,
              "unit": forms.UNIT_NAMES.get(r.offer.unit_code, r.offer.unit_code)}
             for r in requests_]
    if not items and not is_victim:
        return None
    return {"items": items, "is_victim": is_victim, "offers": offers,
            "states": help_state_choices()}


def help_state_choices():
    from beistand.reports.models import HelpRequest

    return HelpRequest.State.choices


def _case_context(request, report, action_errors=None, posted=None):
    user = request.user
    now = timezone.now()
    actions = services.allowed_actions(user, report)
    employee = org.employee_of(user)
    is_reporter = employee is not None and report.reporter_id == employee.pk
    threshold = workflow.entry_threshold()
    action_forms = []
    for action in actions:
        label, text = forms.ACTION_TEXT.get(action, (action, ""))
        action_forms.append({"action": action, "label": label, "text": text,
                             "error": (action_errors or {}).get(action),
                             "posted": posted if posted and posted.get("action") == action
                             else {}})
    perpetrators = list(report.perpetrators.all())
    return {
        "report": report, "now": now, "deadline": _deadline(report, now),
        "occurred": _datetime(report.occurred_at),
        "offences": list(report.offences.all()),
        "victims": list(report.victims.select_related("unit")),
        "perpetrators": perpetrators,
        "witnesses": list(report.witnesses.all()),
        "attachments": list(report.attachments.all()),
        "timeline": _timeline(report), "next": workflow.facts(report.status).next_step,
        "actions": action_forms, "is_reporter": is_reporter,
        "can_edit": is_reporter and workflow.facts(report.status).reporter_edits,
        "threshold": threshold, "below_threshold": report.hazard_level < threshold,
        "publishable_people": [p for p in perpetrators if p.known and p.last_name],
        "documents": _document_links(user, report) if workflow.facts(report.status).shared else [],
        "help": _help_context(request, report),
        "level_text": forms.LEVELS.get(report.hazard_level, ("", ""))[1],
        "clear_draft": _draft_slot(request),
    }


def _draft_slot(request) -> str:
    slot = request.GET.get("entwurf", "")
    if slot == "neu" or slot.isdigit():
        return f"u{request.user.pk}:{slot}"
    return ""


@login_required
def detail(request, report_id: int):
    report = services.get_report(request.user, report_id, purpose="Fallansicht")
    return render(request, "reports/detail.html", _case_context(request, report))


ACTION_FIELDS = {"release": ("comment",), "return": ("comment",),
                 "file_complaint": ("police_file_number", "complaint_date", "house_ban_date",
                                    "comment"),
                 "publish": ("comment",), "close": ("reason",),
                 "submit": (), "resubmit": ()}


@login_required
def act(request, report_id: int):
    """One workflow action from the case page (a button/form per allowed action)."""
    if request.method != "POST":
        return errors.method_not_allowed(request, ["POST"])
    action = request.POST.get("action", "")
    payload = {name: request.POST.get(name, "").strip()
               for name in ACTION_FIELDS.get(action, ())}
    try:
        if action not in ACTION_FIELDS:
            raise Conflict("Diese Aktion gibt es nicht.")
        if action == "publish" and request.POST.get("confirm") != "yes":
            raise InvalidInput("Bitte bestätigen Sie, dass Sie die Angaben geprüft haben.",
                               field="confirm")
        report = services.transition(request.user, report_id, action, payload)
    except NotFound:
        raise
    except AccessDenied as exc:
        # Visible but not theirs to act on: say so on the case page.
        try:
            report = services.get_report(request.user, report_id, purpose="Fallansicht")
        except DomainError:
            raise exc from None
        return _case_with_error(request, report, action, exc, payload, 403)
    except DomainError as exc:
        report = services.get_report(request.user, report_id, purpose="Fallansicht")
        return _case_with_error(request, report, action, exc, payload, exc.status)
    label = ACTION_LABELS.get(action, action)
    messages.success(request, f"{report.reference}: {label}. Neuer Status: "
                              f"{report.get_status_display()}.")
    return redirect("reports:detail", report_id=report.pk)


def _case_with_error(request, report, action, exc, payload, status):
    error = {"detail": exc.detail, "field": exc.field, "title": exc.title}
    context = _case_context(request, report, action_errors={action: error},
                            posted={"action": action, **payload})
    context["page_error"] = error
    context["page_error_action"] = action
    return render(request, "reports/detail.html", context, status=status)


# --- Help requests ------------------------------------------------------------------------------

@login_required
def request_help(request, report_id: int):
    if request.method != "POST":
        return errors.method_not_allowed(request, ["POST"])
    codes = request.POST.getlist("offers")
    if not services.visible_reports(request.user).filter(pk=report_id).exists():
        # Refused before the form is looked at: no hint about reports the user may not see.
        raise NotFound("Diese Meldung gibt es nicht oder Sie dürfen sie nicht sehen.")
    try:
        if not codes:
            raise InvalidInput("Bitte wählen Sie mindestens ein Hilfsangebot aus.",
                               field="offers")
        help_service.request_help(request.user, report_id, codes)
    except (NotFound, AccessDenied):
        raise
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("reports:detail", report_id=report_id)
    messages.success(request, "Ihre Anfrage ist bei den zuständigen Stellen eingegangen.")
    return redirect("reports:detail", report_id=report_id)


@login_required
def help_requests(request):
    """Help requests the user may see: their own (victim) and those of their unit (owner)."""
    items = list(help_service.list_help_requests(request.user))
    employee = org.employee_of(request.user)
    owned = help_service.owned_unit_codes(employee)
    own = [r for r in items if employee and r.victim_id == employee.pk]
    unit = [r for r in items if r.offer.unit_code in owned]
    sections = [("Ihre Anfragen", own, False)]
    if owned:
        names = ", ".join(forms.UNIT_NAMES.get(c, c) for c in sorted(owned))
        sections.append((f"Anfragen an Ihre Stelle ({names})", unit, True))
    return render(request, "reports/help.html", {
        "sections": sections, "states": help_state_choices()})


@login_required
def update_help(request, request_id: int):
    if request.method != "POST":
        return errors.method_not_allowed(request, ["POST"])
    if not help_service.visible_help_requests(request.user).filter(pk=request_id).exists():
        raise NotFound("Diese Hilfeanfrage gibt es nicht.")
    try:
        help_service.update_help_request(request.user, request_id,
                                         request.POST.get("state", ""),
                                         request.POST.get("note", "").strip())
    except (NotFound, AccessDenied):
        raise
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Die Hilfeanfrage ist aktualisiert.")
    target = request.POST.get("next", "")
    if target.startswith("/meldungen/") and "//" not in target:
        return redirect(target)
    return redirect("reports:help")
