from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import EXAMPLE_SECRET_KEY, SECRET_FILE_SETTINGS, Settings


def test_production_refuses_a_missing_secret_key() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, env="production", secret_key=None)  # type: ignore[call-arg]


def test_production_refuses_the_example_secret_key() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, env="production", secret_key=EXAMPLE_SECRET_KEY)  # type: ignore[call-arg]


def test_production_accepts_a_real_secret_key() -> None:
    s = Settings(_env_file=None, env="production", secret_key="k" * 40)  # type: ignore[call-arg]
    assert s.jwt_secret == "k" * 40


def test_the_example_env_file_ships_no_secret_values() -> None:
    """Every secret line is empty: an operator who forgets one gets a refusal, not a guessable secret."""
    example = (Path(__file__).parent.parent / ".env.example").read_text()
    for name in ("SECRET_KEY", "DATABASE_PASSWORD", "POSTGRES_PASSWORD", "FIRST_ADMIN_PASSWORD"):
        assert f"\n{name}=\n" in example, name
    assert EXAMPLE_SECRET_KEY not in example and "change-me" not in example


def test_optional_lines_of_env_example_are_commented_out() -> None:
    example = (Path(__file__).parent.parent / ".env.example").read_text()
    active = [line.split("=", 1)[0] for line in example.splitlines() if re.match(r"\w+=", line)]
    assert active == [
        "SECRET_KEY",
        "DATABASE_PASSWORD",
        "FIRST_ADMIN_USERNAME",
        "FIRST_ADMIN_PASSWORD",
        "POSTGRES_PASSWORD",
    ]


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_an_empty_value_means_unset_for_every_setting(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`NAME=` in .env, or compose's `NAME: ${NAME:-}`, gives the default, for every setting without exception."""
    monkeypatch.setenv(name.upper(), "")
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    assert getattr(Settings(_env_file=None), name) == default  # type: ignore[call-arg]
    assert getattr(Settings(_env_file=None, **{name: ""}), name) == default  # type: ignore[call-arg]


@pytest.mark.parametrize("name", SECRET_FILE_SETTINGS)
def test_each_secret_may_come_from_a_file(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / name
    value = "postgresql://u@h/db" if name.endswith("url") else "from-a-file-" + "s" * 40
    secret.write_text(value + "\n")  # Docker secrets usually end with a newline; it is not part of the value
    monkeypatch.setenv(f"{name.upper()}_FILE", str(secret))
    assert getattr(Settings(_env_file=None), name) == value  # type: ignore[call-arg]
    monkeypatch.setenv(name.upper(), "also-set")
    with pytest.raises(ValidationError, match=f"{name.upper()} and {name.upper()}_FILE are both set"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.delenv(name.upper())
    monkeypatch.setenv(f"{name.upper()}_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValidationError, match=f"{name.upper()}_FILE: cannot read"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("database_password", "change-me-too", "DATABASE_PASSWORD"),
        ("database_url", "postgresql://camvault:change-me-too@db:5432/camvault", "the password in DATABASE_URL"),
        ("migration_database_password", "changeme", "MIGRATION_DATABASE_PASSWORD"),
        ("first_admin_password", "a long password", "FIRST_ADMIN_PASSWORD"),
    ],
)
def test_production_refuses_example_passwords(field: str, value: str, named: str) -> None:
    with pytest.raises(ValidationError, match=f"{re.escape(named)} is an example password"):
        Settings(_env_file=None, env="production", secret_key="k" * 40, **{field: value})  # type: ignore[call-arg]
    # Development takes them (make run with a copied .env), and doctor lists them.
    relaxed = Settings(_env_file=None, **{field: value})  # type: ignore[call-arg]
    assert relaxed.example_passwords_in_use() == [named]


def test_refusals_never_echo_the_secrets_beside_them() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, env="production", secret_key="s3cr3t-" * 8, database_password="change-me-too")  # type: ignore[call-arg]
    assert "s3cr3t-" not in str(refused.value)


def test_every_setting_is_documented_in_env_example() -> None:
    example = (Path(__file__).parent.parent / ".env.example").read_text()
    missing = [name.upper() for name in Settings.model_fields if name.upper() not in example]
    assert missing == []


def test_lists_come_from_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_EXTENSIONS", "NC, .mcam ,tap")
    monkeypatch.setenv("CORS_ORIGINS", "http://a.example,http://b.example")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.allowed_extensions == [".nc", ".mcam", ".tap"]
    assert s.cors_origins == ["http://a.example", "http://b.example"]


def test_development_secret_is_random_and_stable(tmp_path: Path) -> None:
    s = Settings(_env_file=None, data_dir=tmp_path, secret_key=None)  # type: ignore[call-arg]
    assert s.jwt_secret == s.jwt_secret and len(s.jwt_secret) > 40
    other = Settings(_env_file=None, data_dir=tmp_path / "other", secret_key=None)  # type: ignore[call-arg]
    assert other.jwt_secret != s.jwt_secret


def test_presence_staleness_must_leave_room_for_a_missed_heartbeat() -> None:
    with pytest.raises(ValidationError, match="WS_PRESENCE_STALE_SECONDS"):
        Settings(_env_file=None, ws_presence_sweep_seconds=5, ws_presence_stale_seconds=8)  # type: ignore[call-arg]
    s = Settings(_env_file=None, ws_presence_sweep_seconds=1, ws_presence_stale_seconds=2)  # type: ignore[call-arg]
    assert s.ws_presence_stale_seconds == 2


def test_nc_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NC_EXTENSIONS", "NC, .mpf ,min")
    monkeypatch.setenv("RAPID_RATE_MM_MIN", "24000")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.nc_extensions == [".nc", ".mpf", ".min"]
    assert s.rapid_rate_mm_min == 24000


def test_the_rapid_rate_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPID_RATE_MM_MIN", "0")
    with pytest.raises(ValidationError, match="rapid_rate_mm_min"):
        Settings(_env_file=None)  # type: ignore[call-arg]
