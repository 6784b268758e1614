"""Desktop notifications of the session agent (the tray app in the user's own session).

Linux: the freedesktop notification service (``org.freedesktop.Notifications`` on the
session's D-Bus, spoken with ``jeepney``, no ``notify-send`` needed). An incoming alarm while
the screen is locked is posted as a *critical* notification – GNOME and KDE show those on the
lock screen (without content if the user chose "hide content on lock screen") – and is
**withdrawn** (``CloseNotification``) when the alarm ends (all-clear, cancel) or the person
answered on any device. Only the session's own user can post into that session: the system
button service cannot, by design (see the README, "The locked screen").

Elsewhere (Windows, macOS, no session bus): nothing is posted; the receive window and the
sound remain.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading

log = logging.getLogger(__name__)
APP_NAME = "beistand"
URGENCY_CRITICAL = 2


class SessionNotifier:
    """Posts and withdraws notifications on the session bus; one per alarm id."""

    def __init__(self, address: str | None = None):
        self.address = address
        self.ids: dict[int, int] = {}
        self._lock = threading.Lock()
        self._conn = None

    def _connection(self):
        from jeepney.io.blocking import open_dbus_connection

        address = self.address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            raise OSError("kein D-Bus der Sitzung (DBUS_SESSION_BUS_ADDRESS fehlt)")
        if self._conn is None:
            self._conn = open_dbus_connection(address)
        return self._conn

    def _call(self, method: str, signature: str, body: tuple):
        from jeepney import DBusAddress, new_method_call

        target = DBusAddress("/org/freedesktop/Notifications",
                             bus_name="org.freedesktop.Notifications",
                             interface="org.freedesktop.Notifications")
        try:
            reply = self._connection().send_and_get_reply(
                new_method_call(target, method, signature, body), timeout=5)
        except Exception:
            self.close()  # a new connection next time (the session bus may have restarted)
            raise
        if reply.header.message_type.name == "error":
            raise OSError(f"{method}: {reply.body}")
        return reply.body

    def show(self, alarm_id: int, title: str, body: str) -> bool:
        """Posts (or replaces) the alarm's critical notification; False if there is none."""
        with self._lock:
            try:
                replaces = self.ids.get(alarm_id, 0)
                hints = {"urgency": ("y", URGENCY_CRITICAL), "category": ("s", "im.received"),
                         "resident": ("b", True)}
                (nid,) = self._call("Notify", "susssasa{sv}i",
                                    (APP_NAME, replaces, "dialog-warning", title, body, [],
                                     hints, 0))
            except Exception as exc:
                log.warning("notification for alarm %s not shown: %s", alarm_id, exc)
                return False
            self.ids[alarm_id] = nid
            log.info("notification %s shown for alarm %s", nid, alarm_id)
            return True

    def withdraw(self, alarm_id: int) -> bool:
        """Withdraws the alarm's notification (all-clear, answered); True if there was one."""
        with self._lock:
            nid = self.ids.pop(alarm_id, None)
            if nid is None:
                return False
            try:
                self._call("CloseNotification", "u", (nid,))
            except Exception as exc:
                log.warning("notification %s not withdrawn: %s", nid, exc)
                return False
            log.info("notification %s withdrawn (alarm %s)", nid, alarm_id)
            return True

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None
