"""Settings: the one place that reads the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.nc import DEFAULT_NC_EXTENSIONS, DEFAULT_RAPID_RATE_MM_MIN

# The value shipped in .env.example; production refuses to start with it.
EXAMPLE_SECRET_KEY = "change-me-to-a-long-random-string"

DEFAULT_EXTENSIONS = (
    ".mcam,.nc,.tap,.gcode,.ngc,.eia,.mpf,.h,.txt,.pdf,.step,.stp,.dxf,.igs,.iges,.stl,.csv,.md,.xlsx,.docx,.png,.jpg"
)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str | None = None
    data_dir: Path = Path(".data")
    secret_key: str | None = None
    access_token_expire_minutes: int = Field(default=12 * 60, ge=1)
    # A download link only has to live from the click to the browser's request.
    download_link_seconds: int = Field(default=60, ge=1, le=3600)

    allowed_extensions: Annotated[list[str], NoDecode] = Field(default_factory=lambda: DEFAULT_EXTENSIONS.split(","))
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1)

    # NC programs: which files are programs, and the rapid rate their estimated cycle time assumes.
    nc_extensions: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_NC_EXTENSIONS))
    rapid_rate_mm_min: float = Field(default=DEFAULT_RAPID_RATE_MM_MIN, gt=0, le=1_000_000)

    lock_ttl_seconds: int = Field(default=8 * 3600, ge=0)
    lock_sweep_seconds: float = Field(default=5, gt=0)
    edit_cooldown_seconds: int = Field(default=15, ge=0)

    # WebSockets (/ws): messages a socket may have waiting before it is closed as too slow; how
    # often each worker refreshes its presence rows and sweeps those of dead workers; how old a
    # presence heartbeat may get before its row counts as dead even if its database session lives.
    ws_send_queue_size: int = Field(default=1000, ge=1)
    ws_presence_sweep_seconds: float = Field(default=5, gt=0)
    ws_presence_stale_seconds: float = Field(default=60, gt=0)

    # Cost of new password hashes: "standard" (argon2id defaults) or "low" (test suites only; refused in production).
    password_hash_cost: Literal["standard", "low"] = "standard"

    login_max_failures_per_user: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=300, ge=1)

    allow_signup: bool = False
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    first_admin_username: str | None = None
    first_admin_password: str | None = None
    first_admin_email: str | None = None

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    serve_static: bool = True
    host: str = "127.0.0.1"
    port: int = 8000

    @field_validator("allowed_extensions", "nc_extensions", mode="before")
    @classmethod
    def _parse_extensions(cls, value: object) -> object:
        value = _split_csv(value)
        if isinstance(value, list):
            return [e.lower() if e.startswith(".") else "." + e.lower() for e in value]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("database_url", "secret_key", "first_admin_username", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> Settings:
        if self.env == "production" and self.secret_key in (None, EXAMPLE_SECRET_KEY):
            raise ValueError(
                "SECRET_KEY must be set to a long random value when ENV=production "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.secret_key is not None and self.env == "production" and len(self.secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters when ENV=production")
        if self.env == "production" and self.password_hash_cost != "standard":
            raise ValueError("PASSWORD_HASH_COST=low is for test suites; it is refused when ENV=production")
        if self.ws_presence_stale_seconds < 2 * self.ws_presence_sweep_seconds:
            # A live worker refreshes its heartbeat once per sweep; anything tighter would let a
            # slow refresh make its users look gone.
            raise ValueError("WS_PRESENCE_STALE_SECONDS must be at least twice WS_PRESENCE_SWEEP_SECONDS")
        return self

    @property
    def jwt_secret(self) -> str:
        """The signing key; outside production an unset key falls back to one kept in DATA_DIR."""
        if self.secret_key is not None:
            return self.secret_key
        return _development_secret(self.data_dir)


def _development_secret(data_dir: Path) -> str:
    # A per-installation random key, so a forgotten SECRET_KEY in development never means a
    # guessable key; every worker reads the same file.
    import os
    import secrets

    path = data_dir / "dev-secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{secrets.token_hex(4)}")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # first writer wins, racing workers agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
