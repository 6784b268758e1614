"""Revoked bearer tokens, announced: whoever holds live connections on them (the alarm server,
above this app) learns it after the commit and closes them at once."""

from django.db import transaction
from django.dispatch import Signal

# Sent after the commit that revoked bearer tokens, with ``api`` and ``device`` (token ids):
# a live alarm server closes their connections at once (4401) instead of at its next check.
tokens_revoked = Signal()


def announce_revoked(api=(), device=()) -> None:
    """Tell listeners, once the current transaction commits, which tokens were revoked."""
    api, device = tuple(api), tuple(device)
    if api or device:
        transaction.on_commit(lambda: tokens_revoked.send(sender=None, api=api, device=device))
