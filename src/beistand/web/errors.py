"""Error pages: German HTML for people, problem+json under /api/."""

from django.shortcuts import render

from beistand.core.problems import problem

_TEXT = {
    400: ("Ungültige Anfrage", "Die Anfrage konnte nicht verarbeitet werden."),
    403: ("Keine Berechtigung", "Für diese Seite fehlt Ihnen die Berechtigung."),
    404: ("Nicht gefunden", "Diese Seite gibt es nicht."),
    500: ("Interner Fehler", "Ein unerwarteter Fehler ist aufgetreten. Es wurde nichts "
          "gespeichert. Bitte versuchen Sie es erneut."),
}


def _respond(request, status):
    title, detail = _TEXT[status]
    if request.path.startswith("/api/"):
        return problem(status, title, detail)
    return render(request, "web/error.html", {"title": title, "detail": detail}, status=status)


def bad_request(request, exception=None):
    return _respond(request, 400)


def forbidden(request, exception=None):
    return _respond(request, 403)


def not_found(request, exception=None):
    return _respond(request, 404)


def server_error(request):
    return _respond(request, 500)
