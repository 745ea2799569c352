from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import EXAMPLE_SECRET_KEY, Settings


def test_production_refuses_a_missing_secret_key() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, env="production", secret_key=None)  # type: ignore[call-arg]


def test_production_refuses_the_example_secret_key() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, env="production", secret_key=EXAMPLE_SECRET_KEY)  # type: ignore[call-arg]


def test_production_accepts_a_real_secret_key() -> None:
    s = Settings(_env_file=None, env="production", secret_key="k" * 40)  # type: ignore[call-arg]
    assert s.jwt_secret == "k" * 40


def test_the_example_env_file_names_the_example_key() -> None:
    example = (Path(__file__).parent.parent / ".env.example").read_text()
    assert f"SECRET_KEY={EXAMPLE_SECRET_KEY}" in example


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
