"""Free text written by people: what every store of it refuses."""

from django.core.exceptions import ValidationError

# The words of DRF's and Django's own ProhibitNullCharactersValidator (the API's
# serializers and the pages' Django forms already refuse a NUL with them).
NUL_MESSAGE = "Null characters are not allowed."


def validate_text(field: str, value: str | None) -> None:
    """Refuse a NUL character: PostgreSQL cannot store one in a text column, so without
    this a page that hands its POST to a service answered 500 there (found by fuzzing on
    PostgreSQL), while SQLite stored it."""
    if value and "\x00" in value:
        raise ValidationError({field: [NUL_MESSAGE]})
