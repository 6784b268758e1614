"""The start page's cards come from the apps (``<app>/cards.py``, registered with
``beistand.core.cards``); web only composes them and reaches into no app's internals."""

import grimp
import pytest
from django.core.exceptions import ImproperlyConfigured

from beistand.core import cards

# The page order: role work first, the viewer's own data last.
PAGE_ORDER = [
    "beistand.alarms.cards.alarm_card",
    "beistand.reports.cards.report_card",
    "beistand.reports.cards.queue_card",
    "beistand.accounts.cards.team_card",
    "beistand.register.cards.querier_card",
    "beistand.accounts.cards.admin_card",
    "beistand.register.cards.register_card",
    "beistand.register.cards.misuse_card",
    "beistand.web.cards.audit_card",
    "beistand.accounts.cards.grants_card",
    "beistand.stats.cards.statistics_card",
    "beistand.alarms.cards.alarm_log_card",
    "beistand.organisation.cards.contact_card",
    "beistand.accounts.cards.security_card",
    "beistand.accounts.cards.own_expiring_grants",
]
# Besides core, what web may use of the apps: their public faces and their cards, and the
# accounts and organisation apps (who the viewer is).
WEB_MAY_USE = ("beistand.core.", "beistand.accounts.", "beistand.organisation.")


def test_every_apps_cards_are_found_at_start_up_in_page_order():
    names = [f"{p.__module__}.{p.__qualname__}" for p in cards.providers()]
    assert names == PAGE_ORDER


def test_an_order_is_given_once():
    def clashing(viewer):
        return None

    with pytest.raises(ImproperlyConfigured, match="order 10 is taken"):
        cards.card(10)(clashing)
    assert clashing not in cards.providers()
    # A module imported twice registers its providers once.
    from beistand.organisation.cards import contact_card

    cards.card(900)(contact_card)
    assert cards.providers().count(contact_card) == 1


def test_web_reaches_into_no_app_and_core_knows_none():
    graph = grimp.build_graph("beistand", include_external_packages=False)
    for module in graph.find_descendants("beistand.web") | {"beistand.web"}:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("beistand.web"):
                continue
            public = imported.rsplit(".", 1)[-1] in ("services", "cards")
            assert public or imported.startswith(WEB_MAY_USE), f"{module} -> {imported}"
    assert graph.find_modules_directly_imported_by("beistand.core.cards") == set()
    # No app below the entry points uses web (the URL configuration above it does).
    users = set()
    for module in ("beistand.web.services", "beistand.web.views", "beistand.web.cards"):
        users |= graph.find_modules_that_directly_import(module)
    assert {m for m in users if not m.startswith("beistand.web")} == set()
