"""BEISTAND_SMS_INBOUND_WINDOW_SECONDS (10..3600) and BEISTAND_ALARM_LOCKED_SEAT_COUNTS_OFFLINE
(a boolean): any other value stops start-up of a real ``beistand`` process, naming the variable
(docs/configuration.md)."""

import pytest

from tests.core.test_settings_fail_fast import _start


@pytest.mark.parametrize("name,wrong", [
    ("BEISTAND_SMS_INBOUND_WINDOW_SECONDS", "9"),
    ("BEISTAND_SMS_INBOUND_WINDOW_SECONDS", "3601"),
    ("BEISTAND_SMS_INBOUND_WINDOW_SECONDS", "fünf"),
    ("BEISTAND_ALARM_LOCKED_SEAT_COUNTS_OFFLINE", "vielleicht"),
])
def test_a_wrong_value_stops_start_up(tmp_path, name, wrong):
    result = _start(tmp_path, **{name: wrong})
    assert result.returncode != 0
    assert name in result.stderr


def test_valid_values_start(tmp_path):
    result = _start(tmp_path, BEISTAND_SMS_INBOUND_WINDOW_SECONDS="60",
                    BEISTAND_ALARM_LOCKED_SEAT_COUNTS_OFFLINE="false")
    assert result.returncode == 0, result.stderr
