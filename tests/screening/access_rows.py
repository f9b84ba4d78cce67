"""Access-table rows for screening URLs (joined into tests/test_access.py).

Each row: (url name, method, kwargs spec, expected status per role in the order
anonymous, specialist, specialist of another site, staff, rules admin). A spec
is "" (no kwargs), "patient", or a callable (request, patient) -> kwargs.
"""

from __future__ import annotations

from typing import Any

LOGIN = "login"
ACCESS_ROWS: list[tuple[str, str, Any, tuple[Any, ...]]] = []
