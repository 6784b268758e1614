"""Signals of the report workflow, for apps above reports that act on its steps.

The register (above reports) connects to them at start-up; reports never imports it.

``report_published``
    The ``publish`` transition, sent inside its transaction with ``user`` and ``report``; a
    receiver that raises refuses the step (the transaction rolls back). The step is refused when
    nobody listens: publishing without a register would silently publish nothing.
``case_summary_sections``
    Sent with ``report`` while the case summary (Fallübersicht) is built; each receiver returns
    a list of flowables (``beistand.documents.layout``) that the summary adds before its close.
"""

from django.dispatch import Signal

report_published = Signal()
case_summary_sections = Signal()
