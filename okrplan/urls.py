from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from hierarchy import views as hierarchy_views
from okrplan.health import healthz
from okrplan.lib.spreadsheets import SheetFormatConverter

# `<sheet:fmt>`: the exports' formats, csv or xlsx (registered before the apps' URLs).
register_converter(SheetFormatConverter, "sheet")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # the split view serves its script from ?script, our template its styles from
        # static files: no inline script or style (Content-Security-Policy)
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/docs.html"),
        name="api-docs",
    ),
    path("api/v1/", include("hierarchy.api_urls")),
    path("api/v1/orgs/<slug:org>/", include("plans.api_urls")),
    path("api/v1/orgs/<slug:org>/", include("notifications.api_urls")),
    path("api/v1/orgs/<slug:org>/", include("notifications.report_urls")),
    path("accounts/login/", hierarchy_views.login, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("hierarchy.account_urls")),  # sign-up, password, profile
    # the admin's login, with the login pages' limit on attempts (hierarchy/views.py)
    path("admin/login/", hierarchy_views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("", include("hierarchy.urls")),
    path("", include("plans.urls")),
    path("", include("notifications.urls")),
]

if settings.BENCH_URLS:  # the HTTP benchmark's floors (bench/floors.py); never in production
    urlpatterns.insert(0, path("bench/", include("bench.urls")))

handler500 = "okrplan.errors.server_error"  # 503 when the database is out of reach
