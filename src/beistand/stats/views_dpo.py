"""The DPO's page: open rights requests and deadlines, misuse signals of the register look-ups,
and the generated records (Art. 30 record, DPIA skeleton) as Markdown and PDF."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.register import services as register
from beistand.stats import dpo_records

SIGNAL_DAYS = 30


@login_required
def overview(request):
    accounts.require_role(request.user, Role.DPO)
    today = timezone.localdate()
    requests = dpo_records.open_rights_requests(request.user, today)
    signals = register.misuse_signals(request.user, today, days=SIGNAL_DAYS)
    return render(request, "stats/dpo.html", {
        "requests": requests, "overdue": sum(r.overdue for r in requests),
        "signals": signals, "signal_days": SIGNAL_DAYS,
    })


@login_required
def document(request, document: str, fmt: str):
    name, content, content_type = dpo_records.render_document(request.user, document, fmt)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
