from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referral review"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from patients.models import Patient
        from referrals import summary
        from referrals.models import Referral

        # the per-site summaries (referrals.summary) follow people's own changes at once
        post_save.connect(summary.drop_for_referral, sender=Referral, dispatch_uid="referrals.summary.referral")
        post_save.connect(summary.count_patient, sender=Patient, dispatch_uid="referrals.summary.patient")
        post_delete.connect(summary.count_patient, sender=Patient, dispatch_uid="referrals.summary.patient_gone")
