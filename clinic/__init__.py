"""The clinic's pages and the one way through a change.

The top layer: it brings together the clinical record (``patients``), its
screening (``screening``) and the referral queue (``referrals``), which know
nothing of it. ``clinic.services.screen_and_apply`` is the only path from a
patient's record to a stored screening result and the referrals it opens or
withdraws; the patient list and page, the case-file import and the demo data
live here because they show or drive all three.
"""
