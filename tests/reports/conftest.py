"""A case cast: reporter, their supervisor (unit head), personnel, ZKS, and an outsider."""

from datetime import timedelta

import pytest
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.reports import services
from beistand.reports.models import Status
from beistand.reports.services import PerpetratorInput, ReportInput


@pytest.fixture
def cast(org, make_user):
    chef = make_user("chefin", unit=org["abt"], head_of=org["abt"], room=org["rooms"][0])
    melder = make_user("melder", unit=org["abt"], room=org["rooms"][1])
    return {
        "melder": melder,
        "chefin": chef,
        "personal": make_user("personal", roles=[Role.PERSONNEL], unit=org["amt11"]),
        "zks": make_user("zks", roles=[Role.ZKS], unit=org["zks"]),
        "fremd": make_user("fremd", unit=org["amt11"]),
        "org": org,
    }


def report_input(offences=("threat",), perpetrator=True, **overrides):
    data = ReportInput(
        occurred_at=timezone.now() - timedelta(hours=2),
        offences=list(offences),
        description="Der Kunde drohte, mich nach Dienstschluss abzufangen.",
        perpetrators=[PerpetratorInput(last_name="Mustermann", first_names="Max")]
        if perpetrator else [],
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


@pytest.fixture
def submitted(cast):
    """make(offences=...) -> a submitted report by melder."""
    def make(**kwargs):
        return services.create_report(cast["melder"], report_input(**kwargs), submit=True)
    return make


# --- The workflow table walked by the tests (test_workflow_table, test_workflow_states) ----------

ACTOR_USER = {"reporter": "melder", "supervisor": "chefin", "personnel": "personal",
              "zks": "zks"}
PAYLOAD = {
    "return": {"comment": "Bitte Uhrzeit ergänzen."},
    "file_complaint": {"police_file_number": "KK11-2026-4711"},
    "close": {"reason": "Unterhalb der Eintragungsschwelle."},
}
# For each state, how to get a fresh report there (offence chosen so every row's conditions hold).
PATH = {
    Status.DRAFT: [],
    Status.SUBMITTED: ["submit"],
    Status.RETURNED: ["submit", "return"],
    Status.RELEASED: ["submit", "release"],
    Status.COMPLAINT_FILED: ["submit", "release", "file_complaint"],
    Status.PUBLISHED: ["submit", "release", "file_complaint", "publish"],
    Status.CLOSED: ["submit", "release", "file_complaint", "close"],
}
