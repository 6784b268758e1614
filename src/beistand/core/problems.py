"""RFC 9457 problem details (``application/problem+json``) with German ``detail`` texts."""

import json
from functools import cache

from django.http import HttpResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"

# German texts for pydantic's error types (``errors[].detail`` of an invalid-input problem is
# German like every ``detail``). ``{…}`` names a value of the error's context (a limit), filled
# in when present; a pydantic type not listed here gets the general "Ungültiger Wert." - never
# pydantic's English message. Our own validators' errors (``PydanticCustomError``, types not
# pydantic's) carry German messages and keep them.
_PYDANTIC_DE = {
    "missing": "Pflichtfeld fehlt.",
    "missing_argument": "Pflichtfeld fehlt.",
    "extra_forbidden": "Unbekanntes Feld.",
    "unexpected_keyword_argument": "Unbekanntes Feld.",
    "string_type": "Muss ein Text sein.",
    "string_unicode": "Muss ein gültiger Unicode-Text sein.",
    "string_too_short": "Ist zu kurz (mindestens {min_length} Zeichen).",
    "string_too_long": "Ist zu lang (höchstens {max_length} Zeichen).",
    "string_pattern_mismatch": "Hat nicht das erlaubte Format.",
    "string_not_ascii": "Darf nur ASCII-Zeichen enthalten.",
    "int_type": "Muss eine ganze Zahl sein.",
    "int_parsing": "Muss eine ganze Zahl sein.",
    "int_from_float": "Muss eine ganze Zahl sein.",
    "int_parsing_size": "Die Zahl ist zu groß.",
    "float_type": "Muss eine Zahl sein.",
    "float_parsing": "Muss eine Zahl sein.",
    "finite_number": "Muss eine endliche Zahl sein.",
    "decimal_type": "Muss eine Zahl sein.",
    "decimal_parsing": "Muss eine Zahl sein.",
    "bool_parsing": "Muss wahr oder falsch sein.",
    "bool_type": "Muss wahr oder falsch sein.",
    "datetime_type": "Muss ein Zeitpunkt im ISO-8601-Format sein.",
    "datetime_parsing": "Muss ein Zeitpunkt im ISO-8601-Format sein.",
    "datetime_from_date_parsing": "Muss ein Zeitpunkt im ISO-8601-Format sein.",
    "datetime_object_invalid": "Muss ein Zeitpunkt im ISO-8601-Format sein.",
    "timezone_naive": "Der Zeitpunkt darf keine Zeitzone haben.",
    "timezone_aware": "Der Zeitpunkt braucht eine Zeitzone.",
    "date_type": "Muss ein Datum im Format JJJJ-MM-TT sein.",
    "date_from_datetime_parsing": "Muss ein Datum im Format JJJJ-MM-TT sein.",
    "date_from_datetime_inexact": "Muss ein Datum ohne Uhrzeit sein.",
    "date_parsing": "Muss ein Datum im Format JJJJ-MM-TT sein.",
    "date_past": "Muss in der Vergangenheit liegen.",
    "date_future": "Muss in der Zukunft liegen.",
    "datetime_past": "Muss in der Vergangenheit liegen.",
    "datetime_future": "Muss in der Zukunft liegen.",
    "time_type": "Muss eine Uhrzeit (HH:MM) sein.",
    "time_parsing": "Muss eine Uhrzeit (HH:MM) sein.",
    "time_delta_type": "Muss eine Dauer sein.",
    "time_delta_parsing": "Muss eine Dauer sein.",
    "enum": "Ist kein zulässiger Wert (erlaubt: {expected}).",
    "literal_error": "Ist kein zulässiger Wert (erlaubt: {expected}).",
    "list_type": "Muss eine Liste sein.",
    "tuple_type": "Muss eine Liste sein.",
    "set_type": "Muss eine Liste sein.",
    "iterable_type": "Muss eine Liste sein.",
    "too_short": "Zu wenige Einträge (mindestens {min_length}).",
    "too_long": "Zu viele Einträge (höchstens {max_length}).",
    "dict_type": "Muss ein Objekt sein.",
    "model_type": "Muss ein Objekt sein.",
    "model_attributes_type": "Muss ein Objekt sein.",
    "dataclass_type": "Muss ein Objekt sein.",
    "json_invalid": "Ungültiges JSON.",
    "json_type": "Muss JSON-Text sein.",
    "value_error": "Ungültiger Wert.",
    "assertion_error": "Ungültiger Wert.",
    "greater_than": "Muss größer als {gt} sein.",
    "greater_than_equal": "Ist zu klein (mindestens {ge}).",
    "less_than": "Muss kleiner als {lt} sein.",
    "less_than_equal": "Ist zu groß (höchstens {le}).",
    "multiple_of": "Muss ein Vielfaches von {multiple_of} sein.",
    "uuid_type": "Muss eine UUID sein.",
    "uuid_parsing": "Muss eine UUID sein.",
    "uuid_version": "Muss eine UUID sein.",
    "url_type": "Muss eine Adresse (URL) sein.",
    "url_parsing": "Muss eine Adresse (URL) sein.",
    "url_syntax_violation": "Muss eine Adresse (URL) sein.",
    "url_too_long": "Die Adresse (URL) ist zu lang.",
    "url_scheme": "Die Adresse (URL) hat ein nicht erlaubtes Schema.",
    "bytes_type": "Muss ein Text sein.",
    "bytes_too_short": "Ist zu kurz.",
    "bytes_too_long": "Ist zu lang.",
    "none_required": "Muss leer (null) sein.",
    "union_tag_invalid": "Ist kein zulässiger Wert.",
    "union_tag_not_found": "Pflichtfeld fehlt.",
    "recursion_loop": "Ungültiger Wert.",
}
_GENERAL = "Ungültiger Wert."


