"""The web app's own start page card (see ``beistand.core.cards``): the DPO's audit trail with
the button that checks the chain. It lives here, beside the view that runs the check
(``views.verify_audit``), because the audit app is the bottom layer and knows no roles."""

from beistand.accounts.roles import Role
from beistand.core.cards import Card, Viewer, card
from beistand.web.services import audit_status


@card(90)
def audit_card(viewer: Viewer) -> Card | None:
    if Role.DPO not in viewer.roles:
        return None
    status = audit_status()
    if status.ok is False:
        viewer.attend(
            "danger", f"Die letzte Prüfung des Prüfprotokolls ist fehlgeschlagen: "
            f"{status.reason} (Eintrag #{status.bad_seq}).")
    return Card(
        key="audit", title="Prüfprotokoll",
        tone={True: "success", False: "danger", None: ""}[status.ok],
        status={True: "Kette intakt", False: "Kette beschädigt", None: "noch nicht geprüft"}[
            status.ok],
        text=["Jede Änderung und jeder Lesezugriff auf personenbezogene Daten wird im "
              "Prüfprotokoll festgehalten; jeder Eintrag ist mit dem vorigen per SHA-256 "
              "verkettet. Die Prüfung rechnet die ganze Kette nach und wird selbst "
              "protokolliert."],
        template="web/includes/audit_status.html", extra=status)
