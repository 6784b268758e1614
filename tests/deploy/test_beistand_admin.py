"""deploy/beistand-admin: as root it runs the command as the service user (runuser), with the
service's environment, umask 027 and, with --owner, the owner's DATABASE_URL and a password
file only the service user can read (never a password on the command line), removed afterwards.
A stand-in for the virtualenv's `beistand` prints what it got."""

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "beistand-admin"
USER = "nobody"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switches users: needs root")


@pytest.fixture
def install():
    # Outside pytest's private tmp (mode 0700): the service user must reach these files.
    tmp_path = Path(tempfile.mkdtemp(prefix="beistand-admin-test-"))
    tmp_path.chmod(0o755)
    yield from _install(tmp_path)
    shutil.rmtree(tmp_path)


def _install(tmp_path):
    code = tmp_path / "code"
    (code / ".venv" / "bin").mkdir(parents=True)
    stand_in = code / ".venv" / "bin" / "beistand"
    stand_in.write_text('#!/bin/sh\necho "uid=$(id -un) umask=$(umask) cwd=$(pwd) '
                        'db=$DATABASE_URL data=$BEISTAND_DATA_DIR pgpass=$PGPASSFILE"\n'
                        '[ -n "$PGPASSFILE" ] && cat "$PGPASSFILE"\necho "args=$*"\n')
    stand_in.chmod(0o755)
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "beistand.env").write_text("BEISTAND_DATA_DIR=/var/lib/beistand\n"
                                      "DATABASE_URL=postgres://beistand_app@127.0.0.1/beistand\n")
    (etc / "owner.env").write_text("DATABASE_URL=postgres://beistand_owner@127.0.0.1/beistand\n")
    pgpass = etc / "owner.pgpass"
    pgpass.write_text("127.0.0.1:5432:beistand:beistand_owner:geheim-owner\n")
    pgpass.chmod(0o600)
    env = dict(os.environ, BEISTAND_USER=USER, BEISTAND_CODE=str(code),
               BEISTAND_ENV_FILE=str(etc / "beistand.env"),
               BEISTAND_OWNER_ENV=str(etc / "owner.env"),
               BEISTAND_OWNER_PGPASS=str(pgpass))
    yield code, env


def _run(env, *args):
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_runs_as_service_user_with_its_environment(install):
    code, env = install
    out = _run(env, "collectstatic", "--noinput")
    assert out.returncode == 0, out.stderr
    assert f"uid={USER} umask=0027 cwd={code}" in out.stdout
    assert "db=postgres://beistand_app@127.0.0.1/beistand" in out.stdout
    assert "args=collectstatic --noinput" in out.stdout
    assert "geheim" not in out.stdout


def test_owner_gets_owner_url_and_a_private_password_file(install):
    _, env = install
    out = _run(env, "--owner", "migrate")
    assert out.returncode == 0, out.stderr
    assert "db=postgres://beistand_owner@127.0.0.1/beistand" in out.stdout
    assert "geheim-owner" in out.stdout  # readable by the service user through PGPASSFILE
    passfile = out.stdout.split("pgpass=")[1].split()[0]
    assert passfile.startswith("/run/beistand-admin.")
    assert not Path(passfile).exists()  # removed afterwards
    assert "args=migrate" in out.stdout


def test_refuses_other_users(install):
    _, env = install
    me = pwd.getpwnam(USER)
    out = subprocess.run(["runuser", "-u", "daemon", "--", str(SCRIPT), "check"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert me.pw_name == USER
    assert out.returncode != 0
    assert f"run as root or as {USER}" in out.stderr
