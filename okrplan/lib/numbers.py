"""How decimals are written out: one place, no framework.

`fmt` is the one formatter: the API's serializers write figures with it (`"4600000.5"`),
the pages with its grouped form (`"4,600,000.5"`, the `|num` template filter and
`plans.checks.num` for messages)."""

from decimal import Decimal


def fmt(value: Decimal | None, decimals: int | None = None, *, grouped: bool = False) -> str | None:
    """A decimal at `decimals` places, or without trailing zeros; `grouped`: with
    thousands separators."""
    if value is None:
        return None
    spec = ",f" if grouped else "f"
    if decimals is not None:
        return format(value.quantize(Decimal(1).scaleb(-decimals)), spec)
    text = format(value, spec)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in {"-0", ""} else "0"


def num(value: Decimal | None) -> str:
    """A figure as the pages and messages write it: `fmt` grouped, "—" for none."""
    return "—" if value is None else fmt(value, grouped=True)


def qty(value: Decimal | None, unit: str | None) -> str:
    """A figure with its unit ("8,000 visitors", "100 %"; no unit: the figure alone)."""
    return f"{num(value)} {unit or ''}".strip()
