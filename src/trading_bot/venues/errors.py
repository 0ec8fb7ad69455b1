"""What went wrong at a venue, in words shared by every venue: above all, whether to try again.

Venue clients translate their vendor's status codes and error payloads into these at the boundary,
so the rest of the bot decides on `retryable` and the class, never on a vendor's numbers:

    VenueError                 the venue refused or failed a request
    ├── TemporaryError         retryable: network trouble, timeouts, 5xx answers to reads
    │   └── RateLimited        retryable after `retry_after` seconds; `banned` when the IP is banned
    ├── UnknownOutcome         a write of unknown fate (timeout, 5xx): look it up before resending
    ├── InvalidRequest         the venue rejected the request itself; retrying cannot help
    │   └── InvalidOrder       the order breaks the venue's rules (filters, balance, price)
    └── AuthError              missing, wrong or under-privileged API credentials
"""

from __future__ import annotations

from typing import ClassVar

from trading_bot.core.errors import UserError


class VenueError(UserError):
    """A venue refused or failed a request. `code` is the venue's own error code, if it sent one."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryError(VenueError):
    """Trying again later may succeed: the network, a timeout, an overloaded venue."""

    retryable = True


class RateLimited(TemporaryError):
    """Too many requests: nothing may be sent for `retry_after` seconds. `banned` means the venue
    banned the IP for ignoring earlier limits, which is what waiting is meant to prevent."""

    def __init__(
        self, message: str, *, retry_after: float, banned: bool = False, code: int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.banned = banned


class UnknownOutcome(VenueError):
    """A request that changes state (an order) got no clear answer: it may or may not have taken
    effect. Look it up (by client order id) before deciding to send it again."""


class InvalidRequest(VenueError):
    """The venue rejected the request as it was: a bad symbol, parameter or value."""


class InvalidOrder(InvalidRequest):
    """The order breaks the venue's rules: tick size, lot step, minimum notional, balance."""


class AuthError(VenueError):
    """The API key or signature is missing, wrong, expired or lacks the permission."""
