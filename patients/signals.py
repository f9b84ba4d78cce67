"""Signals of the clinical record.

``record_changed`` is sent once a change to a patient's record has committed,
with ``patient_id`` and ``actor`` (the user who made it, or None). The clinic
app listens to re-screen the patient and apply the result to the referrals;
this app does not know who listens.
"""

from django.dispatch import Signal

record_changed = Signal()
