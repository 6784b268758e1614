from tests.alarms.conftest import (  # noqa: F401 - shared fixtures of the alarm tests
    alarm_defaults,
    fast_plan,
    people,
    server,
    token,
)
