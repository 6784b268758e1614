"""The look-up's thresholds are settings, validated at start-up (a fresh process each case)."""

import pytest

from tests.core.test_settings import _ok, _settings


def test_match_thresholds_default_and_can_be_set(tmp_path):
    expr = "[settings.MATCH_SHOWN, settings.MATCH_LIKELY, settings.MATCH_SURE]"
    assert _ok(_settings(tmp_path, expr)) == [0.5, 0.95, 0.999]
    assert _ok(_settings(tmp_path, expr, BEISTAND_MATCH_SHOWN="0.3")) == [0.3, 0.95, 0.999]


@pytest.mark.parametrize("env", [
    {"BEISTAND_MATCH_SHOWN": "viel"},
    {"BEISTAND_MATCH_SHOWN": "0.97"},  # above LIKELY
    {"BEISTAND_MATCH_SURE": "1.5"},
    {"BEISTAND_MATCH_SHOWN": "0"},
    {"BEISTAND_MATCH_WIDE_PROBE_MAX": "0"},
    {"BEISTAND_MATCH_FREQUENCY_MIN_PERSONS": "-1"},
])
def test_wrong_match_settings_stop_start_up(tmp_path, env):
    result = _settings(tmp_path, "1", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert next(iter(env)) in result.stderr
