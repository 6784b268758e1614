"""A minimal authenticated WebSocket: clients use it to check their connection end to end."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PingConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        if self.scope.get("user") is None and self.scope.get("device") is None:
            await self.close(code=4401)
            return
        await self.accept()

    async def receive_json(self, content, **kwargs):
        await self.send_json({"type": "pong", "echo": content.get("echo")})
