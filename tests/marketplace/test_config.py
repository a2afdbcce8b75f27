"""Settings are checked at start: a bad value stops it, naming the variable and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from marketplace import create_app
from marketplace.config import ConfigError, load_config


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
