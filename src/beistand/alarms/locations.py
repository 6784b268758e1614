"""Where an alarm is and how far a receiver is from it.

Places are rooms (site → building → floor → room, rooms with x/y metres on the floor plan) or
GPS positions. Distances: two GPS positions by great circle; two rooms in one building by the
floor plan plus a fixed height per floor; otherwise between the buildings' (or sites')
coordinates. Unknown when either side has no coordinates.
"""

import math
from dataclasses import dataclass

from beistand.core.errors import InvalidInput
from beistand.organisation.services import floor_label

EARTH_RADIUS_M = 6_371_000
# Walking distance a floor change adds (one flight of stairs, roughly).
METRES_PER_FLOOR = 8.0


@dataclass(frozen=True)
class Point:
    """A place for distances: GPS (lat/lon) and/or a room on a floor plan."""

    lat: float | None = None
    lon: float | None = None
    building_id: int | None = None
    level: int | None = None
    x: float | None = None
    y: float | None = None

    @property
    def has_gps(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def has_plan(self) -> bool:
        return self.building_id is not None and self.x is not None and self.y is not None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Compass bearing from point 1 to point 2 (0 = north, 90 = east)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360) % 360


def distance_m(a: Point, b: Point) -> int | None:
    if a.has_plan and b.has_plan and a.building_id == b.building_id:
        flat = math.hypot(a.x - b.x, a.y - b.y)
        return round(flat + METRES_PER_FLOOR * abs((a.level or 0) - (b.level or 0)))
    if a.has_gps and b.has_gps:
        return round(haversine_m(a.lat, a.lon, b.lat, b.lon))
    return None


def _float(value) -> float | None:
    return None if value is None else float(value)


def room_point(room) -> Point:
    """The point of a room: its floor-plan position and its building's (or site's) GPS."""
    if room is None:
        return Point()
    floor = room.floor
    building = floor.building
    site = building.site
    lat = _float(building.latitude if building.latitude is not None else site.latitude)
    lon = _float(building.longitude if building.longitude is not None else site.longitude)
    return Point(lat=lat, lon=lon, building_id=building.pk, level=floor.level, x=room.x, y=room.y)


def describe(room, lat=None, lon=None, accuracy_m=None, text="") -> dict:
    """The ``location`` object of the alarm protocol."""
    data = {"site": None, "address": None, "building": None, "floor": None, "room": None,
            "room_name": None, "position": None, "text": text or ""}
    if room is not None:
        floor = room.floor
        building = floor.building
        site = building.site
        data.update(site=site.name, address=f"{site.street}, {site.postal_code} {site.city}",
                    building=building.name, floor=floor_label(floor), room=room.number,
                    room_name=room.name or None)
    if lat is not None and lon is not None:
        data["position"] = {"lat": round(lat, 6), "lon": round(lon, 6),
                            "accuracy_m": None if accuracy_m is None else round(accuracy_m)}
    return data


def one_line(location: dict) -> str:
    """A short German line for SMS, e-mail and lists."""
    parts = []
    if location.get("room"):
        parts.append(f"Raum {location['room']}")
    if location.get("floor"):
        parts.append(location["floor"])
    if location.get("building"):
        parts.append(location["building"])
    if location.get("site"):
        parts.append(location["site"])
    if location.get("text"):
        parts.append(location["text"])
    position = location.get("position")
    if position:
        parts.append(f"GPS {position['lat']:.5f},{position['lon']:.5f}")
    return ", ".join(parts) or "Ort unbekannt"


def check_position(position: dict | None) -> tuple[float | None, float | None, float | None]:
    """A client's position ``{"lat", "lon", "accuracy_m"}`` checked -> (lat, lon, accuracy)."""
    if not position:
        return None, None, None
    lat, lon, acc = position.get("lat"), position.get("lon"), position.get("accuracy_m")
    if lat is None or lon is None:
        raise InvalidInput("Position braucht lat und lon.", field="position")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("Position außerhalb des gültigen Bereichs (lat ±90, lon ±180).",
                           field="position")
    if acc is not None and not 0 <= acc <= 100_000:
        raise InvalidInput("Genauigkeit muss zwischen 0 und 100000 m liegen.",
                           field="position.accuracy_m")
    return float(lat), float(lon), None if acc is None else float(acc)
