from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        # The lower apps announce what happened; the clinic decides what follows. They never import it.
        from clinic import services
        from patients.signals import record_changed
        from screening.jobs import register_runner
        from screening.models import JobKind

        record_changed.connect(services.on_record_changed, dispatch_uid="clinic.on_record_changed")
        register_runner(JobKind.RESCREEN, services.run_rescreen_job)
