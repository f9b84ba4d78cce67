from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from accounts.views import home

urlpatterns = [
    path("", home, name="home"),
    path(
        "login/",
        login_not_required(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("patients/", include("clinic.urls")),
    path("privacy/", include("clinic.privacy_urls")),
    path("", include("screening.urls")),
    path("", include("referrals.urls")),
    path("admin/", admin.site.urls),
]
