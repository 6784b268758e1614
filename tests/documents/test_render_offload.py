"""Issue 19, item 4: PDF layout and charts run outside the process that serves alarms.

``core.offload`` renders in a worker process at a lower CPU priority; a worker that crashes, is
killed or overruns gives a German 503, never a 500, and never breaks the serving process: the
next document is rendered by a new worker.
"""

import os
import signal
import time
from datetime import date

import pytest
from django.conf import settings
from reportlab.platypus import Flowable

from beistand.accounts.roles import Role
from beistand.core import offload
from beistand.documents import layout
from beistand.stats import services as stats
from tests.register.test_rights import flat, pdf_text, people, publish  # noqa: F401
from tests.stats.conftest import at, make_incident, readers, staff, units  # noqa: F401

pytestmark = pytest.mark.django_db


class _Pid(Flowable):
    """Writes the id and CPU priority of the process that lays out the page into the PDF."""

    def wrap(self, available_width, available_height):
        return available_width, 20

    def draw(self):
        self.canv.setFont("Helvetica", 10)
        self.canv.drawString(0, 5, f"pid={os.getpid()} nice={os.getpriority(os.PRIO_PROCESS, 0)}")


def _head():
    from django.utils import timezone

    return layout.Letterhead(body_name="Stadt Test", address_lines=("Ring 1",), logo=None,
                             document_title="Probe", reference="P-1",
                             generated_at=timezone.now())


@pytest.fixture(autouse=True)
def _fresh_pool(settings):
    # A shared test machine can be saturated (load 30 on two cores seen): a worker at the lower
    # priority then needs minutes for a page; the timeout is not what these tests are about
    # (except the overrun test, which sets its own).
    settings.RENDER_TIMEOUT_SECONDS = 900
    offload.shutdown()
    yield
    offload.shutdown()


def _expected_nice() -> int:
    return min(19, os.getpriority(os.PRIO_PROCESS, 0) + settings.RENDER_NICE)


def test_the_layout_runs_in_another_process_at_a_lower_priority():
    text = flat(pdf_text(layout.render(_head(), [layout.para("Inhalt"), _Pid()])))
    assert f"pid={os.getpid()} " not in text
    pids = offload.worker_pids()
    assert len(pids) == 1 and pids[0] != os.getpid()
    assert f"pid={pids[0]} nice={_expected_nice()}" in text
    assert os.getpriority(os.PRIO_PROCESS, pids[0]) == _expected_nice()
    # The serving process keeps its own priority.
    assert offload.call(os.getpid) == pids[0]


def test_an_art15_letter_is_rendered_by_the_worker(publish, people):  # noqa: F811
    from beistand.register import rights

    person = publish()
    _, pdf = rights.access_report_pdf(people["dsb"], person.pk)
    assert "Mustermann" in flat(pdf_text(pdf))
    assert [pid for pid in offload.worker_pids() if pid != os.getpid()]


def test_a_killed_render_process_is_a_german_503_and_the_next_document_is_rendered():
    with pytest.raises(offload.RenderFailed) as exc:
        offload.call(os._exit, 1, what="Das Dokument „Probe“")
    assert exc.value.status == 503
    assert exc.value.detail.startswith("Das Dokument „Probe“ konnte nicht erzeugt werden")
    assert "unerwartet beendet" in exc.value.detail
    assert offload.worker_pids() == []  # the broken pool is gone ...
    assert pdf_text(layout.render(_head(), [layout.para("Danach")]))  # ... a new one renders


def test_a_worker_killed_while_idle_is_replaced_without_an_error():
    layout.render(_head(), [layout.para("Vorher")])
    [pid] = offload.worker_pids()
    pool = offload._pool
    os.kill(pid, signal.SIGKILL)
    # The state, not a time: the executor's management thread has seen the worker die.
    deadline = time.monotonic() + 30
    while not pool._broken and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool._broken
    assert "Danach" in flat(pdf_text(layout.render(_head(), [layout.para("Danach")])))
    assert pid not in offload.worker_pids()


def test_an_error_in_the_layout_is_a_german_503_with_the_cause_logged(caplog):
    with pytest.raises(offload.RenderFailed) as exc:
        offload.call(int, "Unbekannt", what="Der Jahresbericht 2026")
    assert exc.value.status == 503
    assert "Der Jahresbericht 2026 konnte nicht erzeugt werden: Fehler bei der Erzeugung" in (
        exc.value.detail)
    assert "invalid literal" in caplog.text


def test_a_render_that_overruns_is_stopped_and_answered_with_a_german_503(settings):
    settings.RENDER_TIMEOUT_SECONDS = 1
    with pytest.raises(offload.RenderFailed) as exc:
        offload.call(signal.pause)  # never returns by itself
    assert exc.value.status == 503 and "konnte nicht erzeugt werden" in exc.value.detail
    assert offload.worker_pids() == []
    settings.RENDER_TIMEOUT_SECONDS = 900
    assert offload.call(os.getpid) != os.getpid()


def test_the_worker_refuses_the_database():
    from beistand.organisation.models import Body

    with pytest.raises(offload.RenderFailed) as exc:
        offload.call(_count_bodies, Body)
    assert "Fehler bei der Erzeugung" in exc.value.detail


def _count_bodies(model):
    return model.objects.count()


def test_the_api_answers_a_failed_annual_report_with_problem_json_not_500(
        client, bearer, readers, staff, settings):  # noqa: F811
    make_incident(staff["ordnung"], at(2025, 3, 2))
    auth = bearer(readers[Role.STATISTICS])
    settings.RENDER_TIMEOUT_SECONDS = 0.001  # no report is laid out in a millisecond
    response = client.get("/api/v1/stats/annual-report/2025.pdf", **auth)
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Dokument nicht erzeugt"
    assert problem["detail"].startswith("Der Jahresbericht 2025 konnte nicht erzeugt werden")
    settings.RENDER_TIMEOUT_SECONDS = 900
    response = client.get("/api/v1/stats/annual-report/2025.pdf", **auth)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_the_dashboard_charts_are_drawn_in_the_worker(readers, staff):  # noqa: F811
    make_incident(staff["ordnung"], at(2025, 3, 2))
    from beistand.stats.filters import Filters

    board = stats.dashboard(readers[Role.STATISTICS], Filters(start=date(2025, 1, 1),
                                                          end=date(2025, 12, 31)))
    assert len(board.charts) == 4 and all("<svg" in c.svg for c in board.charts)
    assert offload.worker_pids()
