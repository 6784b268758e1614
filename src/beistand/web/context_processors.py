from django.conf import settings

from beistand.accounts.services import roles_of


def shell(request):
    """What every page's frame needs: demo banner flag and the user's roles."""
    user = getattr(request, "user", None)
    return {
        "demo_mode": settings.DEMO_MODE,
        "user_roles": roles_of(user) if user is not None else frozenset(),
    }
