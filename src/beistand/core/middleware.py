"""Two guards around every view.

``DomainErrorMiddleware``: a service's refusal (``DomainError``) that a view does not handle
itself becomes the German error page with its status (problem+json under ``/api/``). Views stay
thin: they catch a DomainError only to do something different with it, e.g. show the form again
with the message.

``RejectNulMiddleware``: requests carrying NUL characters are refused before any view runs.

No address, query or form value of beistand may contain NUL, and PostgreSQL cannot even
compare text with one (it raises instead of finding nothing), so such a request would become a
server error wherever a parameter reaches a query. Refusing it here answers every path with the
same clear 400 (found by the API fuzzing on PostgreSQL).
"""

from urllib.parse import unquote_to_bytes

from beistand.core.error_pages import bad_request, domain_error
from beistand.core.errors import DomainError


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or b"\x00" in unquote_to_bytes(query):
            return bad_request(request)
        return self.get_response(request)


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return domain_error(request, exception)
        return None
