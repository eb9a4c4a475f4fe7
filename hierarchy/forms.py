"""Django Forms of the hierarchy's pages: the admin pages (invitations, a member's role,
departments, cycles, the organization's settings), a new organization, and a person's
own account (sign-up, profile, personal tokens).

They parse what a person typed, with messages in their words; the services validate the
rest (the same services as the API), and a service's ValidationError becomes an error on
the field it names (`okrplan.lib.forms.form_add_service_errors`). A reference to a row of
the organization (a department, a member) is looked up through the page's scope, so
another organization's answers exactly like a missing one.
"""

import re
from datetime import date

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.core.validators import validate_email

from hierarchy.models import (
    ORG_SLUG_PATTERN,
    Cycle,
    Department,
    Granularity,
    Membership,
    NotifyBy,
    Organization,
    Role,
)
from hierarchy.services import cycle_default_days, organization_slug_suggest
from hierarchy.timezones import time_zone_choices
from okrplan.lib.forms import Form, NumberFormField, PeopleErrors
from okrplan.lib.text import ONE_LINE_MESSAGE, is_one_line, validate_one_line


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


class MemberRoleForm(Form):
    """A member's new role (the members page's row); whether it may change (the last
    admin, a viewer's duties) is `membership_update`'s, the API's service."""

    role = forms.ChoiceField(
        choices=Role.choices,
        error_messages={
            "required": "Choose a role: admin, member or viewer.",
            "invalid_choice": "Choose a role: admin, member or viewer.",
        },
    )

    @property
    def all_errors(self) -> list[str]:
        """The role's errors and the form's: the row shows them together."""
        return [message for messages_ in self.errors.values() for message in messages_]


class MemberField(forms.CharField):
    """A member of the organization, named by username (like the API's `MemberField`):
    the user, or an error naming what was typed. `members` (set by the form) is the
    organization's memberships, so a username of another organization's member answers
    like one nobody has."""

    default_error_messages = {
        "not_member": "No member of this organization is named “%(value)s”.",
    }

    def __init__(self, **kwargs):
        self.members = Membership.objects.none()
        super().__init__(**kwargs)

    def clean(self, value):
        # stripped, and a NUL refused, before the query (PostgreSQL cannot compare one)
        username = super().clean(value)
        if not username:
            return None
        membership = self.members.select_related("user").filter(user__username=username).first()
        if membership is None:
            raise forms.ValidationError(
                self.error_messages["not_member"],
                code="not_member",
                params={"value": username[:150]},
            )
        return membership.user


class DepartmentForm(Form):
    """A new department (the add form), or a department's row: its name, its lead (a
    member, by username) and the department it is part of. A row's field that is not
    posted stays as it is, like the API's PATCH."""

    name = forms.CharField(
        max_length=200,
        validators=[validate_one_line],
        error_messages={
            "required": "Give the department a name.",
            "max_length": "Use at most 200 characters.",
        },
    )
    lead = MemberField(
        label="Lead (username of a member)",
        error_messages={
            "required": "Give a username: a member of the organization leads the department.",
        },
    )
    parent = forms.ModelChoiceField(
        label="Part of (optional)",
        queryset=Department.objects.none(),
        required=False,
        error_messages={
            "invalid_choice": "That department does not exist (any more): choose one from "
            "the list.",
        },
    )

    def __init__(self, data=None, *, scope, department: Department | None = None, **kwargs):
        self.department = department
        if department is not None:
            kwargs["initial"] = {
                "name": department.name,
                "lead": department.lead.username,
                "parent": department.parent_id,
            }
            if data is not None:
                data = {**kwargs["initial"], **{k: data[k] for k in self.base_fields if k in data}}
        super().__init__(data, **kwargs)
        self.fields["lead"].members = scope.queryset(Membership)
        self.fields["parent"].queryset = scope.queryset(Department)


# What the date inputs send (and the API reads): 2026-01-31, ASCII digits only
ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", re.ASCII)
DAY_EXAMPLE = "like 2026-01-31"


class DayField(forms.Field):
    """A day as the date inputs send it, year-month-day (the API's format). Whether the
    day may be a cycle's is the cycle services' (SPEC.md §2, docs/decisions.md)."""

    default_error_messages = {
        "invalid": f"Enter a date {DAY_EXAMPLE}.",
        "no_such_day": f"There is no such day as %(value)s: enter a date {DAY_EXAMPLE}.",
    }

    def to_python(self, value) -> date | None:
        value = (value or "").strip()
        if value in self.empty_values:
            return None
        match = ISO_DAY.fullmatch(value)
        if not match:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return date(*map(int, match.groups()))
        except ValueError:
            raise forms.ValidationError(
                self.error_messages["no_such_day"], code="no_such_day", params={"value": value}
            ) from None


CYCLE_FIELDS = (
    "name",
    "start",
    "end",
    "granularity",
    "refine_start",
    "refine_end",
    "alignment_meeting",
    "midcycle_check",
)


class CycleForm(Form):
    """A new cycle, or a cycle's edit page: its name, dates, periods and the optional
    days (`cycle_create`, `cycle_update`: the API's services check how the days fit
    together). An alignment meeting or mid-cycle check left empty is the default day;
    on the edit page a field that is not posted (the periods' select, disabled once the
    cycle has key results) stays as it is."""

    name = forms.CharField(
        max_length=100,
        validators=[validate_one_line],
        widget=forms.TextInput(attrs={"placeholder": "Q3 2026"}),
        error_messages={
            "required": "Give the cycle a name, like Q3 2026.",
            "max_length": "Use at most 100 characters.",
        },
    )
    start = DayField(
        error_messages={"required": "Give the day the cycle starts."},
    )
    end = DayField(
        error_messages={"required": "Give the day the cycle ends."},
    )
    granularity = forms.ChoiceField(
        label="Periods",
        choices=Granularity.choices,
        error_messages={
            "required": "Choose monthly or weekly periods.",
            "invalid_choice": "Choose monthly or weekly periods.",
        },
    )
    refine_start = DayField(label="Refine window starts", required=False)
    refine_end = DayField(label="Refine window ends", required=False)
    alignment_meeting = DayField(label="Alignment meeting", required=False)
    midcycle_check = DayField(label="Mid-cycle check", required=False)

    def __init__(self, data=None, *, cycle: Cycle | None = None, **kwargs):
        self.cycle = cycle
        if cycle is not None:
            kwargs["initial"] = self.values_of(cycle)
            if data is not None:
                data = {**kwargs["initial"], **{k: data[k] for k in CYCLE_FIELDS if k in data}}
        else:
            kwargs.setdefault("initial", {"granularity": Granularity.MONTH})
        super().__init__(data, **kwargs)

    @staticmethod
    def values_of(cycle: Cycle) -> dict:
        """The edit form's values: an alignment meeting or mid-cycle check on its default
        day is left empty (it is the default again, and follows the dates when they move)."""
        defaults = cycle_default_days(cycle.start, cycle.end)
        return {
            field: (value.isoformat() if isinstance(value, date) else value)
            for field in CYCLE_FIELDS
            if (value := getattr(cycle, field)) is not None and defaults.get(field) != value
        }
