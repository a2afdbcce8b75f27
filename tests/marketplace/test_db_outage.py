"""A database that goes away for a moment (issue 13): the site answers a Chinese 503 page with
Retry-After, the API a JSON 503, never a 500; and it recovers by itself once the database is
back, without a restart.

On PostgreSQL the app reaches the server through a TCP proxy that the test cuts (every
connection dropped, new ones closed at once, as during a restart) and restores. On any database,
an OperationalError raised where the request reads gives the same answers.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.pg_app import app_on_postgres

OUTAGE_MESSAGE = "暂时无法连接数据库，请稍后再试。"


class Proxy:
    """Forwards 127.0.0.1:<port> to the database server; ``cut()`` drops every connection and
    closes new ones at once, ``restore()`` forwards again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.open.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


@pytest.fixture
def outage_app(app: Any, pg_url: str) -> Iterator[tuple[Any, Proxy]]:
    url = make_url(pg_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with app_on_postgres(pg_url, app, url=through) as other:
            yield other, proxy
    finally:
        proxy.close()


def _answers(client: Any) -> dict[str, Any]:
    page = client.get("/disclosure")
    api = client.get("/api/v1/needs")
    return {"page": page, "api": api}


@pytest.mark.postgres
def test_database_gone_for_a_moment_answers_503_then_recovers(
    outage_app: tuple[Any, Proxy],
) -> None:
    app, proxy = outage_app
    client = app.test_client()
    before = _answers(client)
    assert before["page"].status_code == 200 and before["api"].status_code == 200

    proxy.cut()
    during = _answers(client)
    page, api = during["page"], during["api"]
    assert page.status_code == 503, page.data.decode()[:300]
    assert int(page.headers["Retry-After"]) > 0
    assert OUTAGE_MESSAGE in page.data.decode()
    assert api.status_code == 503 and int(api.headers["Retry-After"]) > 0
    assert api.get_json() == {"status": 503, "message": OUTAGE_MESSAGE}

    proxy.restore()  # back: the very next requests succeed, no restart
    after = _answers(client)
    assert after["page"].status_code == 200 and after["api"].status_code == 200
    with app.app_context():
        from marketplace.extensions import db

        assert db.session.scalar(sa.text("SELECT 1")) == 1


def test_an_operational_error_answers_503_on_any_database(
    app: Any, db: Any, monkeypatch: Any
) -> None:
    """The same answers wherever a request meets the error (here: the disclosure's query)."""
    from marketplace.matches import services

    def gone(*_args: Any, **_kwargs: Any) -> Any:
        raise sa.exc.OperationalError("SELECT 1", {}, ConnectionError("server closed"))

    client = app.test_client()
    monkeypatch.setattr(services, "disclosure_query", gone)
    page = client.get("/disclosure")
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert OUTAGE_MESSAGE in page.data.decode()
    monkeypatch.undo()
    assert client.get("/disclosure").status_code == 200
    interface = sa.exc.InterfaceError("SELECT 1", {}, ConnectionError("connection already closed"))

    def closed(*_args: Any, **_kwargs: Any) -> Any:
        raise interface

    from marketplace.needs import services as needs

    monkeypatch.setattr(needs, "listed_needs", closed)
    api = client.get("/api/v1/needs")
    assert api.status_code == 503 and api.headers["Retry-After"]
    assert api.get_json()["message"] == OUTAGE_MESSAGE


def test_a_failed_commit_after_the_view_answers_503(app: Any, db: Any, monkeypatch: Any) -> None:
    """The commit comes after the view: an error there is a 503 too (outside the tests' mode,
    where Flask hands such errors to the test instead)."""
    from marketplace.extensions import db as _db

    def gone() -> None:
        raise sa.exc.OperationalError("COMMIT", {}, ConnectionError("server closed"))

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr(_db.session, "commit", gone)
    page = app.test_client().get("/disclosure")
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert OUTAGE_MESSAGE in page.data.decode()
