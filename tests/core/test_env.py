"""beistand.core.env: typed environment readers fail loudly, naming the variable."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from beistand.core.env import env_bool, env_int, env_list, env_str


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", " yes ", "on", "ja"])
def test_bool_true_spellings(monkeypatch, raw):
    monkeypatch.setenv("BEISTAND_TEST_FLAG", raw)
    assert env_bool("BEISTAND_TEST_FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", "nein", ""])
def test_bool_false_spellings(monkeypatch, raw):
    monkeypatch.setenv("BEISTAND_TEST_FLAG", raw)
    assert env_bool("BEISTAND_TEST_FLAG", True) is False


def test_bool_unset_gives_default(monkeypatch):
    monkeypatch.delenv("BEISTAND_TEST_FLAG", raising=False)
    assert env_bool("BEISTAND_TEST_FLAG", True) is True
    assert env_bool("BEISTAND_TEST_FLAG", False) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "wahr", "t r u e"])
def test_bad_bool_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("BEISTAND_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured) as err:
        env_bool("BEISTAND_TEST_FLAG", False)
    assert "BEISTAND_TEST_FLAG" in str(err.value)
    assert repr(raw) in str(err.value)


def test_int_parses_and_defaults(monkeypatch):
    monkeypatch.setenv("BEISTAND_TEST_NUMBER", " 42 ")
    assert env_int("BEISTAND_TEST_NUMBER", 7) == 42
    monkeypatch.setenv("BEISTAND_TEST_NUMBER", "")
    assert env_int("BEISTAND_TEST_NUMBER", 7) == 7
    monkeypatch.delenv("BEISTAND_TEST_NUMBER")
    assert env_int("BEISTAND_TEST_NUMBER", 7) == 7


@pytest.mark.parametrize("raw", ["zwölf", "1.5", "10s", "0x10"])
def test_bad_int_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("BEISTAND_TEST_NUMBER", raw)
    with pytest.raises(ImproperlyConfigured) as err:
        env_int("BEISTAND_TEST_NUMBER", 7)
    assert "BEISTAND_TEST_NUMBER" in str(err.value)


def test_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("BEISTAND_TEST_LIST", " a.example , b.example,,")
    assert env_list("BEISTAND_TEST_LIST", ["x"]) == ["a.example", "b.example"]
    monkeypatch.setenv("BEISTAND_TEST_LIST", "")
    assert env_list("BEISTAND_TEST_LIST", ["x"]) == []
    monkeypatch.delenv("BEISTAND_TEST_LIST")
    default = ["x"]
    result = env_list("BEISTAND_TEST_LIST", default)
    assert result == ["x"]
    result.append("y")
    assert default == ["x"], "the default list must not be shared with the caller"


def test_str_passes_value_through(monkeypatch):
    monkeypatch.setenv("BEISTAND_TEST_TEXT", "  wert ")
    assert env_str("BEISTAND_TEST_TEXT", "d") == "  wert "
    monkeypatch.delenv("BEISTAND_TEST_TEXT")
    assert env_str("BEISTAND_TEST_TEXT", "d") == "d"


def test_choice_normalises_and_defaults(monkeypatch):
    from beistand.core.env import env_choice

    monkeypatch.setenv("BEISTAND_TEST_CHOICE", " HTTP ")
    assert env_choice("BEISTAND_TEST_CHOICE", "none", ("none", "http")) == "http"
    monkeypatch.setenv("BEISTAND_TEST_CHOICE", "")
    assert env_choice("BEISTAND_TEST_CHOICE", "none", ("none", "http")) == "none"
    monkeypatch.setenv("BEISTAND_TEST_CHOICE", "htp")
    with pytest.raises(ImproperlyConfigured) as err:
        env_choice("BEISTAND_TEST_CHOICE", "none", ("none", "http"))
    assert str(err.value) == "BEISTAND_TEST_CHOICE must be one of none, http; got 'htp'"
