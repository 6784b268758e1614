"""The start page's cards: each app says what it shows a person on the start page.

An app with something to show puts a ``cards.py`` beside its ``services.py`` and registers
providers with ``@card(order)``. A provider is called with the ``Viewer`` (the user, the roles
they hold now, their employee record, the request, the moment) and returns a ``Card``, or None
when the viewer gets no card from it; on the way it may add ``Attention`` items (things to act
on, shown above the cards) with ``viewer.attend``. ``order`` places the card on the page: role
work first (10–199), the viewer's own data last (900–999).

The web app imports every app's ``cards`` module at start-up and only composes (``compose``) and
renders; it reaches into no app. This module is the bottom half of that arrangement: it knows no
role and no app, so any app above core can register, and the providers decide themselves whom
their card is for.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

# Names on a card are capped; the count says how many there are in total.
MAX_NAMES = 8
# A permission (a role grant) that ends within this window is shown as a warning.
EXPIRY_WARNING = timedelta(days=14)
# Attention items are listed most urgent first; within a tone in the order they were added.
URGENCY = {"danger": 0, "warning": 1, "info": 2}


@dataclass
class Link:
    label: str
    url: str


@dataclass
class Attention:
    """One thing the user should act on, shown at the top of the start page."""

    tone: str  # "warning" | "danger" | "info"
    text: str
    link: Link | None = None


@dataclass
class Card:
    key: str
    title: str
    tone: str = ""  # "" | "success" | "warning" | "danger"
    status: str = ""  # short badge text next to the title
    text: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    template: str = ""  # an extra include for interactive parts (e.g. the audit check button)
    extra: object = None  # data for that include


@dataclass
class Viewer:
    """Who looks at the start page, as every provider needs it (computed once per page)."""

    user: Any
    roles: frozenset[str]  # the roles held now (accounts' ``Role`` values)
    employee: Any  # the organisation's employee record, or None (a technical account)
    now: datetime
    request: Any = None  # tells e.g. whether the login came through a trusted identity provider
    attention: list[Attention] = field(default_factory=list)

    @property
    def today(self):
        return timezone.localdate(self.now)

    def attend(self, tone: str, text: str, link: Link | None = None) -> None:
        self.attention.append(Attention(tone, text, link))


Provider = Callable[[Viewer], Card | None]
# Provider name (module.qualname) -> (order, provider). Keyed by name so a module imported twice
# registers once.
_providers: dict[str, tuple[int, Provider]] = {}


def card(order: int) -> Callable[[Provider], Provider]:
    """Register a start page card provider at position ``order`` (unique across all apps)."""

    def register(provider: Provider) -> Provider:
        name = f"{provider.__module__}.{provider.__qualname__}"
        for other, (taken, _) in _providers.items():
            if taken == order and other != name:
                raise ImproperlyConfigured(
                    f"start page card order {order} is taken by {other}, wanted by {name}")
        _providers[name] = (order, provider)
        return provider

    return register


def providers() -> list[Provider]:
    """The registered providers in page order."""
    return [provider for _, provider in sorted(_providers.values(), key=lambda p: p[0])]


def compose(viewer: Viewer) -> list[Card]:
    """Every card the viewer gets, in page order; ``viewer.attention`` ends most urgent first.

    One source for both halves of the page: a card that calls for action (tone "warning" or
    "danger") always has an attention item — the provider's own, or, where the provider added
    none, one made from the card (its title, status and first link). So the attention area can
    never say "nothing to do" above a card showing "2 offen"."""
    cards = []
    for provider in providers():
        before = len(viewer.attention)
        c = provider(viewer)
        if c is None:
            continue
        cards.append(c)
        if c.tone in ("warning", "danger") and len(viewer.attention) == before:
            viewer.attend(c.tone, f"{c.title}: {c.status}" if c.status else c.title,
                          c.links[0] if c.links else Link("Zur Übersicht", f"#card-{c.key}"))
    viewer.attention.sort(key=lambda item: URGENCY.get(item.tone, 9))
    return cards


# --- Small helpers for providers ----------------------------------------------------------------

def links(*pairs: tuple[str, str]) -> list[Link]:
    return [Link(label, url) for label, url in pairs]


def count(n: int, singular: str, plural: str) -> str:
    """``count(1, "Gerät", "Geräte")`` -> "1 Gerät"."""
    return f"{n} {singular if n == 1 else plural}"


def date_text(value) -> str:
    return timezone.localtime(value).strftime("%d.%m.%Y")


def date_time_text(value) -> str:
    return timezone.localtime(value).strftime("%d.%m.%Y, %H:%M Uhr")


def capped(names: list[str], total: int | None = None) -> list[str]:
    """At most MAX_NAMES entries, then "und N weitere"."""
    total = len(names) if total is None else total
    shown = list(names[:MAX_NAMES])
    if total > MAX_NAMES:
        shown.append(f"und {total - MAX_NAMES} weitere")
    return shown
