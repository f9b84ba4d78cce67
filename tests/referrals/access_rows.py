"""Access-table rows for referral URLs (joined into tests/test_access.py).

Each row: (url name, method, kwargs spec, expected status per role in the order
anonymous, specialist, specialist of another site, staff, rules admin). The
kwargs callable opens a referral for the site-A patient. A transition POSTed with
no data re-renders the referral page with the form's errors (200); an assignment
POSTed with no data lacks the version the user saw, and says so (409).
"""

from __future__ import annotations

from typing import Any

LOGIN = "login"
QUEUE = (LOGIN, 200, 200, 200, 403)
REFERRAL = (LOGIN, 200, 404, 200, 403)


def referral(request: Any, patient: Any) -> dict[str, Any]:
    from tests.referrals.factories import make_referral

    return {"pk": make_referral(patient).pk}


def export(request: Any, patient: Any) -> dict[str, Any]:
    """An export written for the specialist of site A: only they may download it (everyone else: 404)."""
    from referrals.exports import request_export, write
    from referrals.queue import QueueFilters
    from tests.referrals.factories import make_referral

    make_referral(patient)
    job = request_export(user=request.getfixturevalue("specialist"), filters=QueueFilters())
    write(job.pk)
    return {"pk": job.pk}


ACCESS_ROWS: list[tuple[str, str, Any, tuple[Any, ...]]] = [
    ("referrals:queue", "GET", "", QUEUE),
    ("referrals:export", "GET", "", QUEUE),
    ("referrals:export", "POST", "", (LOGIN, 302, 302, 302, 403)),
    ("referrals:export_download", "GET", export, (LOGIN, 200, 404, 404, 403)),
    ("referrals:dashboard", "GET", "", (LOGIN, 200, 200, 200, 200)),
    ("referrals:detail", "GET", referral, REFERRAL),
    ("referrals:print", "GET", referral, REFERRAL),
    ("referrals:transition", "POST", referral, REFERRAL),
    ("referrals:assign", "POST", referral, (LOGIN, 409, 404, 409, 403)),
    ("referrals:note", "POST", referral, REFERRAL),
]
