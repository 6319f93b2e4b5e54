"""Money is integer minor units everywhere; these convert at the edges (forms, pages)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€"}


# The platform's fee on top of the factories' price, in basis points (config PLATFORM_FEE_BPS).
DEFAULT_FEE_BPS = 800


def platform_fee(cost: int, bps: int = DEFAULT_FEE_BPS) -> int:
    """cost * bps / 10,000 rounded half up, in integers (no floats near money)."""
    return 0 if cost <= 0 else (cost * bps + 5_000) // 10_000


def fee_bps() -> int:
    """The configured platform fee in basis points (PLATFORM_FEE_BPS; needs an app context)."""
    from flask import current_app

    return int(current_app.config.get("PLATFORM_FEE_BPS", DEFAULT_FEE_BPS))


def format_money(minor: int | None, currency: str = "CNY") -> str:
    if minor is None:
        return "—"
    sign = "-" if minor < 0 else ""
    major, cents = divmod(abs(int(minor)), 100)
    return f"{sign}{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{major:,}.{cents:02d}"


def parse_money(text: str | None) -> int:
    """'150', '150.5', '1,234.56' (major units) -> minor units; ValueError when not money."""
    cleaned = (text or "").strip().replace(",", "").replace("¥", "").replace("￥", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"{text!r} has more than two decimals")
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
