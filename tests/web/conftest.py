import pytest

from tests.web.people import make_people


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The cast has eleven accounts; argon2 per account would dominate these tests' run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(org, make_user):
    return make_people(org, make_user)
