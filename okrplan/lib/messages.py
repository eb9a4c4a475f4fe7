"""People's words for what DRF and Django would say (issue 16 §5): one table, used by the
API and the pages.

A framework's default message ("This field may not be null.", "Date has wrong format. Use
one of these formats instead: YYYY-MM-DD.", "Ensure this value is greater than or equal
to 0.000001.") is never shown. Where they come from, and where they are replaced:

- DRF's fields, in every serializer that reads input (the API's, and the pages that parse
  with them): `okrplan.lib.strict.InputSerializer` gives each field these messages
  (`drf_field`), its validators included.
- Django's validation errors: those of the services (`full_clean` of a model) as the API
  answers them (`okrplan.lib.api.exception_handler`) and the pages show them
  (`okrplan.lib.forms.form_add_service_errors`, `form_errors`), and those of the pages'
  Django Forms (`okrplan.lib.forms.Form`): `django_error`, which replaces a message only
  when it is the framework's own (one the code wrote stays as written).

tests/test_people_messages.py walks every input serializer and page form and fails on a
framework message left.
"""

import copy
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.core import validators as django_validators
from django.core.exceptions import ValidationError
from django.db import models
from rest_framework import fields, relations, serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from okrplan.lib.numbers import num
from okrplan.lib.text import NUL_MESSAGE

CHOICES_NAMED = 12  # a choice field's message names its choices up to this many
REQUIRED = "Required: give a value."
EMPTY = "Required: this cannot be left empty."
AT_MOST_CHARACTERS = "Too long: at most {max_length} characters."
AT_LEAST_CHARACTERS = "Too short: at least {min_length} characters."
DATE = "Give a date as YYYY-MM-DD, like 2026-03-31."
DATETIME = "Give a date and time as YYYY-MM-DDTHH:MM with its zone, like 2026-03-31T17:00Z."
NULL_CHARACTER = NUL_MESSAGE
SURROGATE = "Remove the character U+{code_point:X}: it cannot be stored."

# DRF: by field class (the most derived that has an entry wins, key by key), with DRF's
# placeholders ({max_length}, {input}, …), which its fields fill in.
DRF: dict[type, dict[str, str]] = {
    fields.Field: {"required": REQUIRED, "null": REQUIRED},
    fields.CharField: {
        "blank": EMPTY,
        "invalid": "Give text.",
        "max_length": AT_MOST_CHARACTERS,
        "min_length": AT_LEAST_CHARACTERS,
    },
    fields.EmailField: {"invalid": "Give an e-mail address, like name@example.com."},
    fields.SlugField: {
        "invalid": "Use only letters, digits, hyphens and underscores.",
        "invalid_unicode": "Use only letters, digits, hyphens and underscores.",
    },
    fields.RegexField: {"invalid": "This is not in the form asked for."},
    fields.URLField: {"invalid": "Give a web address, like https://example.com/."},
    fields.UUIDField: {"invalid": "Give an id of the form asked for."},
    fields.IPAddressField: {"invalid": "Give an IP address."},
    fields.IntegerField: {
        "invalid": "Give a whole number.",
        "max_value": "Must be at most {max_value}.",
        "min_value": "Must be at least {min_value}.",
        "max_string_length": "Too long to be a number.",
    },
    fields.FloatField: {
        "invalid": "Give a number.",
        "max_value": "Must be at most {max_value}.",
        "min_value": "Must be at least {min_value}.",
        "max_string_length": "Too long to be a number.",
        "overflow": "Too large a number.",
    },
    fields.DecimalField: {
        "invalid": "Give a number.",
        "max_value": "Must be at most {max_value}.",
        "min_value": "Must be at least {min_value}.",
        "max_digits": "Too many digits: at most {max_digits} in all.",
        "max_decimal_places": "Use at most {max_decimal_places} decimal places.",
        "max_whole_digits": "Too large: at most {max_whole_digits} digits before the point.",
        "max_string_length": "Too long to be a number.",
    },
    fields.BooleanField: {"invalid": "Give true or false."},
    fields.DateField: {
        "invalid": DATE,
        "datetime": "Give a date without a time, like 2026-03-31.",
    },
    fields.DateTimeField: {
        "invalid": DATETIME,
        "date": DATETIME,
        "make_aware": "That time does not exist in the time zone {timezone}.",
        "overflow": "That date is out of range.",
    },
    fields.TimeField: {"invalid": "Give a time as HH:MM, like 17:00."},
    fields.DurationField: {
        "invalid": "Give a duration as [days] HH:MM:SS, like 2 03:00:00.",
        "max_value": "Must be at most {max_value}.",
        "min_value": "Must be at least {min_value}.",
        "overflow": "Too long a duration.",
    },
    fields.ChoiceField: {
        "invalid_choice": "“{input}” is not one of the choices.",
    },
    fields.MultipleChoiceField: {
        "invalid_choice": "“{input}” is not one of the choices.",
        "not_a_list": "Give a list of choices.",
        "empty": "Choose at least one.",
    },
    fields.FileField: {
        "required": "Attach a file.",
        "invalid": "Send the file as a multipart form upload.",
        "no_name": "The file has no name.",
        "empty": "The file is empty.",
        "max_length": "The file's name is too long: at most {max_length} characters.",
    },
    fields.ImageField: {"invalid_image": "The file is not an image."},
    fields.ListField: {
        "not_a_list": "Give a list.",
        "empty": "Give at least one.",
        "min_length": "Give at least {min_length}.",
        "max_length": "Give at most {max_length}.",
    },
    fields.DictField: {
        "not_a_dict": "Give an object of named values.",
        "empty": "Give at least one.",
    },
    fields.HStoreField: {"not_a_dict": "Give an object of named values."},
    fields.JSONField: {"invalid": "Give valid JSON."},
    relations.RelatedField: {},
    relations.PrimaryKeyRelatedField: {
        "does_not_exist": "Not found: nothing with id {pk_value} here.",
        "incorrect_type": "Give its id (a whole number).",
    },
    relations.SlugRelatedField: {
        "does_not_exist": "Not found: nothing named “{value}” here.",
        "invalid": "Give its name.",
    },
    relations.HyperlinkedRelatedField: {
        "no_match": "Not found: no such address here.",
        "incorrect_match": "Not found: no such address here.",
        "does_not_exist": "Not found: no such address here.",
        "incorrect_type": "Give its address.",
    },
    relations.ManyRelatedField: {
        "not_a_list": "Give a list of ids.",
        "empty": "Give at least one.",
    },
    serializers.ListSerializer: {
        "not_a_list": "Give a list.",
        "empty": "Give at least one.",
        "max_length": "Give at most {max_length}.",
        "min_length": "Give at least {min_length}.",
    },
    serializers.Serializer: {"invalid": "Give an object of named values."},
}


