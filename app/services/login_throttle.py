"""Failed-login throttling, shared by every way in that checks a password (JSON and form login, HTTP Basic).

Each password check is counted before it runs, in its own committed transaction, against its account (a
username and an email of one account are one counter; a login that names no account counts against what was
typed) and against the client address. While a key has had LOGIN_MAX_FAILURES_PER_USER (or _PER_IP) attempts in
the window that began with its first failure, further attempts answer 429 without a check. Counting first is
what makes it atomic: twenty concurrent wrong passwords on any number of workers queue on the key's row, and
only the first five are checked. A success then clears its account's count and gives the address its attempt
back (an office behind one address logs in all day).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import TooManyAttempts
from app.core.request_context import client_ip_var
from app.models import User
from app.repositories.login_throttles import LoginThrottleRepository


@dataclass(frozen=True)
class CountedAttempt:
    login_key: str
    address_key: str | None


class LoginThrottleService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.throttles = LoginThrottleRepository(session)

    async def count_attempt(self, login: str, user: User | None) -> CountedAttempt:
        """Count this attempt (committed at once, so other workers see it) or raise TooManyAttempts."""
        attempt = CountedAttempt(_login_key(login, user), _address_key(client_ip_var.get()))
        limits = {attempt.login_key: self.settings.login_max_failures_per_user}
        if attempt.address_key is not None:
            limits[attempt.address_key] = self.settings.login_max_failures_per_ip
        now = datetime.now(UTC)
        blocked_until = await self.throttles.take(
            limits, now=now, window=timedelta(seconds=self.settings.login_failure_window_seconds)
        )
        await self.session.commit()
        if blocked_until is not None:
            raise TooManyAttempts(math.ceil((blocked_until - now).total_seconds()))
        return attempt

    async def succeeded(self, attempt: CountedAttempt) -> None:
        """The counted attempt was a success: part of the caller's transaction, committed with the login."""
        await self.throttles.clear(attempt.login_key)
        if attempt.address_key is not None:
            await self.throttles.give_back(attempt.address_key)


def _login_key(login: str, user: User | None) -> str:
    if user is not None:
        return f"user:{user.id}"
    # People type passwords into the login field; only a digest of what was typed is kept.
    return "login:" + hashlib.sha256(login.casefold().encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _address_key(client_ip: str | None) -> str | None:
    return f"ip:{client_ip}" if client_ip else None
