"""The tests' calendar: one pinned "today" for the whole run.

Every test runs with the clock pinned at noon, clinic time, on ``TODAY`` (the
autouse ``clock`` fixture in ``tests/conftest.py``), and factories derive
their dates from it, so no test reads the real clock by accident and none holds
a date that ages into a failure. ``TODAY`` is the real date when the run
starts, or the date in the environment variable ``CANDIDACY_TEST_TODAY``
(``YYYY-MM-DD``): the test command runs an extra pass with it set years ahead,
so a time bomb fails on the day it is written.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

CLOCK_ENV = "CANDIDACY_TEST_TODAY"


def _today() -> date:
    value = os.environ.get(CLOCK_ENV, "").strip()
    if value:
        return date.fromisoformat(value)
    return datetime.now(ZoneInfo(settings.TIME_ZONE)).date()


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=ZoneInfo(settings.TIME_ZONE))


TODAY: date = _today()
NOON: datetime = noon(TODAY)

# The shipped case files are dated: each holds ``as_of`` 2026-11-01 and records
# before it. A test that screens them "today" (a save, a page) pins the clock to
# this day with the ``cases_day`` fixture; the files never age.
CASES_DAY: date = date(2026, 11, 1)


def days_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def days_ahead(days: int) -> date:
    return TODAY + timedelta(days=days)
