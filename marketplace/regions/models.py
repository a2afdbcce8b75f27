"""Administrative regions: province > city > county > township > village."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, enum_column
from marketplace.vocab import LabelledEnum


class RegionLevel(LabelledEnum):
    PROVINCE = "province", _l("Province")
    CITY = "city", _l("City")
    COUNTY = "county", _l("County")
    TOWNSHIP = "township", _l("Township")
    VILLAGE = "village", _l("Village")

    @property
    def depth(self) -> int:
        return LEVEL_ORDER.index(self)


LEVEL_ORDER = list(RegionLevel)


class Region(Base):
    __tablename__ = "region"
    # A subtree is read as ``path LIKE '/.../%'`` (permissions.region_clause) in nearly every
    # scoped query; PostgreSQL uses a btree for a prefix only with the pattern operator class
    # (the database's collation is not C): a county's 193 villages in 0.2 ms, not a scan of
    # 20,000 regions in 5-7 ms, twice per list page (migration 0021).
    __table_args__ = (
        sa.Index("ix_region_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # 12-digit statistical division code (adcode).
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel, "level"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    # Materialised path of codes ("/620000000000/620400000000/"): a subtree is a prefix.
    path: Mapped[str] = mapped_column(sa.String(200))  # indexed: ix_region_path above
    lat: Mapped[float | None]
    lng: Mapped[float | None]

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.code")

    def contains(self, other: Region) -> bool:
        return other.path.startswith(self.path)

    def ancestors(self) -> list[Region]:
        chain: list[Region] = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    @property
    def full_name(self) -> str:
        """Names from the city down, the way staff write an address (白银市靖远县东湾镇...)."""
        names = [r.name for r in self.ancestors() if r.level != RegionLevel.PROVINCE]
        names.append(self.name)
        return "".join(n for n in names if n not in ("市辖区",))

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
