"""How decimals are written out: one place, no framework."""

from decimal import Decimal


def fmt(value: Decimal | None, decimals: int | None = None) -> str | None:
    """A decimal as the API shows it: at `decimals` places, or without trailing zeros."""
    if value is None:
        return None
    if decimals is not None:
        return format(value.quantize(Decimal(1).scaleb(-decimals)), "f")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in {"-0", ""} else "0"
