"""Django Forms of the hierarchy's pages that are not the API's input: invitations, a
new organization, and a person's own account (sign-up, profile, personal tokens).

They parse what a person typed; the services validate the rest (the same services as
the API), and a service's ValidationError becomes an error on the field it names.
"""

import re

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.core.validators import validate_email

from hierarchy.models import ORG_SLUG_PATTERN, NotifyBy, Organization, Role
from hierarchy.services import organization_slug_suggest
from hierarchy.timezones import time_zone_choices
from okrplan.lib.forms import Form, NumberFormField, PeopleErrors
from okrplan.lib.text import ONE_LINE_MESSAGE, is_one_line


class InvitationForm(Form):
    """An admin invites someone: a username, or an e-mail address (it has an @)."""

    who = forms.CharField(
        label="Username or e-mail address",
        max_length=254,
        error_messages={"required": "Give the person's username or e-mail address."},
    )
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.MEMBER,
        error_messages={"required": "Choose a role.", "invalid_choice": "Choose a role."},
    )

    def clean_who(self) -> dict:
        value = self.cleaned_data["who"].strip()
        if "@" in value:
            try:
                validate_email(value)
            except forms.ValidationError:
                raise forms.ValidationError("Enter a valid e-mail address.") from None
            return {"email": value}
        if len(value) > 150:
            raise forms.ValidationError("A username has at most 150 characters.")
        try:
            get_user_model().username_validator(value)
        except forms.ValidationError:
            raise forms.ValidationError(
                "A username has letters, digits and @ . + - _ only (or give an e-mail address)."
            ) from None
        return {"username": value}


class SignupForm(Form):
    """Someone without an account signs up: on the sign-up page, or through an
    invitation's link (the API's register takes the same, hierarchy/services.py)."""

    username = forms.CharField(max_length=150, error_messages={"required": "Choose a username."})
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        error_messages={
            "required": "Give your e-mail address.",
            "invalid": "Enter a valid e-mail address.",
        },
    )
    password = forms.CharField(
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        error_messages={"required": "Choose a password."},
    )

    def clean_username(self) -> str:
        value = self.cleaned_data["username"]
        get_user_model().username_validator(value)
        return value


class ProfileForm(Form):
    """A person's profile: how the pages name them, their e-mail address, their time
    zone and how they hear of notifications (hierarchy/services.py::profile_update)."""

    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        error_messages={
            "required": "Give an e-mail address: password resets and e-mail go there.",
            "invalid": "Enter a valid e-mail address.",
        },
    )
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        choices=time_zone_choices,
        error_messages={"invalid_choice": "Choose a time zone from the list."},
    )
    notify_by = forms.ChoiceField(
        label="Notifications",
        choices=NotifyBy.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how you hear of notifications.",
            "invalid_choice": "Choose how you hear of notifications.",
        },
    )


class PersonalTokenForm(Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        error_messages={"required": "Name the token (what or where it is used)."},
        help_text="What or where it is used, e.g. “CI pipeline” or “laptop script”.",
    )


class LoginForm(PeopleErrors, AuthenticationForm):
    """Django's login form, its errors in people's words."""


class NewPasswordForm(PeopleErrors, SetPasswordForm):
    """Django's form of a new password (after a reset link), in people's words."""


class ChangePasswordForm(PeopleErrors, PasswordChangeForm):
    """Django's password change form, in people's words."""


class PasswordResetRequestForm(PeopleErrors, PasswordResetForm):
    """Django's, with our words."""

    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        error_messages={
            "required": "Give the e-mail address of your account.",
            "invalid": "Enter a valid e-mail address.",
        },
    )


SLUG_RULE = "Use lower-case letters a to z, digits and hyphens inside (like acme-corp)."


class OrganizationForm(Form):
    """A new organization: its name, and the slug of its addresses (/o/<slug>/), made from
    the name when left empty (the page's script fills it in as one types)."""

    name = forms.CharField(
        max_length=200,
        error_messages={
            "required": "Give the organization a name.",
            "max_length": "Use at most 200 characters.",
        },
    )
    slug = forms.CharField(
        max_length=50,
        required=False,
        error_messages={"max_length": "Use at most 50 characters."},
    )

    def clean_name(self) -> str:
        value = self.cleaned_data["name"].strip()
        if not is_one_line(value):
            raise forms.ValidationError(ONE_LINE_MESSAGE)
        return value

    def clean_slug(self) -> str:
        value = self.cleaned_data["slug"].strip().lower()
        if value and not re.match(ORG_SLUG_PATTERN, value):
            raise forms.ValidationError(SLUG_RULE)
        return value

    def clean(self):
        data = super().clean()
        if "name" in data and not data.get("slug") and "slug" not in self.errors:
            data["slug"] = organization_slug_suggest(data["name"])
            if not data["slug"]:
                message = f"Choose a slug (the name has nothing to make one of). {SLUG_RULE}"
                self.add_error("slug", message)
        return data


SETTINGS_FIELDS = Organization.SETTINGS_FIELDS


class SettingsForm(Form):
    """The organization's tolerances and protocol hours, as typed (the one parser); their
    ranges and precision are the model's, checked by `organization_settings_update` (the
    API's service). Like the API's PATCH, a field that is not posted stays as it is."""

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        for name in SETTINGS_FIELDS:
            if data is None or name in data:
                self.fields[name] = NumberFormField(
                    error_messages={"required": "Must be a number."}
                )
