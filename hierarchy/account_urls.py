"""A person's own account (hierarchy/account_views.py), mounted at /accounts/ beside the
login and logout (okrplan/urls.py)."""

from django.conf import settings
from django.urls import path

from hierarchy import account_views as views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password/reset/sent/",
        views.auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_done.html",
            extra_context={"timeout_days": settings.PASSWORD_RESET_TIMEOUT // 86400},
        ),
        name="password-reset-done",
    ),
    path(
        "password/reset/complete/",
        views.auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_complete.html"
        ),
        name="password-reset-complete",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("password/change/", views.PasswordChangeView.as_view(), name="password-change"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.personal_token_create, name="personal-token-create"),
    path(
        "profile/tokens/<int:token_id>/revoke/",
        views.personal_token_revoke,
        name="personal-token-revoke",
    ),
]
