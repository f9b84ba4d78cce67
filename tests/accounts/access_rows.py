"""Access-table rows for the user's own security pages (joined into tests/test_access.py).

Each row: (url name, method, kwargs spec, expected status per role in the order
anonymous, specialist, specialist of another site, staff, rules admin). Every
signed-in user reaches their own Security page, password change and two-factor
set-up. The test cast's rules admin has given a second factor (tests/conftest.py
client_for); the others have no authenticator app, so the verify page sends them
on (302) and asking for new recovery codes sends them to set one up (302).
Turning two-factor sign-in off is refused where it is required (rules admins).
"""

from __future__ import annotations

from typing import Any

LOGIN = "login"
EVERYONE = (LOGIN, 200, 200, 200, 200)

ACCESS_ROWS: list[tuple[str, str, Any, tuple[Any, ...]]] = [
    ("accounts:security", "GET", "", EVERYONE),
    ("accounts:password_change", "GET", "", EVERYONE),
    ("accounts:password_change_done", "GET", "", EVERYONE),
    ("accounts:two_factor_setup", "GET", "", EVERYONE),
    ("accounts:two_factor_verify", "GET", "", (LOGIN, 302, 302, 302, 302)),
    ("accounts:recovery_codes", "POST", "", (LOGIN, 302, 302, 302, 200)),
    ("accounts:two_factor_remove", "GET", "", (LOGIN, 200, 200, 200, 403)),
]
