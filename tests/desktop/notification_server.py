"""A session D-Bus (a real ``dbus-daemon``) with a notification service on it that records what
clients ask for: the freedesktop ``Notify`` and ``CloseNotification`` calls, as GNOME Shell or
KDE's Plasma would receive them. Used by the locked-screen test."""

import itertools
import subprocess
import threading
import time


class NotificationBus:
    def __init__(self, tmp_path):
        self.socket = tmp_path / "session-bus"
        self.address = f"unix:path={self.socket}"
        self.shown: list[dict] = []      # {"id", "title", "body", "urgency"}
        self.closed: list[int] = []
        self._stop = threading.Event()
        self._ids = itertools.count(1)
        self._ready = threading.Event()
        self.daemon = None
        self.thread = None

    def start(self):
        self.daemon = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile",
             f"--address={self.address}"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not self.socket.exists():
            assert self.daemon.poll() is None and time.monotonic() < deadline, \
                "dbus-daemon did not start"
            time.sleep(0.05)
        self.thread = threading.Thread(target=self._serve, name="notifications", daemon=True)
        self.thread.start()
        assert self._ready.wait(20), "notification service not on the bus"
        return self

    def open_ids(self) -> set[int]:
        return {n["id"] for n in self.shown} - set(self.closed)

    def _serve(self):
        from jeepney import HeaderFields, MessageType, new_method_return
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        conn = open_dbus_connection(self.address)
        conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.Notifications"),
                                timeout=10)
        self._ready.set()
        try:
            while not self._stop.is_set():
                try:
                    msg = conn.receive(timeout=0.2)
                except TimeoutError:
                    continue
                if msg.header.message_type != MessageType.method_call:
                    continue
                member = msg.header.fields.get(HeaderFields.member)
                if member == "Notify":
                    _app, replaces, _icon, title, body, _actions, hints, _expire = msg.body
                    nid = replaces or next(self._ids)
                    self.shown.append({"id": nid, "title": title, "body": body,
                                       "urgency": hints.get("urgency", ("y", 1))[1]})
                    conn.send(new_method_return(msg, "u", (nid,)))
                elif member == "CloseNotification":
                    self.closed.append(msg.body[0])
                    conn.send(new_method_return(msg))
                elif member == "GetCapabilities":
                    conn.send(new_method_return(msg, "as", (["body"],)))
        finally:
            conn.close()

    def stop(self):
        self._stop.set()
        if self.thread is not None:
            self.thread.join(5)
        if self.daemon is not None:
            self.daemon.terminate()
            self.daemon.wait(10)
