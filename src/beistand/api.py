"""The one JSON API, ``/api/v1/``: problem-detail error mapping, the health check, and the
routers of the domain apps (mounted here, at the project level, so that an app's router module
never imports the API that mounts it)."""

import ast
import builtins
import inspect
import re
from functools import cache, wraps
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpResponse
from django.urls import URLPattern
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from beistand.accounts.api import router as accounts_router
from beistand.accounts.api_auth import user_auth
from beistand.accounts.api_organisation import router as organisation_router
from beistand.alarms.api import device_router as alarm_device_router
from beistand.alarms.api import router as alarms_router
from beistand.alarms.api import sms_router as alarm_sms_router
from beistand.alarms.webpush import router as alarm_push_router
from beistand.core.errors import DomainError
from beistand.core.problems import PROBLEM_CONTENT_TYPE, field_errors_from_pydantic, problem
from beistand.mobile.api import router as mobile_router
from beistand.register.api import router as register_router
from beistand.register.api_rights import router as rights_router
from beistand.reports.api import catalogue_router, help_router, reports_router
from beistand.reports.api_documents import router as documents_router
from beistand.stats.api import router as stats_router

PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `detail` is German, for the user.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "/api/v1/problems/<slug>, e.g. "
                 "invalid-input, not-authenticated, forbidden, not-found, method-not-allowed, "
                 "conflict, rate-limited, locked-out, payload-too-large, malformed-json, "
                 "unavailable, server-error"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "detail"],
            "properties": {"field": {"type": "string"}, "detail": {"type": "string"}}}},
    },
}
# What each problem status means; the types per operation are derived (``problem_set``).
STATUS_TEXT = {
    400: "Ungültige Eingabe: nichts wurde geändert",
    401: "Anmeldung erforderlich",
    403: "Keine Berechtigung",
    404: "Nicht gefunden",
    409: "Konflikt mit dem Zustand",
    413: "Anfrage zu groß",
    422: "Inhalt abgelehnt",
    429: "Zu viele Anfragen; Retry-After, wenn bekannt",
    500: "Serverfehler",
    503: "Vorübergehend nicht verfügbar: sofort erneut versuchen",
}
_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                        "ß": "ss"})


def ascii_tag(tag: str) -> str:
    """Tags become package and module names in generated clients: ASCII only."""
    return tag.translate(_ASCII).encode("ascii", "ignore").decode()


# --- the problem responses of an operation, derived from its code ---------------------------------
#
# An operation's problems are (status, type) pairs from three sources, none of them a hand-kept
# list: (1) its shape - authentication (401 not-authenticated), a request body (400
# invalid-input and malformed-json, 413 payload-too-large), parameters (400 invalid-input), and
# 500 server-error for all; (2) the code it runs, read statically: the view function, its
# authentication and authorisation checks, and every beistand function they call (transitively)
# are parsed, and each ``raise`` of a ``DomainError`` subclass, ``PermissionDenied`` or
# ``Http404`` and each ``problem(<status>, …, type_slug=<slug>)`` with literal values counts;
# (3) the alarm trigger's fast path (``alarms.fastpath``), read the same way, for the routes it
# answers. A raise the analysis cannot resolve is not counted: tests/api_check.py compares what
# the whole test suite observed with what is declared, so a missed one fails a test.

_BUILTIN_PROBLEMS = {PermissionDenied: (403, "forbidden"), Http404: (404, "not-found"),
                     RequestDataTooBig: (413, "payload-too-large")}


def _problem_of(obj) -> tuple[int, str] | None:
    if not isinstance(obj, type):
        return None
    if issubclass(obj, DomainError):
        return (obj.status, obj.type_slug)
    return next((v for k, v in _BUILTIN_PROBLEMS.items() if issubclass(obj, k)), None)


def _resolve(node, namespace: dict):
    if isinstance(node, ast.Name):
        return namespace.get(node.id, getattr(builtins, node.id, None))
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, namespace)
        return None if base is None else inspect.getattr_static(base, node.attr, None)
    return None


def _literal(node):
    return node.value if isinstance(node, ast.Constant) else None


