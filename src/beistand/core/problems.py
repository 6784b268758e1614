"""RFC 9457 problem details (``application/problem+json``) with German ``detail`` texts."""

import json

from django.http import HttpResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"

# German texts for the pydantic error types a client is most likely to hit.
_PYDANTIC_DE = {
    "missing": "Pflichtfeld fehlt.",
    "extra_forbidden": "Unbekanntes Feld.",
    "string_type": "Muss ein Text sein.",
    "string_too_short": "Ist zu kurz.",
    "string_too_long": "Ist zu lang.",
    "int_type": "Muss eine ganze Zahl sein.",
    "int_parsing": "Muss eine ganze Zahl sein.",
    "float_parsing": "Muss eine Zahl sein.",
    "bool_parsing": "Muss wahr oder falsch sein.",
    "bool_type": "Muss wahr oder falsch sein.",
    "datetime_parsing": "Muss ein Zeitpunkt im ISO-8601-Format sein.",
    "datetime_from_date_parsing": "Muss ein Zeitpunkt im ISO-8601-Format sein.",
    "date_from_datetime_parsing": "Muss ein Datum im Format JJJJ-MM-TT sein.",
    "date_parsing": "Muss ein Datum im Format JJJJ-MM-TT sein.",
    "enum": "Ist kein zulässiger Wert.",
    "literal_error": "Ist kein zulässiger Wert.",
    "list_type": "Muss eine Liste sein.",
    "dict_type": "Muss ein Objekt sein.",
    "model_attributes_type": "Muss ein Objekt sein.",
    "json_invalid": "Ungültiges JSON.",
    "value_error": "Ungültiger Wert.",
    "greater_than_equal": "Ist zu klein.",
    "less_than_equal": "Ist zu groß.",
    "uuid_parsing": "Muss eine UUID sein.",
}


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
        err_type = err.get("type", "")
        detail = _PYDANTIC_DE.get(err_type, err.get("msg", "Ungültiger Wert."))
        if err_type == "enum" and err.get("ctx", {}).get("expected"):
            detail = f"Ist kein zulässiger Wert (erlaubt: {err['ctx']['expected']})."
        result.append({"field": field, "detail": detail})
    return result
