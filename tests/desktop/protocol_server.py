"""A small real WebSocket server speaking the documented alarm protocol (no Django).

Only for pure client-logic tests (resume, de-duplication, receipts, heartbeat, reconnect); the
end-to-end tests run against the real beistand server.
"""

import asyncio
import json
import threading

import websockets


class ProtocolServer:
    def __init__(self, token="bst_test_token_123", heartbeat_s=15):
        self.token = token
        self.heartbeat_s = heartbeat_s
        self.events: list[dict] = []      # stored events, event_id = index + 1
        self.received: list[dict] = []    # every client frame
        self.resumes: list[int] = []
        self.connections = 0
        self.port = None
        self.duplicate_on_resume = True   # resend the last processed event (at-least-once)
        self.silent = False               # no pings: the client must detect the silence
        self.reset_to = None              # answer a resume with "reset" (a restored server)
        self._loop = None
        self._server = None
        self._clients = set()

    # -- thread ---------------------------------------------------------------------------
    def start(self):
        ready = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)

            async def main():
                # a restart keeps the port, so a client reconnects to the same address
                self._server = await websockets.serve(self._handle, "127.0.0.1", self.port or 0)
                self.port = self._server.sockets[0].getsockname()[1]
                ready.set()
                await self._server.wait_closed()

            self._loop.run_until_complete(main())

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self):
        async def close():
            self._server.close()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._thread.join(5)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def push(self, frame):
        """Stores an event and sends it to connected clients."""
        frame = {**frame, "event_id": len(self.events) + 1}
        self.events.append(frame)

        async def send():
            for ws in list(self._clients):
                await ws.send(json.dumps(frame))
        asyncio.run_coroutine_threadsafe(send(), self._loop).result(5)
        return frame

    def send_control(self, frame):
        """Sends a control frame (no event_id, not stored), e.g. ``coverage``."""
        async def send():
            for ws in list(self._clients):
                await ws.send(json.dumps(frame))
        asyncio.run_coroutine_threadsafe(send(), self._loop).result(5)

    def drop_connections(self, code=1001):
        async def close():
            for ws in list(self._clients):
                await ws.close(code=code)
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)

    # -- protocol -------------------------------------------------------------------------
    async def _handle(self, ws):
        auth = ws.request.headers.get("Authorization", "")
        if auth != f"Bearer {self.token}":
            await ws.close(code=4401)
            return
        self.connections += 1
        await ws.send(json.dumps({"type": "hello", "inbox": 1, "name": "Erika Muster",
                                  "last_event_id": len(self.events),
                                  "heartbeat_s": self.heartbeat_s, "server_time": "x",
                                  "epoch": "new" if self.reset_to is not None else "e1"}))
        self._clients.add(ws)
        pinger = None if self.silent else asyncio.create_task(self._ping(ws))
        try:
            async for raw in ws:
                frame = json.loads(raw)
                self.received.append(frame)
                if frame["type"] == "resume":
                    after = frame["last_event_id"]
                    if self.reset_to is not None and frame.get("epoch") != "new":
                        await ws.send(json.dumps({"type": "reset", "reason": "epoch",
                                                  "epoch": "new", "resume_from": self.reset_to,
                                                  "last_event_id": len(self.events)}))
                        after = self.reset_to
                    self.resumes.append(after)
                    start = max(0, after - 1) if self.duplicate_on_resume else after
                    for event in self.events[start:]:
                        await ws.send(json.dumps(event))
                elif frame["type"] in ("respond", "message", "resolve"):
                    await ws.send(json.dumps({"type": "result", "ok": True,
                                              "request_id": frame.get("request_id")}))
        except websockets.ConnectionClosed:
            pass
        finally:
            self._clients.discard(ws)
            if pinger:
                pinger.cancel()

    async def _ping(self, ws):
        while True:
            await asyncio.sleep(self.heartbeat_s)
            await ws.send(json.dumps({"type": "ping", "t": "x"}))
