from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from accounts.security import two_factor_exempt
from accounts.views import home
from api.api import urls as api_urls

urlpatterns = [
    path("", home, name="home"),
    path(
        "login/",
        login_not_required(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", two_factor_exempt(auth_views.LogoutView.as_view()), name="logout"),
    path("account/", include("accounts.urls")),
    path("patients/", include("clinic.urls")),
    path("privacy/", include("clinic.privacy_urls")),
    path("fhir/", include("interop.urls")),
    path("", include("interop.cds_urls")),
    path("", include("screening.urls")),
    path("", include("referrals.urls")),
    path("admin/", admin.site.urls),
    path("api/", api_urls()),
]

# A database that cannot answer gets the app's own page (config/errors.py), anything else the 500 page.
handler500 = "config.errors.server_error"
# Not found and not allowed: the app's own pages in its layout, navigation included.
handler404 = "config.errors.page_not_found"
handler403 = "config.errors.permission_denied"
handler400 = "config.errors.bad_request"
