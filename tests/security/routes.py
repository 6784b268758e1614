"""Every route of beistand, taken from the URL conf and the OpenAPI schema (never listed by hand),
so that a new page or API operation shows up in the security tests by itself."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "api/v1/"


@dataclass(frozen=True)
class Route:
    key: str          # page: the URL pattern ("meldungen/<int:report_id>/"); API: "GET /api/v1/…"
    method: str
    pattern: str      # the pattern with its placeholders
    api: bool

    def __str__(self):
        return self.key


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def page_routes() -> list[Route]:
    """Every URL pattern outside the API (the API's operations come from its schema)."""
    seen, routes = set(), []
    for pattern in _walk(get_resolver().url_patterns):
        if pattern.startswith(API_PREFIX) and pattern not in ("api/v1/schema/", "api/v1/docs/"):
            continue
        if pattern not in seen:
            seen.add(pattern)
            routes.append(Route(pattern, "GET", pattern, api=False))
    return routes


def api_routes() -> list[Route]:
    from beistand.api import api

    routes = []
    for path, operations in api.get_openapi_schema()["paths"].items():
        for method in operations:
            routes.append(Route(f"{method.upper()} {path}", method.upper(), path, api=True))
    return routes


_DJANGO_ARG = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")
_API_ARG = re.compile(r"\{(?P<name>\w+)\}")


def url_for(route: Route, args: dict) -> str:
    """The concrete URL of a route; ``args`` names a value for each placeholder."""
    if route.api:
        return _API_ARG.sub(lambda m: str(args[m.group("name")]), route.pattern)
    path = route.pattern
    if path.startswith("^") or "(?P<" in path:
        # Regex patterns (the admin's app index and catch-all): fill the named groups.
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(args[m.group(1)]), path)
        path = path.replace("^", "").replace("$", "")
    return "/" + _DJANGO_ARG.sub(lambda m: str(args[m.group("name")]), path)
