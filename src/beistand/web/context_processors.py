from django.conf import settings
from django.urls import reverse

from beistand.accounts.roles import Role
from beistand.accounts.services import roles_of
from beistand.organisation.services import body_name, display_name


def shell(request):
    """What every page's frame needs: demo flag, body name, the user, roles and navigation.

    Navigation lists only the pages the user's roles may open.
    """
    user = getattr(request, "user", None)
    roles = roles_of(user) if user is not None else frozenset()
    context = {
        "demo_mode": settings.DEMO_MODE,
        "user_roles": roles,
        "body_name": body_name(),
        "nav_items": [],
        "account_url": None,
        "user_display_name": "",
    }
    if user is None or not user.is_authenticated:
        return context
    items = [("Start", reverse("web:start")), ("Stiller Alarm", reverse("alarms:page"))]
    # Until a required second factor is entered, the privileged pages would only redirect to the
    # 2FA step: do not offer them.
    from beistand.accounts.services import requires_second_factor

    half_authenticated = (not getattr(user, "is_verified", lambda: True)()
                          and requires_second_factor(user, request))
    if roles & {Role.REPORTER}:  # every employee with an account reports
        items += [("Melden", reverse("reports:new")),
                  ("Meine Meldungen", reverse("reports:mine"))]
    if roles & {Role.SUPERVISOR, Role.PERSONNEL, Role.ZKS} and not half_authenticated:
        items.append(("Arbeitsliste", reverse("reports:queue")))
    if Role.ZKS in roles and not half_authenticated:
        items.append(("Überfällig", reverse("reports:overdue")))
    if Role.QUERIER in roles and not half_authenticated:
        items.append(("Auskunft", reverse("register:lookup")))
    if Role.ZKS in roles and not half_authenticated:
        items.append(("Register", reverse("register:manage")))
    if Role.DPO in roles and not half_authenticated:
        items.append(("Zugriffsprotokoll", reverse("register:access_log")))
    if roles & {Role.STATISTICS, Role.ZKS, Role.DPO, Role.ADMIN} and not half_authenticated:
        items.append(("Statistik", reverse("stats:dashboard")))
    if Role.DPO in roles and not half_authenticated:
        items.append(("Datenschutz", reverse("stats:dpo")))
    if Role.ADMIN in roles and not half_authenticated:
        items += [("Rollen", reverse("accounts:grants")),
                  ("Geräte", reverse("accounts:devices")),
                  ("Stammdaten", reverse("admin:index"))]
    path = request.path
    # An entry is current on its page and sub-pages, unless another entry lives below it:
    # then only on its own page ("/" for Start, "/meldungen/" next to "/meldungen/neu/").
    urls = [url for _, url in items]

    def current(url):
        if any(other != url and other.startswith(url) for other in urls):
            return path == url
        return path.startswith(url)

    nav = [{"label": label, "url": url, "current": current(url)} for label, url in items]
    context.update(
        nav_items=nav,
        account_url=reverse("accounts:security"),
        user_display_name=display_name(user),
    )
    return context

