"""The one JSON API, ``/api/v1/``: authentication classes, problem-detail error mapping, and the
routers of the domain apps."""

from typing import Annotated

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import AfterValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from beistand.core.errors import DomainError
from beistand.core.problems import field_errors_from_pydantic, problem


class StrictSchema(Schema):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refuse it here instead of failing in the database.
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "Steuerzeichen (NUL) sind nicht erlaubt.")
    return value


# Text input of request bodies.
Str = Annotated[str, AfterValidator(_no_nul)]
# Database ids: beyond a 64-bit integer no row exists, and SQLite would overflow on a lookup.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class BearerUserAuth(HttpBearer):
    """``Authorization: Bearer bst_…`` — a person's API token."""

    openapi_scheme = "bearer"

    def authenticate(self, request, token):
        from beistand.accounts.services import user_for_api_token

        user = user_for_api_token(token)
        if user is not None:
            request.user = user
            # AuditActorMiddleware ran before the token was read; attribute this request's
            # audited writes to the token's user (the middleware's reset restores the context).
            from beistand.audit.context import _current, actor_for_user

            _current.set(actor_for_user(user, request.META.get("REMOTE_ADDR", "") or ""))
        return user


class BearerDeviceAuth(HttpBearer):
    """``Authorization: Bearer bsd_…`` — a device token (workstation, desk phone, button hub)."""

    def authenticate(self, request, token):
        from beistand.accounts.services import device_for_token

        device = device_for_token(token)
        if device is not None:
            request.device = device
        return device


class SessionUserAuth(APIKeyCookie):
    """The browser session (with CSRF), for htmx and same-origin scripts."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


user_auth = [BearerUserAuth(), SessionUserAuth()]
device_auth = [BearerDeviceAuth()]

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
    return problem(exc.status, exc.title, exc.detail, type_slug=exc.type_slug, errors=exc.errors,
                   extensions=None if allowed is None else {"allowed_actions": allowed})


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


def _mount_routers():
    from beistand.accounts.api import router as accounts_router
    from beistand.organisation.api import router as organisation_router
    from beistand.register.api import router as register_router
    from beistand.register.api_rights import router as rights_router
    from beistand.reports.api import catalogue_router, help_router, reports_router
    from beistand.reports.api_documents import router as documents_router

    api.add_router("/", accounts_router)
    api.add_router("/organisation", organisation_router)
    api.add_router("/reports", reports_router)
    api.add_router("/reports", documents_router)
    api.add_router("/catalogue", catalogue_router)
    api.add_router("/help-requests", help_router)
    api.add_router("/register", register_router)
    api.add_router("/register", rights_router)


_mount_routers()
