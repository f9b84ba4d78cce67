from django.urls import path

from clinic import privacy

app_name = "privacy"
urlpatterns = [
    path("patients/", privacy.patient_list, name="patients"),
    path("patients/<int:pk>/", privacy.patient_log, name="patient_log"),
    path("patients/<int:pk>/access-log.csv", privacy.patient_log_export, name="patient_log_export"),
]
