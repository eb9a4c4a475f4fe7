"""A person's own account in the browser (issue 14 item 1): sign-up, password reset by
e-mail, the profile (name, e-mail, time zone, notifications), the password change and
personal API tokens.

No organization in these paths: each page is the caller's own, and somebody else's
token is as missing as one that does not exist (404). The writes go through the
services the API uses (`user_register`) or their own (`profile_update`,
`personal_token_create`, `personal_token_revoke`); a service's ValidationError is shown
next to the field it names.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from hierarchy import selectors, services
from hierarchy.forms import (
    ChangePasswordForm,
    NewPasswordForm,
    PasswordResetRequestForm,
    PersonalTokenForm,
    ProfileForm,
    SignupForm,
)
from hierarchy.models import NotifyBy
from hierarchy.timezones import daily_hour_next, time_zone_remember, time_zone_select
from okrplan.lib.throttling import (
    PasswordResetRateThrottle,
    PasswordResetThrottled,
    RegisterRateThrottle,
    RegisterThrottled,
)


def _errors_to_form(form, error: ValidationError) -> None:
    """A service's `{field: [message]}` next to the form's fields (the rest on top)."""
    for field, field_messages in error.message_dict.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


# --- Sign-up ------------------------------------------------------------------------


def _signup_page(request, form, *, status=200, throttled=""):
    return render(
        request,
        "registration/signup.html",
        {"form": form, "throttled": throttled},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def signup(request):
    """A new account, as the API's register makes it (limited per client address, the
    same count); then logged in, to the home page, which says what to do next."""
    if request.user.is_authenticated:
        return redirect("home")
    if request.method == "GET":
        return _signup_page(request, SignupForm())
    form = SignupForm(request.POST)
    throttle = RegisterRateThrottle()
    if not throttle.allow_request(request, None):
        seconds = throttle.retry_after()
        response = _signup_page(
            request, form, status=429, throttled=str(RegisterThrottled(wait=seconds).detail)
        )
        response["Retry-After"] = str(seconds)
        return response
    if form.is_valid():
        try:
            user, _ = services.user_register(**form.cleaned_data)
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            auth_login(request, user, backend="okrplan.lib.auth.SessionUserBackend")
            messages.success(request, f"Welcome to okrplan, {user.username}.")
            return redirect("home")
    return _signup_page(request, form, status=400)


# --- Password reset by e-mail (Django's views, our templates) -------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for an e-mail address and mails a one-time link to each account with it (the
    same answer whether there is one or not). Limited per client address and e-mail
    address (PASSWORD_RESET_RATE). The link starts with SITE_URL, as invitations' do, not
    with the Host the request named."""

    form_class = PasswordResetRequestForm
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password-reset-done")

    @property
    def extra_email_context(self):
        return {"site_url": settings.SITE_URL}

    def post(self, request, *args, **kwargs):
        throttle = PasswordResetRateThrottle()
        if not throttle.allow_request(request, None):
            seconds = throttle.retry_after()
            message = str(PasswordResetThrottled(wait=seconds).detail)
            response = self.render_to_response(
                self.get_context_data(form=self.get_form(), throttled=message)
            )
            response.status_code = 429
            response["Retry-After"] = str(seconds)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = NewPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change (the old password, the new one twice); the session stays
    logged in; back to the profile."""

    form_class = ChangePasswordForm
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed.")
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


# --- The profile, and personal API tokens ---------------------------------------------


def _profile_context(
    request, *, form=None, token_form=None, new_key="", new_token=None, revoked=None
):
    user = request.user
    profile = selectors.profile_get(user=user)
    if form is None:
        form = ProfileForm(
            initial={
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "time_zone": profile.time_zone,
                "notify_by": profile.notify_by,
            }
        )
    return {
        "form": form,
        "profile": profile,
        "time_zones": time_zone_select(),
        "notify_digest": NotifyBy.DIGEST,
        "digest_hour": f"{settings.DIGEST_HOUR:02d}:00",
        # the saved choice's next digest (the page says when)
        "digest_next": daily_hour_next(
            now=timezone.now(), time_zone=profile.time_zone, hour=settings.DIGEST_HOUR
        )
        if profile.notify_by == NotifyBy.DIGEST
        else None,
        "token_form": token_form or PersonalTokenForm(),
        "tokens": selectors.personal_token_list(user=user),
        "new_key": new_key,
        "new_token": new_token,
        "revoked": revoked,
    }


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    if request.method == "GET":
        return render(request, "accounts/profile.html", _profile_context(request))
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            saved = services.profile_update(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            time_zone_remember(request, saved.time_zone)
            messages.success(request, "Your profile was saved.")
            return redirect("profile")
    return render(
        request, "accounts/profile.html", _profile_context(request, form=form), status=400
    )


def _tokens(request, status=200, **context):
    """The tokens' section: the fragment for htmx, else the whole profile page."""
    template = "accounts/profile.html#tokens" if request.htmx else "accounts/profile.html"
    return render(request, template, _profile_context(request, **context), status=status)


@login_required
@require_POST
def personal_token_create(request):
    """A new token, its key shown in this answer only (it is stored as a hash, so there
    is nothing to redirect to: the page is the answer, 200)."""
    form = PersonalTokenForm(request.POST)
    if form.is_valid():
        try:
            token, key = services.personal_token_create(
                user=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            return _tokens(request, new_key=key, new_token=token)
    return _tokens(request, status=200 if request.htmx else 400, token_form=form)


@login_required
@require_POST
def personal_token_revoke(request, token_id: int):
    token = selectors.personal_token_of(user=request.user, token_id=token_id)
    services.personal_token_revoke(token=token)
    if request.htmx:
        return _tokens(request, revoked=token)
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect(f"{reverse('profile')}#tokens")
