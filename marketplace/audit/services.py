"""Recording events and checking the chain that links them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.util import find_tables

from marketplace.audit.keys import audit_key, mac
from marketplace.audit.models import AuditEvent
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.regions.models import Region

if TYPE_CHECKING:
    from marketplace.accounts.models import User

GENESIS = "0" * 64
# Any constant: the PostgreSQL advisory lock that orders writers of the chain.
CHAIN_LOCK = 720_421


def content_hash(event: AuditEvent, prev_hash: str) -> str:
    """SHA-256 over the event's content and the previous hash, in a canonical JSON form."""
    created = event.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    payload = {
        "created_at": created, "actor_id": event.actor_id, "actor_role": event.actor_role,
        "action": event.action, "object_type": event.object_type, "object_id": event.object_id,
        "before": event.before, "after": event.after, "ip": event.ip, "prev_hash": prev_hash,
    }  # fmt: skip
    # Covered when set; events written before the column existed hash as they always did.
    if event.region_path:
        payload["region_path"] = event.region_path
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal_of(event_hash: str, key: bytes | None = None) -> str:
    """An event's seal: its hash signed with the audit key, which the database does not hold."""
    return mac(key if key is not None else audit_key(), "audit-event", event_hash)


def _take_chain_lock() -> None:
    """Writers append one at a time, so that every event links to the one before it. Held
    until commit: taken by ``_chain`` only once the rest of the transaction is flushed."""
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    else:
        # SQLite: a write takes the database's write lock until commit.
        db.session.execute(sa.text("UPDATE audit_event SET id = id WHERE 0 = 1"))


PENDING = "audit_pending"  # session.info: the events recorded, chained and added at commit


def record_event(
    action: str,
    actor: User | None = None,
    obj: Any = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    region: Region | None = None,
) -> AuditEvent:
    """Record one event; the caller's transaction commits it with the change it describes.

    The event joins the chain at commit (``_chain``): the chain's lock is held only from
    then, for reading the head and the insert, not from the moment of the event to the end of
    the request. A query of the trail in the same transaction chains it at once (``_visible``:
    the lock then held to commit, as it was for every event before); a rollback drops it with
    the change it describes.

    ``region`` (default: the region of ``obj``, see ``region_of``) lets the administrators and
    auditors of that region read the event whoever acted: a donor, or the public."""
    with db.session.no_autoflush:
        place = region if region is not None else region_of(obj)
    event = AuditEvent(
        created_at=utcnow(),
        action=action,
        actor_id=actor.id if actor is not None and actor.id is not None else None,
        actor_role=actor.role.value if actor is not None else "",
        object_type=obj.__tablename__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        before=_plain(before),
        after=_plain(after),
        ip=(request.remote_addr or "") if has_request_context() else "cli",
        region_path=place.path if place is not None else "",
    )
    db.session().info.setdefault(PENDING, []).append(event)
    return event


def _chain(session: Session) -> None:
    """Before commit: the rest of the transaction is flushed first, then, under the chain's
    lock, the head is read and this transaction's events are linked to it and to each other,
    in the order recorded, and added; the commit's flush inserts them and the commit releases
    the lock. Event ids come from the insert under the lock, so id order is chain order."""
    if not session.info.get(PENDING):
        return
    if session.in_nested_transaction():  # a savepoint: they wait for the outer commit
        return
    session.flush()  # everything else first, outside the lock
    _link(session)


def _visible(state: ORMExecuteState) -> None:
    """A query of the trail in the transaction that recorded events sees them: they are
    chained and flushed first (the lock is then held until commit)."""
    session = state.session
    if not session.info.get(PENDING) or not state.is_select:
        return
    statement = state.statement
    if isinstance(statement, sa.ClauseElement) and AuditEvent.__table__ in find_tables(
        statement, include_joins=True
    ):
        with session.no_autoflush:
            _link(session)
        session.flush()


def _link(session: Session) -> None:
    pending: list[AuditEvent] = session.info.pop(PENDING, [])
    if not pending:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    else:
        session.execute(sa.text("UPDATE audit_event SET id = id WHERE 0 = 1"))
    last = session.scalar(sa.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    key = audit_key()
    for event in pending:
        event.prev_hash = last or GENESIS
        event.hash = last = content_hash(event, event.prev_hash)
        event.seal = seal_of(event.hash, key)
    session.add_all(pending)


def _drop(session: Session, transaction: SessionTransaction) -> None:
    """The transaction ended (committed, rolled back or closed): what it recorded and did not
    commit goes with it."""
    if transaction.parent is None:
        session.info.pop(PENDING, None)


sa.event.listen(Session, "before_commit", _chain)
sa.event.listen(Session, "do_orm_execute", _visible)
sa.event.listen(Session, "after_transaction_end", _drop)


def region_of(obj: Any) -> Region | None:
    """The region an object belongs to: a need's or household's village, a match's need, an
    objection's match, the lowest region holding a resource's service area (else its
    organization's), an organization's or a spot check's region, a user's regions (a donor's
    organization), a token's user. None for what has no place."""
    if obj is None or isinstance(obj, Region):
        return obj
    for name in ("village", "need", "match", "household"):
        if hasattr(obj, name):
            return region_of(getattr(obj, name))
    area = getattr(obj, "service_area", None)
    if area:
        common = _common_ancestor(list(area))
        if common is not None:
            return common
    regions = getattr(obj, "regions", None)
    if regions:
        return _common_ancestor(list(regions))
    for name in ("region", "organization", "user"):
        if hasattr(obj, name):
            return region_of(getattr(obj, name))
    return None


def _common_ancestor(regions: list[Region]) -> Region | None:
    """The lowest region containing all of these (None when they lie in different provinces)."""
    best: Region | None = regions[0]
    while best is not None and not all(best.contains(r) for r in regions):
        best = best.parent
    return best


def _plain(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the JSON column will give back, so the hash computed now matches the one recomputed
    later."""
    return None if value is None else json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    kind: str  # "changed" | "broken_link" (an event inserted or deleted before it)


def verify_chain() -> ChainProblem | None:
    """The first event whose content or link does not check out, or None if all do. The chain
    alone: ``checkpoints.verify_trail`` also checks seals and checkpoints and tells an event
    inserted or deleted from one changed (``marketplace audit verify`` uses it)."""
    expected_prev = GENESIS
    last_id = 0
    while True:
        batch = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(5000)
        ).all()
        if not batch:
            return None
        for event in batch:
            if event.prev_hash != expected_prev:
                return ChainProblem(event.id, "broken_link")
            if content_hash(event, event.prev_hash) != event.hash:
                return ChainProblem(event.id, "changed")
            expected_prev = event.hash
            last_id = event.id
        db.session.expire_all()
