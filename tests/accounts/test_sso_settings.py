"""The environment switches OIDC and LDAP on with working settings (checked in a fresh process,
because settings are read once at start)."""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
from django.urls import reverse
out = {"backends": s.AUTHENTICATION_BACKENDS,
       "failure": getattr(s, "LOGIN_REDIRECT_URL_FAILURE", None),
       "trust": getattr(s, "OIDC_TRUST_MFA", None)}
try:
    out["oidc_url"] = reverse("oidc_authentication_init")
except Exception:
    out["oidc_url"] = None
if getattr(s, "LDAP_ENABLED", False):
    out["start_tls"] = s.AUTH_LDAP_START_TLS
    search = getattr(s, "AUTH_LDAP_USER_SEARCH", None)
    out["search"] = [search.base_dn, search.filterstr] if search else None
print(json.dumps(out))
"""


def probe(tmp_path, **env):
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("OIDC_", "AUTH_LDAP_", "BEISTAND_OIDC"))}
    environ.update(DJANGO_SETTINGS_MODULE="beistand.settings",
                   BEISTAND_DATA_DIR=str(tmp_path), **env)
    result = subprocess.run([sys.executable, "-c", PROBE], env=environ, capture_output=True,
                            text=True, timeout=60, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_variables_only_local_login(tmp_path):
    out = probe(tmp_path)
    assert out["backends"] == ["axes.backends.AxesStandaloneBackend",
                               "beistand.accounts.lockout.SprayGuardBackend",
                               "beistand.accounts.backends.RoleAwareModelBackend"]
    assert out["oidc_url"] is None


def test_oidc_client_id_switches_oidc_on(tmp_path):
    out = probe(tmp_path, OIDC_RP_CLIENT_ID="beistand", BEISTAND_OIDC_TRUST_MFA="true",
                OIDC_OP_JWKS_ENDPOINT="https://idp.invalid/jwks")
    assert out["backends"][-1] == "beistand.accounts.oidc.EmployeeOIDCBackend"
    assert out["backends"][0] == "axes.backends.AxesStandaloneBackend"
    assert out["oidc_url"] == "/oidc/authenticate/"
    assert out["failure"] == "/konto/anmelden/"
    assert out["trust"] is True


def test_ldap_search_is_built_from_the_variables(tmp_path):
    pytest.importorskip("django_auth_ldap", reason="optional extra beistand[ldap]")
    out = probe(tmp_path, AUTH_LDAP_SERVER_URI="ldaps://dc1.musterstadt.local",
                AUTH_LDAP_USER_SEARCH_BASE="OU=Beschaeftigte,DC=musterstadt,DC=local")
    assert out["backends"][-1] == "beistand.accounts.ldap.EmployeeLDAPBackend"
    assert out["search"] == ["OU=Beschaeftigte,DC=musterstadt,DC=local",
                             "(sAMAccountName=%(user)s)"]
    assert out["start_tls"] is False  # ldaps:// is TLS already
    out = probe(tmp_path, AUTH_LDAP_SERVER_URI="ldap://ldap.musterstadt.de",
                AUTH_LDAP_USER_DN_TEMPLATE="uid=%(user)s,ou=people,dc=musterstadt,dc=de")
    assert out["search"] is None
    assert out["start_tls"] is True
