"""Who learns of a workflow step, and how (e-mail jobs enqueued in the step's transaction).

Filled in by the notify integration; called by ``services._do_transition`` inside the
transaction, so a job exists exactly when the step committed.
"""


def on_transition(report, transition, actor) -> None:
    """Enqueue the notifications for ``transition`` (see notify.services)."""
