from django.urls import path

from referrals import views

app_name = "referrals"
urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/exports/", views.queue_export, name="export"),
    path("queue/exports/<int:pk>/download/", views.queue_export_download, name="export_download"),
    path("referrals/<int:pk>/", views.referral_detail, name="detail"),
    path("referrals/<int:pk>/print/", views.referral_print, name="print"),
    path("referrals/<int:pk>/transition/", views.referral_transition, name="transition"),
    path("referrals/<int:pk>/assign/", views.referral_assign, name="assign"),
    path("referrals/<int:pk>/notes/", views.referral_note, name="note"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
