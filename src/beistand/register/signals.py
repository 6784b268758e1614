"""Signals the register sends about deletions, for apps above it that must know.

The backup app keeps a deletion journal outside the database (``beistand.backup.journal``) so
that a restore of an older backup can delete again what was deleted after it was taken. It
connects to these signals at start-up; the register itself knows nothing about backups.

Both are sent inside the deleting transaction (``send_journaled``); receivers that write outside
the database do so once it commits. With no receiver connected the deletion is refused (the
transaction rolls back): a deletion nobody journals would come back with the next restore.
"""

from django.dispatch import Signal

# A register person was purged. Arguments: ``person_id``, ``reason`` (name parts redacted).
person_purged = Signal()
# Rows of the look-up log were pruned. Arguments: ``cutoff`` (datetime), ``ids`` (list of ints).
lookups_pruned = Signal()


def send_journaled(signal: Signal, **kwargs) -> None:
    """Send a deletion signal; refuse (raise) when nothing would journal the deletion."""
    if not signal.has_listeners():
        raise RuntimeError("a register deletion needs the deletion journal: nothing is "
                           "connected to beistand.register.signals (is the backup app installed?)")
    signal.send(**kwargs)
