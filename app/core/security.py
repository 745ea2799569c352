"""Password hashing (pwdlib), JWT access tokens and short-lived download tokens (python-jose)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from jose import JWTError, jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

ALGORITHM = "HS256"

PasswordHashCost = Literal["standard", "low"]


def _hasher(cost: PasswordHashCost) -> PasswordHash:
    # argon2id for every new hash; bcrypt hashes (older installs, imports) still verify and are
    # replaced by argon2id on the next successful login. "low" is for test suites only (about 100x
    # cheaper); settings refuse it under ENV=production.
    if cost == "low":
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1), BcryptHasher(rounds=4)))
    return PasswordHash((Argon2Hasher(), BcryptHasher()))


password_hash = _hasher("standard")
_dummy_hash: str | None = None


def configure_password_hashing(cost: PasswordHashCost) -> None:
    """Set the cost of new hashes for this process (PASSWORD_HASH_COST); existing hashes verify either way."""
    global password_hash, _dummy_hash
    password_hash = _hasher(cost)
    _dummy_hash = None


def hash_password(password: str) -> str:
    return password_hash.hash(password)


def verify_password(password: str, hashed: str | None) -> tuple[bool, str | None]:
    """Return (valid, new_hash); new_hash is set when the stored hash should be upgraded."""
    global _dummy_hash
    if hashed is None:
        # Verifying against a dummy keeps a login for an unknown user as slow as one for a known user.
        if _dummy_hash is None:
            _dummy_hash = password_hash.hash("camvault-timing-equaliser")
        password_hash.verify(password, _dummy_hash)
        return False, None
    try:
        return password_hash.verify_and_update(password, hashed)
    except Exception:  # an unreadable stored hash is a failed login, not a crash
        return False, None


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    jti: str
    expires_at: datetime
    token_version: int


def create_access_token(user_id: int, token_version: int, secret: str, expire_minutes: int) -> tuple[str, TokenClaims]:
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=expire_minutes)
    claims = TokenClaims(user_id, uuid.uuid4().hex, expires_at, token_version)
    token = jwt.encode(
        {"sub": str(user_id), "exp": expires_at, "jti": claims.jti, "ver": token_version},
        secret,
        algorithm=ALGORITHM,
    )
    return token, claims


def decode_access_token(token: str, secret: str) -> TokenClaims | None:
    """Claims of a well-formed, correctly signed, unexpired token; None otherwise."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require_exp": True, "require_sub": True, "require_jti": True},
        )
        if payload.get("typ", "access") != "access":
            return None  # a download token is not a bearer token
        return TokenClaims(
            user_id=int(payload["sub"]),
            jti=str(payload["jti"]),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            token_version=int(payload.get("ver", 0)),
        )
    except (JWTError, KeyError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class DownloadClaims:
    user_id: int
    file_id: int
    token_version: int


def create_download_token(
    user_id: int, token_version: int, file_id: int, secret: str, ttl_seconds: int
) -> tuple[str, datetime]:
    """A token for one file's content only, for a plain link the browser can stream to disk.

    A link cannot carry an Authorization header, so the token rides in the query string; it is
    kept short-lived and bound to one file, and it is never accepted as a bearer token.
    """
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=ttl_seconds)
    payload = {"sub": str(user_id), "exp": expires_at, "typ": "download", "fid": file_id, "ver": token_version}
    return jwt.encode(payload, secret, algorithm=ALGORITHM), expires_at


def decode_download_token(token: str, secret: str) -> DownloadClaims | None:
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require_exp": True, "require_sub": True})
        if payload.get("typ") != "download":
            return None
        return DownloadClaims(int(payload["sub"]), int(payload["fid"]), int(payload.get("ver", 0)))
    except (JWTError, KeyError, ValueError, TypeError):
        return None


# Personal access tokens: a recognisable prefix (so a leaked one is easy to spot and to tell from a
# password) and 256 random bits. Only the sha256 is stored; a slow hash adds nothing to 256 bits.
ACCESS_TOKEN_PREFIX = "cvt_"


def new_access_token() -> tuple[str, str, str]:
    """A new token as (secret, hash, hint); the secret is shown once and never stored."""
    secret = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return secret, hash_access_token(secret), secret[: len(ACCESS_TOKEN_PREFIX) + 4]


def hash_access_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
