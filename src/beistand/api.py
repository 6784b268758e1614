"""The one JSON API, ``/api/v1/``: problem-detail error mapping, the health check, and the
routers of the domain apps (mounted here, at the project level, so that an app's router module
never imports the API that mounts it)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from beistand.accounts.api import router as accounts_router
from beistand.alarms.api import device_router as alarm_device_router
from beistand.alarms.api import router as alarms_router
from beistand.alarms.api import sms_router as alarm_sms_router
from beistand.alarms.webpush import router as alarm_push_router
from beistand.core.api import user_auth
from beistand.core.errors import DomainError
from beistand.core.problems import field_errors_from_pydantic, problem
from beistand.mobile.api import router as mobile_router
from beistand.organisation.api import router as organisation_router
from beistand.register.api import router as register_router
from beistand.register.api_rights import router as rights_router
from beistand.reports.api import catalogue_router, help_router, reports_router
from beistand.reports.api_documents import router as documents_router
from beistand.stats.api import router as stats_router

api = NinjaAPI(
    title="beistand API",
    version="1",
    description="Schutz von Beschäftigten: Meldungen, Register, stiller Alarm. Fehler werden als "
    "application/problem+json (RFC 9457) mit deutschem `detail` geliefert.",
    urls_namespace="api",
    openapi_url="/schema/",
    docs_url="/docs/",
    # Swagger UI sets style attributes from script; everything else stays as strict as the site.
    docs_decorator=csp_override(
        {**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}),
    auth=user_auth,
)


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    # A refused workflow step names what the caller may do instead, at the top level too.
    allowed = next((e["allowed_actions"] for e in exc.errors
                    if isinstance(e, dict) and "allowed_actions" in e), None)
    retry_after = getattr(exc, "retry_after", None)
    return problem(exc.status, exc.title, exc.detail, type_slug=exc.type_slug, errors=exc.errors,
                   extensions=None if allowed is None else {"allowed_actions": allowed},
                   headers={"Retry-After": str(retry_after)} if retry_after else None)


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    errors = field_errors_from_pydantic(exc.errors)
    if any(e["detail"] == "Ungültiges JSON." for e in errors):
        return problem(400, "Ungültiges JSON", "Der Anfrageinhalt ist kein gültiges JSON.",
                       type_slug="malformed-json")
    first = errors[0] if errors else {"field": "body", "detail": "Ungültige Eingabe."}
    return problem(400, "Ungültige Eingabe", f"{first['field']}: {first['detail']}",
                   type_slug="invalid-input", errors=errors)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return problem(401, "Anmeldung erforderlich",
                   "Anmeldung erforderlich: gültiges Token fehlt, ist abgelaufen oder widerrufen.",
                   type_slug="not-authenticated", headers={"WWW-Authenticate": "Bearer"})


@api.exception_handler(PermissionDenied)
def _permission_denied(request, exc):
    return problem(403, "Keine Berechtigung", "Für diese Aktion fehlt Ihnen die Berechtigung.",
                   type_slug="forbidden")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem(404, "Nicht gefunden", "Die angeforderte Ressource gibt es nicht.",
                   type_slug="not-found")


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return problem(413, "Anfrage zu groß", "Der Anfrageinhalt überschreitet die zulässige Größe.",
                   type_slug="payload-too-large")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    status = exc.status_code
    if status == 400:
        return problem(400, "Ungültige Anfrage", "Der Anfrageinhalt ist kein gültiges JSON.",
                       type_slug="malformed-json")
    return problem(status, "Fehler", str(exc), type_slug="http-error")


class Health(Schema):
    status: str


@api.get("/health", auth=None, response=Health, tags=["System"])
def health(request):
    """Liveness: the process answers and the database is reachable."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok"}


api.add_router("/", accounts_router)
api.add_router("/organisation", organisation_router)
api.add_router("/reports", reports_router)
api.add_router("/reports", documents_router)
api.add_router("/catalogue", catalogue_router)
api.add_router("/help-requests", help_router)
api.add_router("/register", register_router)
api.add_router("/register", rights_router)
api.add_router("/stats", stats_router)
api.add_router("/", alarms_router)
api.add_router("/", alarm_device_router)
api.add_router("/", alarm_sms_router)
api.add_router("/", alarm_push_router)
api.add_router("/", mobile_router)
