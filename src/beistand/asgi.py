"""ASGI entry point: HTTP through Django, WebSocket through Channels, in one process."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beistand.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from beistand.core.routing import websocket_urlpatterns  # noqa: E402
from beistand.core.ws_auth import (  # noqa: E402
    BrowserOriginValidator, TokenOrSessionAuthMiddleware,
)

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": BrowserOriginValidator(
        TokenOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns))),
})