def drf_messages(field: fields.Field) -> dict[str, str]:
    """People's messages for a DRF field, by error key."""
    messages: dict[str, str] = {}
    for cls in reversed(type(field).__mro__):
        messages.update(DRF.get(cls, {}))
    return messages


class PeopleSurrogateValidator(ProhibitSurrogateCharactersValidator):
    message = SURROGATE


def _validator(validator):
    """A validator whose message is the framework's, with people's instead."""
    if isinstance(validator, ProhibitSurrogateCharactersValidator):
        return PeopleSurrogateValidator()
    ours = _DJANGO.get(id(getattr(validator, "message", None)))
    if ours is None:
        return validator
    validator = copy.copy(validator)
    validator.message = ours
    return validator


def _filled(field: fields.Field) -> dict[str, str]:
    """`drf_messages` with the limits written as figures are ("at most 1", not "1.0")
    and a choice's choices named."""
    messages = drf_messages(field)
    for key in ("max_value", "min_value"):
        limit = getattr(field, key, None)
        if limit is not None and key in messages:
            figure = num(Decimal(str(limit))) if not isinstance(limit, timedelta) else limit
            messages[key] = messages[key].replace("{" + key + "}", str(figure))
    choices = field.choices if isinstance(field, fields.ChoiceField) else None
    if choices and len(choices) <= CHOICES_NAMED:
        named = ", ".join(str(c) for c in choices).replace("{", "{{").replace("}", "}}")
        messages["invalid_choice"] = f"“{{input}}” is not one of the choices: {named}."
    return messages


def drf_field(field: fields.Field) -> fields.Field:
    """`field` with people's messages (an explicit `error_messages` of its own kept): the
    same field made again from its arguments, as DRF copies declared fields, so that the
    validators DRF builds from the messages (max_length, min_value …) carry them too."""
    if field.read_only:
        return field
    if isinstance(field, serializers.ListSerializer):
        field.error_messages = {**field.error_messages, **drf_messages(field)}
        return field
    if isinstance(field, serializers.BaseSerializer):
        return field  # an InputSerializer: its own fields are given theirs
    kwargs = dict(field._kwargs)
    if isinstance(kwargs.get("child"), fields.Field):
        kwargs["child"] = drf_field(kwargs["child"])
    if isinstance(kwargs.get("child_relation"), fields.Field):
        kwargs["child_relation"] = drf_field(kwargs["child_relation"])
    kwargs["error_messages"] = {**_filled(field), **kwargs.get("error_messages", {})}
    made = type(field)(*field._args, **kwargs)
    made.validators = [_validator(v) for v in made.validators]
    return made


# --- Django -------------------------------------------------------------------
# Django's own messages, by key: those of its form fields, model fields and validators,
# as Django fills them (%(limit_value)s, %(value)s …).

