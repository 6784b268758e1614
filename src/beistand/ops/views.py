"""``/health/live``, ``/health/ready`` and ``/metrics``: no login, no session, no CSRF."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from beistand.ops import health

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    ok, checks = health.ready()
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks},
                        status=200 if ok else 503)


def _metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and hmac.compare_digest(
            header[len("Bearer "):].strip().encode(), token.encode())
    return request.META.get("REMOTE_ADDR", "") in LOOPBACK


@never_cache
@require_GET
def metrics(request):
    if not _metrics_allowed(request):
        return JsonResponse({"detail": "Metriken nur mit Token oder von localhost."},
                            status=403)
    from prometheus_client import CONTENT_TYPE_LATEST

    from beistand.ops.metrics import render

    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
