from django.templatetags.static import static
from django.urls import path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from beistand.web import views

app_name = "web"
urlpatterns = [
    path("", views.start, name="start"),
    path("pruefprotokoll/pruefen/", views.verify_audit, name="verify_audit"),
    # Browsers ask for /favicon.ico on pages that link no icon (django-admin, JSON, PDF): the
    # shell's icon instead of a 404 in the log and in the browser console.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("web/favicon.svg"))),
]
