"""The DPO's page: open rights requests and deadlines, misuse signals of the register look-ups,
and the generated records (Art. 30 record, DPIA skeleton) as Markdown and PDF."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.core.errors import DomainError
from beistand.stats import dpo_records
from beistand.web import errors

SIGNAL_DAYS = 30


@login_required
def overview(request):
    try:
        accounts.require_role(request.user, Role.DPO)
        from beistand.register import access_log

        today = timezone.localdate()
        requests = dpo_records.open_rights_requests(request.user, today)
        signals = access_log.misuse_signals(request.user, today, days=SIGNAL_DAYS)
    except DomainError as exc:
        return errors.domain_error(request, exc)
    return render(request, "stats/dpo.html", {
        "requests": requests, "overdue": sum(r.overdue for r in requests),
        "signals": signals, "signal_days": SIGNAL_DAYS,
    })


@login_required
def document(request, document: str, fmt: str):
    try:
        name, content, content_type = dpo_records.render_document(request.user, document, fmt)
    except DomainError as exc:
        return errors.domain_error(request, exc)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
