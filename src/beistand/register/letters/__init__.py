"""The register's letters to the person as PDF (DIN 5008, the body's letterhead): the Art. 14
notification, the Art. 15 access report and the decision letters of Art. 15-21.

Rendered on demand from the current data (nothing is stored), except the letter on a granted
erasure, which ``rights.decide`` gathers once before the data is purged.

Each letter has a ``*_draft`` function that reads what the letter needs (inside the caller's
short transaction, with its audit row) and returns a ``layout.Draft``; the caller renders the
draft after the commit, so no database lock is held while a PDF is laid out. The ``*_pdf`` /
``*_letter`` functions do both at once, for callers without a transaction (tests, previews).
"""

from beistand.register.letters.access import access_report_draft, access_report_pdf
from beistand.register.letters.decision import decision_draft, decision_letter
from beistand.register.letters.notification import notification_draft, notification_letter

__all__ = ["access_report_draft", "access_report_pdf", "decision_draft", "decision_letter",
           "notification_draft", "notification_letter"]
