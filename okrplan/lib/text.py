"""Free text written by people: what every store of it refuses."""

import unicodedata

from django.core.exceptions import ValidationError

# What the API's serializers and the pages' forms say of a NUL too (their
# ProhibitNullCharactersValidator, in okrplan/lib/messages.py's words).
NUL_MESSAGE = "Remove the null character: it cannot be stored."
ONE_LINE_MESSAGE = "Use one line: no line breaks or control characters."
# People's display names (auth.User, whose fields are Django's: the admin's form and the
# organization import check them with `one_line_values_check`).
USER_NAME_FIELDS = ("first_name", "last_name")

# What a one-line name may not hold (docs/decisions.md, issue 13 item 1): controls (Cc:
# C0 with \t \n \r, DEL, C1 with NEL), line and paragraph separators (Zl, Zp: U+2028,
# U+2029), lone surrogates (Cs) and invisible format characters (Cf: bidi overrides and
# isolates, zero-width space, BOM, soft hyphen), except those that writing needs: the
# joiners of emoji sequences and of Indic and Arabic scripts, the direction marks of
# right-to-left text, and the tags of subdivision flags.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_ALLOWED_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u061c") | frozenset(
    map(chr, range(0xE0020, 0xE0080))
)


def validate_text(field: str, value: str | None) -> None:
    """Refuse a NUL character: PostgreSQL cannot store one in a text column, so without
    this a page that hands its POST to a service answered 500 there (found by fuzzing on
    PostgreSQL), while SQLite stored it."""
    if value and "\x00" in value:
        raise ValidationError({field: [NUL_MESSAGE]})


def _refused(char: str) -> bool:
    return unicodedata.category(char) in _REFUSED_CATEGORIES and char not in _ALLOWED_FORMAT


def is_one_line(value: str) -> bool:
    return not any(map(_refused, value))


def validate_one_line(value) -> None:
    """The validator of every one-line name field (organization, department and cycle
    names, objective and KR titles, units): model fields carry it, so ModelForms, the
    Django admin, ModelSerializers and `full_clean` apply it; `OneLineFields` applies
    it on every save, whichever path wrote the row."""
    if isinstance(value, str) and not is_one_line(value):
        raise ValidationError(ONE_LINE_MESSAGE, code="one_line")


def one_line(value: str) -> str:
    """`value` safe to put in a header or a one-line format (an e-mail subject, an
    iCalendar property): each refused character becomes a space. For names stored before
    they were refused at the door (issue 13), and for text that may hold line breaks."""
    return "".join(" " if _refused(c) else c for c in value)


def one_line_check(instance, fields=None) -> None:
    """Refuse the instance's one-line fields (those with `validate_one_line`, or only the
    `fields` named) that hold a line break or a control character: a ValidationError
    naming each field, which the API answers as 400 and the pages show by the field."""
    one_line_values_check(
        {
            field.name: getattr(instance, field.attname)
            for field in instance._meta.concrete_fields
            if validate_one_line in field.validators
            and (fields is None or field.name in fields or field.attname in fields)
        }
    )


def one_line_values_check(values: dict) -> None:
    """Refuse each named value that is not one line (`{field: value}`): for the names
    of models whose fields are not ours (people's first and last names, auth.User)."""
    errors = {
        field: [ONE_LINE_MESSAGE]
        for field, value in values.items()
        if isinstance(value, str) and not is_one_line(value)
    }
    if errors:
        raise ValidationError(errors)


class OneLineFields:
    """A model mixin: `save()` refuses a line break or a control character in any field
    that carries `validate_one_line`, so no service, import or script can store one, even
    those that never call `full_clean` (a row written with `save_base`, `bulk_create` or
    `update()` is the caller's to check: `org_import` runs `clean_fields`)."""

    def save(self, *args, **kwargs):
        one_line_check(self, kwargs.get("update_fields"))
        return super().save(*args, **kwargs)
