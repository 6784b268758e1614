"""Domain errors raised by services. The API turns them into RFC 9457 problem details, the UI
into German messages. ``detail`` is always German and addressed to the user."""


class DomainError(Exception):
    status = 400
    title = "Ungültige Anfrage"
    type_slug = "invalid-request"

    # Seconds after which a retry may succeed; sent as ``Retry-After`` (set on every 429).
    retry_after: int | None = None

    def __init__(self, detail: str, *, field: str | None = None, errors: list | None = None,
                 retry_after: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if retry_after is not None:
            self.retry_after = max(1, int(retry_after))
        self.field = field
        self.errors = errors or ([{"field": field, "detail": detail}] if field else [])


class InvalidInput(DomainError):
    status = 400
    title = "Ungültige Eingabe"
    type_slug = "invalid-input"


class NotAuthenticated(DomainError):
    status = 401
    title = "Anmeldung erforderlich"
    type_slug = "not-authenticated"


class AccessDenied(DomainError):
    status = 403
    title = "Keine Berechtigung"
    type_slug = "forbidden"


class NotFound(DomainError):
    status = 404
    title = "Nicht gefunden"
    type_slug = "not-found"


class Conflict(DomainError):
    status = 409
    title = "Konflikt"
    type_slug = "conflict"


class Locked(DomainError):
    status = 429
    title = "Vorübergehend gesperrt"
    type_slug = "locked-out"


class TooManyRequests(DomainError):
    """A rate limit (register look-ups, alarm floods); ``retry_after`` in seconds."""

    status = 429
    title = "Zu viele Anfragen"
    type_slug = "rate-limited"
