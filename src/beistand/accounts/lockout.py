"""Response when django-axes refuses a locked-out login."""

from django.shortcuts import render

from beistand.core.problems import problem

MESSAGE = ("Zu viele Fehlversuche: Die Anmeldung ist vorübergehend gesperrt. Bitte versuchen Sie "
           "es später erneut oder wenden Sie sich an die Administration.")


def locked_out_response(request, credentials, *args, **kwargs):
    if request.path.startswith("/api/"):
        return problem(429, "Vorübergehend gesperrt", MESSAGE, type_slug="locked-out")
    return render(request, "accounts/locked_out.html", {"message": MESSAGE}, status=429)
