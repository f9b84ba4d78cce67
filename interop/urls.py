from django.urls import path

from interop import views

app_name = "interop"
urlpatterns = [
    path("import/", views.bundle_import, name="import"),
    path("patients/<int:pk>/bundle.json", views.bundle_export, name="patient_bundle"),
]
