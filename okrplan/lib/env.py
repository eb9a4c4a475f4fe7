"""Small typed readers for settings from the environment.

Each fails loudly (ImproperlyConfigured) on a value it cannot read, naming the
variable, instead of silently falling back to a default.
"""

import os
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_decimal(name: str, default: Decimal) -> Decimal:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if not value.is_finite():
        raise ImproperlyConfigured(f"{name}={raw!r} is not a finite number")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_decimal_list(name: str, default: list) -> list[Decimal]:
    """Comma-separated finite numbers (`30, 120, 600`); the default's when unset."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return [Decimal(value) for value in default]
    values = []
    for item in raw.split(","):
        try:
            value = Decimal(item.strip())
        except InvalidOperation:
            raise ImproperlyConfigured(
                f"{name}={raw!r}: {item.strip()!r} is not a number"
            ) from None
        if not value.is_finite():
            raise ImproperlyConfigured(f"{name}={raw!r}: {item.strip()!r} is not finite")
        values.append(value)
    return values


_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str:
    """A rate as DRF's throttles read it: `10/min`, `100/hour`, `5/s`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not _RATE.match(raw.strip()):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate (attempts per period: 10/min)")
    return raw.strip()
