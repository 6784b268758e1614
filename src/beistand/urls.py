from django.conf import settings
from django.urls import include, path

from beistand.api import api
from beistand.web.admin_site import admin_site

urlpatterns = [
    path("api/v1/", api.urls),
    path("konto/", include("beistand.accounts.urls")),
    path("meldungen/", include("beistand.reports.urls")),
    path("register/", include("beistand.register.urls")),
    path("statistik/", include("beistand.stats.urls")),
    path("alarm/", include("beistand.alarms.urls")),
    path("app/", include("beistand.mobile.urls")),
    path("django-admin/", admin_site.urls),
    path("", include("beistand.ops.urls")),  # /health/live, /health/ready, /metrics
    path("", include("beistand.web.urls")),
]
if settings.OIDC_ENABLED:
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "beistand.web.errors.bad_request"
handler403 = "beistand.web.errors.forbidden"
handler404 = "beistand.web.errors.not_found"
handler500 = "beistand.web.errors.server_error"
