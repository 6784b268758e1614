"""WebSocket routes of all apps (the alarm apps add theirs here)."""

from django.urls import path

from beistand.core.consumers import PingConsumer

websocket_urlpatterns = [
    path("ws/v1/ping", PingConsumer.as_asgi()),
]
