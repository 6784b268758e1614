"""Thin views: they call web.services and render; rules and role checks live in services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from beistand.core import error_pages as errors
from beistand.web import services


@login_required
def start(request):
    page = services.start_page_for(request.user, request)
    return render(request, "web/start.html", {"page": page})


@login_required
def verify_audit(request):
    """The DPO checks the audit chain. htmx swaps the status in; without JS we redirect back."""
    if request.method != "POST":
        return errors.method_not_allowed(request, ["POST"])
    status = services.verify_audit_trail(request.user)  # a refusal: core's DomainError page
    if request.headers.get("HX-Request"):
        return render(request, "web/includes/audit_result.html",
                      {"audit": status, "fresh": True})
    if status.ok:
        messages.success(request, f"Prüfprotokoll geprüft: {status.checked} Einträge, "
                                  "die Kette ist intakt.")
    else:
        messages.error(request, f"Prüfprotokoll beschädigt: {status.reason}")
    return redirect("web:start")
