"""`make run` is one command: `marketplace serve` runs the site and, with the embedded store,
the job worker in the same process, so a pledge whose time is up expires with no cron."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from marketplace.matches import services
from marketplace.matches.models import MatchStatus
from tests.conftest import World, database_url
from tests.marketplace.jobs.conftest import SHORT, status_of, wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_serve_expires_a_pledge_with_no_cron(db: Any, world: World, tmp_path: Path) -> None:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MARKETPLACE_INSTANCE": str(tmp_path),  # the job store and the index of its own
        "SECRET_KEY": "serve-test",
        **{k: str(v) for k, v in SHORT.items()},
    }
    env.pop("JOBS_URL", None)
    env.pop("JOBS_IN_PROCESS", None)
    command = [sys.executable, "-c", "from marketplace.cli import main; main()", "serve",
               "--port", str(port), "--threads", "2"]  # fmt: skip
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 120), "no site"
        assert wait_for(lambda: status_of(match.id) == MatchStatus.EXPIRED, 120), "not expired"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert f"Serving on http://127.0.0.1:{port}/" in output
    assert "Background jobs: 2 worker threads in this process." in output
    assert (tmp_path / "jobs.db").exists()  # the embedded store, under the instance folder
