from django.urls import path

from interop import cds

app_name = "cds"
urlpatterns = [
    path("cds-services", cds.discovery, name="discovery"),
    path("cds-services/<slug:service_id>", cds.service, name="service"),
    path("cds-services/<slug:service_id>/feedback", cds.feedback, name="feedback"),
]