@cache
def _module_functions(filename: str) -> dict:
    """first line (of the decorators, as in ``co_firstlineno``) -> function node, per file."""
    try:
        tree = ast.parse(Path(filename).read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return {}
    return {min([node.lineno] + [d.lineno for d in node.decorator_list]): node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


@cache
def _direct(fn) -> tuple[frozenset, tuple]:
    """(problems raised in ``fn`` itself, beistand functions it calls)."""
    tree = _module_functions(fn.__code__.co_filename).get(fn.__code__.co_firstlineno)
    if tree is None:
        return frozenset(), ()
    namespace = {**fn.__globals__, **inspect.getclosurevars(fn).nonlocals}
    found, calls = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            pair = _problem_of(_resolve(target, namespace))
            if pair:
                found.add(pair)
        elif isinstance(node, ast.Call):
            callee = _resolve(node.func, namespace)
            if isinstance(callee, staticmethod | classmethod):
                callee = callee.__func__
            name = getattr(callee, "__name__", "")
            # problem(<status>, title, detail, type_slug=<slug>) and its kin (the fast path's)
            status = _literal(node.args[0]) if node.args else None
            slug = next((_literal(k.value) for k in node.keywords if k.arg == "type_slug"),
                        _literal(node.args[3]) if len(node.args) > 3 else None)
            if isinstance(status, int) and 400 <= status < 600 and isinstance(slug, str):
                found.add((status, slug))
            elif name == "get_object_or_404":
                found.add((404, "not-found"))
            elif inspect.isfunction(callee) and callee.__module__.startswith("beistand."):
                calls.append(callee)
            # A function handed on to be run (``engine.db(fn, …)``, ``call_later(fn)``).
            for arg in node.args:
                passed = _resolve(arg, namespace)
                if inspect.isfunction(passed) and passed.__module__.startswith("beistand."):
                    calls.append(passed)
    return frozenset(found), tuple(calls)


# Calls are followed this deep (the view is 0): the domain's refusals sit in the services and
# the modules right below them; deeper lie the ORM helpers, audit and rendering.
CALL_DEPTH = 4


@cache
def _closure(fn, depth: int) -> frozenset:
    direct, calls = _direct(fn)
    found = set(direct)
    if depth < CALL_DEPTH:
        for callee in calls:
            found |= _closure(inspect.unwrap(callee), depth + 1)
    return frozenset(found)


def raised_problems(*functions) -> set[tuple[int, str]]:
    """Every (status, type) the functions and what they call can raise (see above)."""
    found = set()
    for fn in functions:
        if fn is not None and inspect.isfunction(inspect.unwrap(fn)):
            found |= _closure(inspect.unwrap(fn), 0)
    return found


def _auth_functions(operation) -> list:
    """The code of an operation's authentication: each auth object's methods and its check."""
    functions = []
    for auth in operation.auth_callbacks or ():
        if inspect.isfunction(auth):
            functions.append(auth)
            continue
        for name in ("__call__", "authenticate"):
            method = getattr(type(auth), name, None)
            if inspect.isfunction(method) and method.__module__.startswith("beistand."):
                functions.append(method)
        check = getattr(auth, "check", None)
        if inspect.isfunction(check):
            functions.append(check)
    return functions


def _fast_path_answers(path: str, method: str) -> bool:
    from beistand.alarms import fastpath

    example = re.sub(r"{[^}]*}", "x", path)
    if example.rstrip("/") == fastpath.ALARMS_PATH:
        return method == "POST"
    return example.startswith(fastpath.TRIGGER_PREFIX)


def problem_set(operation, path: str, method: str, details: dict) -> set[tuple[int, str]]:
    """The problem responses (status, type slug) an operation can give."""
    found = {(500, "server-error")}
    if details.get("security"):
        found.add((401, "not-authenticated"))
        if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
            # Called with the browser's session cookie, a changing call needs the CSRF token;
            # without it: 403 "forbidden" (``_http_error``).
            found.add((403, "forbidden"))
    if "requestBody" in details:
        found |= {(400, "invalid-input"), (400, "malformed-json"), (413, "payload-too-large")}
    if details.get("parameters"):
        found.add((400, "invalid-input"))
    found |= raised_problems(operation.view_func, *_auth_functions(operation))
    if _fast_path_answers(path, method.upper()):
        from beistand.alarms import fastpath

        found |= raised_problems(fastpath.handle)
    return found


def problem_responses(problems) -> dict:
    """OpenAPI responses for (status, slug) pairs: per status the shared ``Problem`` schema with
    ``type`` narrowed to the types that status can have here."""
    responses = {}
    for status in sorted({s for s, _ in problems}):
        types = sorted(f"/api/v1/problems/{slug}" for s, slug in problems if s == status)
        schema = {"allOf": [{"$ref": "#/components/schemas/Problem"},
                            {"type": "object", "properties": {"type": {"enum": types}}}]}
        text = STATUS_TEXT.get(status, "Fehler")
        responses[status] = {
            "description": f"{text} ({', '.join(t.rsplit('/', 1)[1] for t in types)})",
            "content": {"application/problem+json": {"schema": schema}}}
    return responses


def complete_openapi(schema: dict, operations: dict | None = None) -> dict:
    """Every operation lists the problem responses it can give (``problem_set``: status and
    ``type``, one shared ``Problem`` schema), and tags are ASCII. Operation ids are explicit on
    every route (tests/api/test_openapi_contract.py): stable across releases."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method, details in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            operation = (operations or {}).get(details.get("operationId"))
            responses = details.setdefault("responses", {})
            if operation is not None:
                for code, response in problem_responses(
                        problem_set(operation, path, method, details)).items():
                    responses.setdefault(code, response)
            if "tags" in details:
                details["tags"] = [ascii_tag(t) for t in details["tags"]]
    for tag in schema.get("tags", []) or []:
        tag["name"] = ascii_tag(tag["name"])
    return schema


class BeistandAPI(NinjaAPI):
    def operations(self) -> dict:
        """operationId -> ninja operation, for every route."""
        found = {}
        for bound in self._get_bound_routers():
            for view in bound.path_operations.values():
                for operation in view.operations:
                    found[operation.operation_id
                          or self.get_openapi_operation_id(operation)] = operation
        return found

    def get_openapi_schema(self, *args, **kwargs):
        return complete_openapi(super().get_openapi_schema(*args, **kwargs), self.operations())

    def _get_urls(self):
        """A method a route does not have (``DELETE`` on ``/alarms``) is answered 405 with the
        ``method-not-allowed`` problem and ``Allow`` (Django Ninja answers plain text)."""
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _problem_for_405(pattern.callback)
        return patterns


def method_not_allowed(allow: str) -> HttpResponse:
    return problem(405, "Methode nicht erlaubt", "Diese Adresse nimmt diese Methode nicht an "
                   f"(erlaubt: {allow}).", type_slug="method-not-allowed",
                   headers={"Allow": allow})


def _problem_for_405(view):
    def as_problem(response):
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
                PROBLEM_CONTENT_TYPE):
            return method_not_allowed(response.get("Allow", ""))
        return response

    if inspect.iscoroutinefunction(view):
        async def wrapped(request, *args, **kwargs):
            return as_problem(await view(request, *args, **kwargs))
    else:
        def wrapped(request, *args, **kwargs):
            return as_problem(view(request, *args, **kwargs))
    return wraps(view)(wrapped)


api = BeistandAPI(
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
    if status == 403:
        # Django Ninja's CSRF check of a cookie-authenticated call ("CSRF check Failed"): the
        # operation's documented "forbidden", with a German reason.
        return problem(403, "Keine Berechtigung", "Die Sicherheitsprüfung (CSRF) ist "
                       "fehlgeschlagen: bitte die Seite neu laden oder mit einem Token "
                       "(Authorization: Bearer) anfragen.", type_slug="forbidden")
    return problem(status, "Fehler", str(exc), type_slug="http-error")


class Health(Schema):
    status: str


@api.get("/health", auth=None, response=Health, tags=["System"], operation_id="system_health")
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
