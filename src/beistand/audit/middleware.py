"""Binds the request's user and address to the audit context for the request's duration."""

from beistand.audit.context import acting_as, actor_for_user


class AuditActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        remote = request.META.get("REMOTE_ADDR", "") or ""
        with acting_as(actor_for_user(getattr(request, "user", None), remote)):
            return self.get_response(request)
