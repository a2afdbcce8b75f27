"""Storing photos: the content is checked (not the name), the size capped, and the file kept
outside the web root under a generated name."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import IO, TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.attachments.models import Attachment
from marketplace.errors import ServiceError
from marketplace.extensions import db

if TYPE_CHECKING:
    from marketplace.accounts.models import User

# Magic numbers of the image formats phones produce and browsers show.
SIGNATURES = {
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
}
WEBP = ("image/webp", ".webp")


def upload_dir() -> Path:
    path = Path(current_app.config["INSTANCE_DIR"]) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, kind in SIGNATURES.items():
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def read_photo(stream: IO[bytes]) -> tuple[bytes, str, str]:
    """Read and check an uploaded photo before anything is written: (bytes, type, suffix)."""
    limit = int(current_app.config.get("PHOTO_MAX_BYTES", 5 * 1024 * 1024))
    data = stream.read(limit + 1)
    if not data:
        raise ServiceError(_l("The photo is empty."))
    if len(data) > limit:
        raise ServiceError(
            _l("The photo is larger than %(mb)s MB.", mb=limit // (1024 * 1024)), 413
        )
    kind = sniff(data[:16])
    if kind is None:
        raise ServiceError(_l("Only JPEG, PNG or WebP photos can be uploaded."))
    return data, kind[0], kind[1]


def attach(
    owner_type: str, owner_id: int, photo: tuple[bytes, str, str], actor: User, purpose: str
) -> Attachment:
    data, content_type, suffix = photo
    name = secrets.token_hex(16) + suffix
    (upload_dir() / name).write_bytes(data)
    attachment = Attachment(
        owner_type=owner_type,
        owner_id=owner_id,
        purpose=purpose,
        stored_name=name,
        content_type=content_type,
        size=len(data),
        uploaded_by_id=actor.id,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def attachments_of(owner_type: str, owner_id: int, purpose: str | None = None) -> list[Attachment]:
    query = sa.select(Attachment).where(
        Attachment.owner_type == owner_type, Attachment.owner_id == owner_id
    )
    if purpose is not None:
        query = query.where(Attachment.purpose == purpose)
    return list(db.session.scalars(query.order_by(Attachment.id)))


def path_of(attachment: Attachment) -> Path:
    return upload_dir() / attachment.stored_name
