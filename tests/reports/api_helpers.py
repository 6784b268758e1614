"""Helpers for the reports API tests: JSON calls and a snapshot of everything a call may change."""

import json
from datetime import timedelta

from django.utils import timezone

from beistand.audit.models import AuditEvent
from beistand.register.models import RegisterEntry
from beistand.reports.models import (
    Attachment,
    HelpRequest,
    Perpetrator,
    Report,
    StatusChange,
    Witness,
)

MODELS = (Report, StatusChange, Attachment, HelpRequest, Perpetrator, Witness, RegisterEntry,
          AuditEvent)


def snapshot() -> dict:
    """Row counts of every table a report call can write, plus each report's status."""
    counts = {m.__name__: m.objects.count() for m in MODELS}
    counts["statuses"] = dict(Report.objects.values_list("pk", "status"))
    return counts


def body(**overrides) -> dict:
    data = {
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "location": {"kind": "office"},
        "offences": ["threat"],
        "description": "Der Kunde drohte, mich nach Dienstschluss abzufangen.",
        "perpetrators": [{"last_name": "Mustermann", "first_names": "Max",
                          "date_of_birth": "1980-04-01", "city": "Teststadt"}],
    }
    data.update(overrides)
    return data


def post(client, url, data, headers, method="post"):
    return getattr(client, method)(url, json.dumps(data), content_type="application/json",
                                   **headers)


def create(client, headers, **overrides):
    response = post(client, "/api/v1/reports", body(**overrides), headers)
    assert response.status_code == 201, response.content
    return response.json()


def act(client, headers, report_id, action, **fields):
    return post(client, f"/api/v1/reports/{report_id}/transitions",
                {"action": action, **fields}, headers)
