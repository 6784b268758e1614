from django.conf import settings
from django.urls import include, path

from beistand.alarms import answer_page
from beistand.api import api
from beistand.core.admin_site import admin_site

urlpatterns = [
    path("api/v1/", api.urls),
    path("konto/", include("beistand.accounts.urls")),
    path("meldungen/", include("beistand.reports.urls")),
    path("register/", include("beistand.register.urls")),
    path("statistik/", include("beistand.stats.urls")),
    path("alarm/", include("beistand.alarms.urls")),
    # The one-time answer link of an alarm SMS: short, no login (beistand.alarms.answer_links).
    path("a/<str:token>", answer_page.answer, name="alarm_answer"),
    path("app/", include("beistand.mobile.urls")),
    path("django-admin/", admin_site.urls),
    path("", include("beistand.ops.urls")),  # /health/live, /health/ready, /metrics
    path("", include("beistand.web.urls")),
]
if settings.OIDC_ENABLED:
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "beistand.core.error_pages.bad_request"
handler403 = "beistand.core.error_pages.forbidden"
handler404 = "beistand.core.error_pages.not_found"
handler500 = "beistand.core.error_pages.server_error"
