from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referral review"

    def ready(self) -> None:
        from referrals import receivers  # noqa: F401