DJANGO_BY_KEY = {
    "required": REQUIRED,
    "null": REQUIRED,
    "blank": EMPTY,
    "max_value": "Must be at most %(limit_value)s.",
    "min_value": "Must be at least %(limit_value)s.",
    "step_size": "Must be a multiple of %(limit_value)s.",
    "max_length": "Too long: at most %(limit_value)d characters (this has %(show_value)d).",
    "min_length": "Too short: at least %(limit_value)d characters (this has %(show_value)d).",
    "max_digits": "Too many digits: at most %(max)s in all.",
    "max_decimal_places": "Use at most %(max)s decimal places.",
    "max_whole_digits": "Too large: at most %(max)s digits before the point.",
    "invalid_choice": "“%(value)s” is not one of the choices.",
    "unique": "This is taken already: choose another.",
    "null_characters_not_allowed": NULL_CHARACTER,
}
DJANGO_INVALID = {
    forms.DateField: DATE,
    forms.DateTimeField: DATETIME,
    forms.TimeField: "Give a time as HH:MM, like 17:00.",
    forms.DecimalField: "Give a number.",
    forms.FloatField: "Give a number.",
    forms.IntegerField: "Give a whole number.",
    forms.EmailField: "Give an e-mail address, like name@example.com.",
    forms.URLField: "Give a web address, like https://example.com/.",
    forms.SlugField: "Use only letters, digits, hyphens and underscores.",
    forms.UUIDField: "Give an id of the form asked for.",
    forms.JSONField: "Give valid JSON.",
    forms.FileField: "Send the file as a multipart form upload.",
    models.DateField: "“%(value)s” is not a date: give it as YYYY-MM-DD, like 2026-03-31.",
    models.DateTimeField: "“%(value)s” is not a date and time: give it as YYYY-MM-DD HH:MM.",
    models.DecimalField: "“%(value)s” is not a number.",
    models.IntegerField: "“%(value)s” is not a whole number.",
    models.BooleanField: "“%(value)s” is not true or false.",
    models.UUIDField: "“%(value)s” is not an id of the form asked for.",
}
DJANGO_VALIDATORS = {
    django_validators.MaxValueValidator: DJANGO_BY_KEY["max_value"],
    django_validators.MinValueValidator: DJANGO_BY_KEY["min_value"],
    django_validators.StepValueValidator: DJANGO_BY_KEY["step_size"],
    django_validators.MaxLengthValidator: DJANGO_BY_KEY["max_length"],
    django_validators.MinLengthValidator: DJANGO_BY_KEY["min_length"],
    django_validators.EmailValidator: DJANGO_INVALID[forms.EmailField],
    django_validators.URLValidator: DJANGO_INVALID[forms.URLField],
    django_validators.RegexValidator: "This is not in the form asked for.",
    django_validators.ProhibitNullCharactersValidator: NULL_CHARACTER,
}


def _django_defaults() -> dict[int, str]:
    """id(the framework's message object) → ours. Django's fields and validators keep
    their default messages as module-level (lazy) objects that every error carries, so
    an error's message is one of them exactly when the framework wrote it."""
    found: dict[int, str] = {}

    def subclasses(base):
        for cls in base.__subclasses__():
            yield cls
            yield from subclasses(cls)

    for base in (forms.Field, models.Field):
        for cls in [base, *subclasses(base)]:
            for key, message in vars(cls).get("default_error_messages", {}).items():
                if key == "invalid":
                    ours = next(
                        (text for c in cls.__mro__ if (text := DJANGO_INVALID.get(c))), None
                    )
                    ours = ours or "This is not in the form asked for."
                else:
                    ours = DJANGO_BY_KEY.get(key)
                if ours is not None:
                    found.setdefault(id(message), ours)
    for cls, ours in DJANGO_VALIDATORS.items():
        found.setdefault(id(cls.message), ours)
    for key, message in django_validators.DecimalValidator.messages.items():
        found.setdefault(id(message), DJANGO_BY_KEY.get(key, "Give a number."))
    for validator in (
        django_validators.validate_slug,
        django_validators.validate_unicode_slug,
    ):
        found.setdefault(id(validator.message), DJANGO_INVALID[forms.SlugField])
    for validator in (
        django_validators.validate_ipv4_address,
        django_validators.validate_ipv6_address,
        django_validators.validate_ipv46_address,
    ):
        found.setdefault(id(getattr(validator, "message", None)), "Give an IP address.")
    found.pop(id(None), None)
    return found


_DJANGO = _django_defaults()


def is_framework_message(message) -> bool:
    return id(message) in _DJANGO


def _one(error: ValidationError) -> ValidationError:
    ours = _DJANGO.get(id(error.message))
    if ours is None:
        return error
    params = {  # figures as the pages write them: "at most 1", not "1.0"
        key: num(value) if isinstance(value, Decimal) else value
        for key, value in (error.params or {}).items()
    }
    return ValidationError(ours, code=error.code, params=params or None)


def django_error(error: ValidationError) -> ValidationError:
    """`error` with each framework message in people's words (field by field)."""
    if hasattr(error, "error_dict"):
        return ValidationError(
            {field: [_one(e) for e in errors] for field, errors in error.error_dict.items()}
        )
    return ValidationError([_one(e) for e in error.error_list])
