"""Where a person's device trigger (button hub, hands-free button, trigger URL) places the alarm.

The alarm app does not know the phone app's visits (``beistand.mobile`` sits above it), so the
mobile app registers a provider at start-up (``MobileConfig.ready``): ``register(fn)`` with
``fn(user) -> VisitPlace | None`` for the person's running Zeitalarm visit. Order of places:
the running visit's address (and its last position), else the phone's last position when it is
younger than ``BEISTAND_ALARM_POSITION_MAX_AGE_MINUTES``, else the room.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from beistand.alarms.models import Inbox


@dataclass
class VisitPlace:
    address: str
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    position_at: datetime | None = None


@dataclass
class Place:
    basis: str  # "visit", "phone" or "room"
    text: str = ""
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    position_at: datetime | None = None


_visit_providers = []


def register(provider) -> None:
    if provider not in _visit_providers:
        _visit_providers.append(provider)


def place_of(user, now=None) -> Place:
    now = now or timezone.now()
    for provider in _visit_providers:
        visit = provider(user)
        if visit is not None:
            return Place("visit", visit.address, visit.lat, visit.lon, visit.accuracy_m,
                         visit.position_at if visit.lat is not None else None)
    inbox = (Inbox.objects.filter(user=user).values("lat", "lon", "accuracy_m", "position_at")
             .first())
    max_age = timedelta(minutes=settings.ALARM_POSITION_MAX_AGE_MINUTES)
    if inbox and inbox["lat"] is not None and inbox["position_at"] is not None \
            and now - inbox["position_at"] <= max_age:
        return Place("phone", "", inbox["lat"], inbox["lon"], inbox["accuracy_m"],
                     inbox["position_at"])
    return Place("room")
