"""Deployment tests reuse the backup drill's restore targets."""

from tests.backup.conftest import (  # noqa: F401 (fixtures)
    backup_settings,
    journal,
    target,
)
from tests.notify.fixtures import catalogue  # noqa: F401 (fixture)
