"""Issue 16 follow-up (attack review, 10): rotating through the addresses of one IPv6 /64 escaped
the per-source limit and axes' (user name, address) lockout - every address counted on its own;
and twenty wrong passwords locked any named account, from everywhere: an attacker locked out the
security guard before an attack.

Now a source is an IPv4 address or an IPv6 /64 (``BEISTAND_LOCKOUT_IPV6_PREFIX``), for the
limits here and for axes' pairs; the account-wide limit refuses only sources the account never
logged in from, so its owner still logs in from their usual place. Against the real server:
uvicorn trusts X-Forwarded-For from 127.0.0.1, as behind the shipped nginx, so the test chooses
each request's source address."""

import pytest

from beistand.accounts.lockout import group_source
from tests.conftest import PASSWORD
from tests.security.test_login_limits import server, token  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_addresses_of_one_ipv6_network_count_as_one_source(server, make_user,  # noqa: F811
                                                           settings):
    settings.LOCKOUT_SOURCE_FAILURES = 6
    make_user("echt")
    answers = [token(server, f"gibt-es-nicht-{i}", f"geraten-{i}",
                     forwarded_for=f"2001:db8:1:2::{i + 1:x}") for i in range(6)]
    assert answers == [401] * 6
    # The reproduction: yet another address of the same /64 was a fresh source.
    assert token(server, "echt", PASSWORD, forwarded_for="2001:db8:1:2:ffff::99") == 429
    assert token(server, "echt", PASSWORD, forwarded_for="2001:db8:1:3::1") == 201  # other /64


def test_axes_pair_lockout_holds_across_a_rotating_ipv6_network(server, make_user,  # noqa: F811
                                                                 settings):
    settings.LOCKOUT_SOURCE_FAILURES = 100
    make_user("opfer")
    limit = settings.AXES_FAILURE_LIMIT
    answers = [token(server, "opfer", f"falsch-{i}", forwarded_for=f"2001:db8:9:9::{i + 1:x}")
               for i in range(limit)]
    # Each address was a fresh (user name, address) pair: never locked. Now the limit-th
    # failure of the /64 locks the pair.
    assert answers == [401] * (limit - 1) + [429]
    assert token(server, "opfer", PASSWORD, forwarded_for="2001:db8:9:9:abcd::1") == 429
    assert token(server, "opfer", PASSWORD, forwarded_for="2001:db8:9:a::1") == 201


def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(server, make_user,  # noqa: F811
                                                                   settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 8
    make_user("wache")
    # The guard works from the gatehouse PC (and has logged in from there before).
    assert token(server, "wache", PASSWORD, forwarded_for="198.51.100.10") == 201
    # The attack: wrong passwords for the guard from many addresses.
    answers = [token(server, "wache", f"falsch-{i}", forwarded_for=f"203.0.113.{i}")
               for i in range(8)]
    assert answers == [401] * 8
    # The guard still logs in from the gatehouse; the same IPv6 /64 counts as known too.
    assert token(server, "wache", PASSWORD, forwarded_for="198.51.100.10") == 201
    # Guessing from a new place stays bounded: right or wrong, no check is made.
    assert token(server, "wache", PASSWORD, forwarded_for="203.0.113.250") == 429
    assert token(server, "wache", "falsch-x", forwarded_for="192.0.2.77") == 429


def test_sources_are_grouped(settings):
    settings.LOCKOUT_IPV6_PREFIX = 64
    assert group_source("2001:db8:1:2:aaaa::1") == group_source("2001:db8:1:2::ffff") \
        == "2001:db8:1:2::"
    assert group_source("::ffff:192.0.2.5") == "192.0.2.5"
    assert group_source("192.0.2.5") == "192.0.2.5"
    settings.LOCKOUT_IPV6_PREFIX = 56
    assert group_source("2001:db8:1:ff::1") == "2001:db8:1::"
