"""URLs of the log-scrubbing test (tests/security/test_secrets_in_logs.py): the project's own
URLs plus one view that fails with an exception carrying what the request carried - as code
does that quotes its input in an error message."""

from django.urls import path

from beistand.urls import urlpatterns as project_urls


def boom(request, device_token):
    raise RuntimeError(
        f"Gerät {device_token} abgelehnt: {request.get_full_path()} "
        f"Authorization={request.headers.get('Authorization')} "
        f"Signatur {request.headers.get('X-Beistand-Signature')} "
        f"Körper {request.body.decode()}")


urlpatterns = [path("boom/<str:device_token>/", boom), *project_urls]
