"""Settings are checked at start: a bad value stops it, naming the variable and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from marketplace import create_app
from marketplace.config import ConfigError, check_config, load_config


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("SEARCH_BACKEND", "postgresql", "whoosh, postgres"),
        ("MATCH_WEIGHTS", '{"prior": 0.3}', "prior_aid"),
        ("MATCH_WEIGHTS", "not json", "JSON object"),
        ("MATCH_WEIGHTS", '{"prior_aid": -1}', "non-negative"),
        ("PLEDGE_TTL_DAYS", "two weeks", "whole number"),
        ("MARKETPLACE_HTTPS", "maybe", "true/false"),
        ("LOGIN_RATE_LIMIT", "lots", "per minute"),
        ("RATELIMIT_STORAGE_URI", "127.0.0.1:6379", "redis://"),
        ("PUBLIC_URL", "fupin.example.cn", "https://"),
    ],
)
def test_a_bad_setting_stops_the_start(
    monkeypatch: Any, name: str, value: str, allowed: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        create_app()
    assert refused.value.name == name
    assert name in str(refused.value) and allowed in str(refused.value)


def test_match_weights_are_read(app: Any, monkeypatch: Any) -> None:
    from marketplace.matches.scoring import weights

    monkeypatch.setitem(app.config, "MATCH_WEIGHTS", '{"prior_aid": 0.5}')
    with app.app_context():
        assert weights().prior_aid == 0.5
    monkeypatch.setenv("MATCH_WEIGHTS", '{"urgency": 0.4}')
    assert load_config()["MATCH_WEIGHTS"] == '{"urgency": 0.4}'


def test_the_command_line_names_the_variable_without_a_traceback(tmp_path: Any) -> None:
    env = {"SEARCH_BACKEND": "elastic", "MARKETPLACE_INSTANCE": str(tmp_path), "PATH": ""}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "marketplace"), "db", "current"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "SEARCH_BACKEND='elastic'" in done.stderr and "Traceback" not in done.stderr


def test_password_hashing_cost_is_a_setting(monkeypatch: Any) -> None:
    """Argon2's cost comes from PASSWORD_HASH_*; nonsense is refused at start with its name."""
    monkeypatch.setenv("PASSWORD_HASH_TIME_COST", "0")
    with pytest.raises(ConfigError, match="PASSWORD_HASH_TIME_COST"):
        load_config()
    monkeypatch.setenv("PASSWORD_HASH_TIME_COST", "2")
    monkeypatch.setenv("PASSWORD_HASH_MEMORY_KIB", "16")
    monkeypatch.setenv("PASSWORD_HASH_PARALLELISM", "4")
    config = load_config()
    assert config["PASSWORD_HASH_TIME_COST"] == 2
    with pytest.raises(ConfigError, match="PASSWORD_HASH_MEMORY_KIB"):
        check_config(config)


def test_the_app_hashes_at_the_configured_cost(app: Any, db: Any, world: Any) -> None:
    from marketplace.accounts.services import hash_password

    assert hash_password("x1234567").startswith("$argon2id$v=19$m=8,t=1,p=1$")
    app.config["PASSWORD_HASH_TIME_COST"] = 2
    try:
        assert hash_password("x1234567").startswith("$argon2id$v=19$m=8,t=2,p=1$")
    finally:
        app.config["PASSWORD_HASH_TIME_COST"] = 1
