"""Referrals raised on screening flags (filled in by the referral-queue work)."""
