"""Refuse API keys that can do more than trade: a key that may withdraw is a key that can empty
the account if it leaks, and a trading bot never needs that."""

from __future__ import annotations

import structlog

from trading_bot.venues.binance.schemas import ApiRestrictions
from trading_bot.venues.binance.trading import BinanceTrading
from trading_bot.venues.errors import AuthError

log = structlog.get_logger("trading_bot.binance")


class UnsafeApiKey(AuthError):
    """The API key's permissions (set in Binance's API Management) are not safe to trade with."""


async def check_api_key(
    trading: BinanceTrading, *, allow_withdrawals: bool = False
) -> ApiRestrictions:
    """Read the key's permissions (`GET /sapi/v1/account/apiRestrictions`) and refuse it when it
    may withdraw funds, unless `allow_withdrawals`; or when it may not trade spot at all."""
    restrictions = await trading.api_restrictions()
    if restrictions.enable_withdrawals:
        if not allow_withdrawals:
            raise UnsafeApiKey(
                "the Binance API key has 'Enable Withdrawals' switched on, so anyone holding it "
                "could move funds out of the account; switch it off in Binance's API Management "
                "(or set allow_withdrawals = true to trade with it anyway)"
            )
        log.warning(
            "the Binance API key may withdraw funds (allow_withdrawals is set)",
            ip_restricted=restrictions.ip_restrict,
        )
    if not restrictions.enable_spot_and_margin_trading:
        raise UnsafeApiKey(
            "the Binance API key cannot trade: switch on 'Enable Spot & Margin Trading' for it "
            "in Binance's API Management"
        )
    return restrictions
