"""Signals of the screening app.

``result_stored`` is sent (inside the storing transaction) after every stored
screening result, with ``result`` and ``previous`` (the patient's result
before it, or None). Referrals listen to it to open or withdraw.
"""

from django.dispatch import Signal

result_stored = Signal()
