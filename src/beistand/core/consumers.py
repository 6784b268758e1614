"""A minimal authenticated WebSocket: clients use it to check their connection end to end."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PingConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        # Accept first, then close with 4401: a refused handshake would reach clients only as a
        # bare HTTP 403, while 4401 tells them to re-authenticate rather than retry blindly.
        # Browsers authenticate with the subprotocol ``beistand.bearer.<token>`` next to
        # ``beistand.v1`` and need the latter answered (accounts.tokens, issue 16).
        offered = self.scope.get("subprotocols") or ()
        await self.accept(subprotocol="beistand.v1" if "beistand.v1" in offered else None)
        if self.scope.get("user") is None and self.scope.get("device") is None:
            await self.close(code=4401)

    async def receive_json(self, content, **kwargs):
        await self.send_json({"type": "pong", "echo": content.get("echo")})
