from django.urls import path

from clinic import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("import/", views.case_import, name="import"),
    path("sledai-preview/", views.sledai_preview, name="sledai_preview"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/classification/", views.classification_edit, name="classification"),
    path("<int:pk>/history/", views.patient_history_view, name="history"),
    path("<int:pk>/rescreen/", views.patient_rescreen, name="rescreen"),
    path("<int:pk>/export.json", views.case_export, name="export"),
    path("<int:pk>/<slug:kind>/add/", views.record_add, name="record_add"),
    path("<int:pk>/<slug:kind>/<int:rid>/edit/", views.record_edit, name="record_edit"),
    path("<int:pk>/<slug:kind>/<int:rid>/delete/", views.record_delete, name="record_delete"),
]
