"""Django Forms of the hierarchy's pages that are not the API's input: invitations.

They parse what a person typed; the services validate the rest (the same services as
the API), and a service's ValidationError becomes an error on the field it names.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import validate_email

from hierarchy.models import Role


class InvitationForm(forms.Form):
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


class SignupForm(forms.Form):
    """Someone without an account signs up through an invitation's link."""

    username = forms.CharField(max_length=150)
    email = forms.EmailField(label="E-mail address", max_length=254)
    password = forms.CharField(
        max_length=128, strip=False, widget=forms.PasswordInput(render_value=False)
    )

    def clean_username(self) -> str:
        value = self.cleaned_data["username"]
        get_user_model().username_validator(value)
        return value
