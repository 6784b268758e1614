"""The register's letters to the person as PDF (DIN 5008, the body's letterhead): the Art. 14
notification, the Art. 15 access report and the decision letters of Art. 15-21.

Rendered on demand from the current data (nothing is stored), except the letter on a granted
erasure, which ``rights.decide`` renders once before the data is purged.
"""

from beistand.register.letters.access import access_report_pdf
from beistand.register.letters.decision import decision_letter
from beistand.register.letters.notification import notification_letter

__all__ = ["access_report_pdf", "decision_letter", "notification_letter"]