@cache
def _pydantic_types() -> frozenset[str]:
    from typing import get_args

    from pydantic_core.core_schema import ErrorType

    return frozenset(get_args(ErrorType))


def _german(err: dict) -> str:
    err_type = err.get("type", "")
    template = _PYDANTIC_DE.get(err_type)
    if template is None:
        # Our own validators' types (e.g. ``nul_character``) carry a German message.
        return _GENERAL if err_type in _pydantic_types() else err.get("msg") or _GENERAL
    ctx = err.get("ctx") or {}
    try:
        return template.format(**{k: _ctx_text(v) for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError):
        # A context value the text names is absent: the text without its parenthesis.
        return template.split(" (", 1)[0].split(" {", 1)[0].rstrip(".") + "."


def _ctx_text(value) -> str:
    # "'coming' or 'cannot'" (pydantic's English list of the expected values) -> „coming“, „cannot“
    text = str(value)
    return text.replace("' or '", "“ oder „").replace("', '", "“, „").replace("'", "„", 1) \
        .rstrip("'") + ("“" if text.endswith("'") else "")


def problem(status: int, title: str, detail: str, *, type_slug: str = "about:blank",
            errors: list | None = None, headers: dict | None = None,
            extensions: dict | None = None) -> HttpResponse:
    body = {
        "type": type_slug if type_slug == "about:blank" else f"/api/v1/problems/{type_slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    # RFC 9457 extension members, e.g. ``allowed_actions`` of a refused workflow step.
    body.update(extensions or {})
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status,
                            content_type=PROBLEM_CONTENT_TYPE)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def field_errors_from_pydantic(errors) -> list[dict]:
    """Turn ninja/pydantic error dicts into [{"field": "a.b", "detail": "..."}]."""
    result = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        # ninja prefixes locations with the parameter source ("body", "query", "path") and the
        # schema argument name; the client only knows the field path.
        while loc and loc[0] in {"body", "query", "path", "form", "header", "cookie", "payload",
                                 "data"}:
            loc = loc[1:]
        field = ".".join(loc) or "body"
        result.append({"field": field, "detail": _german(err)})
    return result
