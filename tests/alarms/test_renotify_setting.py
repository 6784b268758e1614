"""BEISTAND_ALARM_RENOTIFY_MINUTES (docs/configuration.md): 1-120; any other value stops
start-up of a real ``beistand`` process, naming the variable."""

import pytest

from tests.core.test_settings_fail_fast import _start


@pytest.mark.parametrize("wrong", ["0", "121", "fünf"])
def test_a_wrong_renotify_interval_stops_start_up(tmp_path, wrong):
    result = _start(tmp_path, BEISTAND_ALARM_RENOTIFY_MINUTES=wrong)
    assert result.returncode != 0
    assert "BEISTAND_ALARM_RENOTIFY_MINUTES" in result.stderr


def test_a_valid_renotify_interval_starts(tmp_path):
    result = _start(tmp_path, BEISTAND_ALARM_RENOTIFY_MINUTES="10")
    assert result.returncode == 0, result.stderr
