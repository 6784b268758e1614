"""schemathesis against the OpenAPI document of /api/v1/, in-process through Django's WSGI
handler: generated requests (valid and invalid) never cause a 5xx, and every answer matches
the response schema the document declares. Few examples per operation and a fixed seed keep it
fast and stable in CI.

(schemathesis' own pytest integration for lazily loaded schemas does not run under pytest 9,
so each operation's strategy is driven by hypothesis directly.)"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = pytest.mark.django_db

EXAMPLES = 20


@pytest.fixture
def _keep_connection():
    """Django's test client keeps the test's database connection open across requests; the
    plain WSGI handler would close it after each one (and with it the test transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_operation_without_server_errors_and_schema_violations(world, _keep_connection):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
    headers = {"Authorization": world.headers["reporter"]["HTTP_AUTHORIZATION"]}
    failures, operations, statuses = [], 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            statuses.append(case.call_and_validate(headers=headers,
                                   checks=[not_a_server_error, response_schema_conformance]
                                   ).status_code)

        try:
            run()
        except Exception as exc:  # collect all operations' findings, not only the first
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert operations > 50
    # Enough requests got through authentication and validation to test the answers too.
    assert len(statuses) > 10 * operations and sum(s < 300 for s in statuses) >= 10, \
        sorted(statuses)
    print(f"{operations} operations, {len(statuses)} requests")
    assert not failures, "\n\n".join(failures)
