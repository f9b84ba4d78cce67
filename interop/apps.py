from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "interop"
    verbose_name = "FHIR and CDS Hooks"

    def ready(self) -> None:
        from interop.cds import feedback_counts
        from referrals.dashboard import VERSION_COUNTS

        # the dashboard's decisions per rule version show what record systems did with the cards
        VERSION_COUNTS["Cards accepted (CDS Hooks)"] = feedback_counts("accepted")
        VERSION_COUNTS["Cards overridden (CDS Hooks)"] = feedback_counts("overridden")
