"""Error pages: German HTML for people, problem+json under /api/."""

import logging

from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader

from beistand.core.problems import problem

logger = logging.getLogger(__name__)

_TEXT = {
    400: ("Ungültige Anfrage",
          "Die Anfrage konnte nicht verarbeitet werden. Es wurde nichts gespeichert."),
    403: ("Keine Berechtigung",
          "Für diese Seite fehlt Ihnen die Berechtigung. Wenn Sie sie dienstlich brauchen, "
          "wenden Sie sich an die Administration."),
    404: ("Seite nicht gefunden",
          "Diese Seite gibt es nicht. Vielleicht ist der Link veraltet oder die Adresse "
          "vertippt."),
    500: ("Interner Fehler",
          "Ein unerwarteter Fehler ist aufgetreten. Es wurde nichts gespeichert. Bitte "
          "versuchen Sie es erneut. Bleibt der Fehler, wenden Sie sich an die Administration."),
}

CSRF_TITLE = "Formular abgelaufen"
CSRF_DETAIL = ("Das Formular ist abgelaufen oder wurde nicht aus beistand heraus abgeschickt. "
               "Es wurde nichts gespeichert. Bitte laden Sie die Seite neu und versuchen Sie es "
               "noch einmal. Im Browser müssen Cookies für beistand erlaubt sein.")


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


# The API's problem types of these answers (docs/alarm-protocol.md): a URL under /api/ that
# matches no operation (a non-numeric id, a trailing slash) is "not-found" like an unknown id.
_API_TYPES = {400: "invalid-input", 403: "forbidden", 404: "not-found",
              405: "method-not-allowed", 500: "server-error"}


def _page(request, status, title, detail):
    if _is_api(request):
        return problem(status, title, detail, type_slug=_API_TYPES.get(status, "about:blank"))
    return render(request, "core/error.html",
                  {"title": title, "detail": detail, "status": status}, status=status)


def _respond(request, status):
    title, detail = _TEXT[status]
    return _page(request, status, title, detail)


def bad_request(request, exception=None):
    return _respond(request, 400)


def forbidden(request, exception=None):
    return _respond(request, 403)


def not_found(request, exception=None):
    return _respond(request, 404)


def server_error(request):
    """Rendered without context processors: the database may be what failed."""
    title, detail = _TEXT[500]
    if _is_api(request):
        return problem(500, title, detail, type_slug="server-error")
    try:
        html = loader.render_to_string(
            "core/error.html", {"title": title, "detail": detail, "status": 500, "bare": True})
    except Exception:  # the error page itself must never fail
        logger.exception("rendering the 500 page failed")
        html = (f'<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>{title}'
                f"</title></head><body><main><h1>{title}</h1><p>{detail}</p></main></body>"
                "</html>")
    return HttpResponse(html, status=500)


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: a German page instead of Django's English one."""
    return _page(request, 403, CSRF_TITLE, CSRF_DETAIL)


def method_not_allowed(request, allowed: list[str]):
    response = _page(request, 405, "Aktion nicht möglich",
                     "Diese Adresse nimmt nur abgeschickte Formulare an. Bitte nutzen Sie die "
                     "Schaltfläche auf der Seite.")
    response["Allow"] = ", ".join(allowed)
    return response


def domain_error(request, exc):
    """A service's DomainError as a German page with its status (or problem+json)."""
    if _is_api(request):
        retry_after = getattr(exc, "retry_after", None)
        return problem(exc.status, exc.title, exc.detail, errors=exc.errors,
                       headers={"Retry-After": str(retry_after)} if retry_after else None)
    return render(request, "core/error.html",
                  {"title": exc.title, "detail": exc.detail, "status": exc.status},
                  status=exc.status)
