"""The register of poor households (建档立卡贫困户)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, TimestampMixin, enum_column
from marketplace.regions.models import Region
from marketplace.vocab import HouseholdStatus, LabelledEnum, LabourCapacity, PovertyCause

if TYPE_CHECKING:
    from marketplace.accounts.models import User

# How many people a household may have: the one definition of the rule, which the form, the
# service, the import and the table's check all read.
MEMBER_COUNT_RANGE = (1, 30)
DISABILITY_GRADES = (1, 2, 3, 4)  # 残疾等级: 一级 (most severe) to 四级


class IdentificationStatus(LabelledEnum):
    """精准识别, the Wuzhong seed's seven steps as a workflow (``policy.IDENTIFICATION``). The
    household applies (户申报) and the village group discusses it (小组议): the household is
    registered, DECLARED. The village assesses it (村评定): staff PROPOSE it with the
    assessment's date and result. The township visits and reviews it (入户查、逐级核): REVIEWED.
    The county confirms it (县确认): CONFIRMED, and only then can its needs be verified. The
    city's spot checks (市抽查) may send a confirmed household back, as the township and the
    county may send back what they review; a sent-back household is corrected and proposed
    again."""

    DECLARED = "declared", _l("Declared, awaiting the village assessment"), "secondary"
    PROPOSED = "proposed", _l("Assessed by the village, awaiting the township"), "warning"
    REVIEWED = "reviewed", _l("Reviewed by the township, awaiting the county"), "info"
    CONFIRMED = "confirmed", _l("Confirmed by the county"), "success"
    RETURNED = "returned", _l("Sent back"), "danger"


class MemberRelation(LabelledEnum):
    """Relation to the head of household, as the register writes it (与户主关系)."""

    HEAD = "head", _l("Head of household")
    SPOUSE = "spouse", _l("Spouse")
    SON = "son", _l("Son")
    DAUGHTER = "daughter", _l("Daughter")
    DAUGHTER_IN_LAW = "daughter_in_law", _l("Daughter-in-law")
    SON_IN_LAW = "son_in_law", _l("Son-in-law")
    GRANDSON = "grandson", _l("Grandson")
    GRANDDAUGHTER = "granddaughter", _l("Granddaughter")
    FATHER = "father", _l("Father")
    MOTHER = "mother", _l("Mother")
    GRANDPARENT = "grandparent", _l("Grandparent")
    SIBLING = "sibling", _l("Brother or sister")
    OTHER = "other", _l("Other relative")


class Sex(LabelledEnum):
    """Read from the ID card number (its 17th digit: odd for men), never typed."""

    MALE = "male", _l("Male")
    FEMALE = "female", _l("Female")


class MemberLabour(LabelledEnum):
    """A member's labour capacity (劳动能力). ``vocab.LabourCapacity`` is the household's (full,
    weak, none: what the matching reads) and has no "lost"; ``capacity`` maps onto it."""

    STRONG = "strong", _l("Able-bodied labour")
    WEAK = "weak", _l("Weak or partial labour")
    NONE = "none", _l("No labour (child, student, elderly)")
    LOST = "lost", _l("Lost the ability to work")

    @property
    def capacity(self) -> LabourCapacity:
        return {
            MemberLabour.STRONG: LabourCapacity.FULL,
            MemberLabour.WEAK: LabourCapacity.WEAK,
        }.get(self, LabourCapacity.NONE)


class MemberHealth(LabelledEnum):
    HEALTHY = "healthy", _l("Healthy")
    CHRONIC = "chronic", _l("Chronic illness")
    SERIOUS = "serious", _l("Serious illness")
    DISABLED = "disabled", _l("With a disability")


class SchoolStage(LabelledEnum):
    """Schooling (文化程度): the stage reached, or the one attended for a pupil in school."""

    PRESCHOOL = "preschool", _l("Pre-school")
    ILLITERATE = "illiterate", _l("Illiterate or semi-literate")
    PRIMARY = "primary", _l("Primary school")
    JUNIOR = "junior", _l("Junior secondary school")
    SENIOR = "senior", _l("Senior secondary school")
    VOCATIONAL = "vocational", _l("Secondary vocational school")
    COLLEGE = "college", _l("College or university")


class Household(TimestampMixin, Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    register_number: Mapped[str] = mapped_column(sa.String(30), unique=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    # Personal data: shown masked to anyone without a right to it.
    head_name: Mapped[str] = mapped_column(sa.String(50))
    head_id_number: Mapped[str] = mapped_column(sa.String(18), unique=True)
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    member_count: Mapped[int] = mapped_column(default=1)
    primary_cause: Mapped[PovertyCause] = mapped_column(enum_column(PovertyCause, "primary_cause"))
    # Further causes beyond the main one, as codes of PovertyCause.
    other_causes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[HouseholdStatus] = mapped_column(
        enum_column(HouseholdStatus, "status"), default=HouseholdStatus.POOR
    )
    # What the matching reads (jobs and training need someone able to work): while the roster
    # records anyone's labour it is worked out from the roster (``services.roster_labour``) and
    # kept here by the member services; otherwise it is what staff enter for the household.
    labour_capacity: Mapped[LabourCapacity] = mapped_column(
        enum_column(LabourCapacity, "labour_capacity"), default=LabourCapacity.FULL
    )
    income_per_capita: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # 精准识别 (IdentificationStatus): moved by policy.IDENTIFICATION only.
    identification: Mapped[IdentificationStatus] = mapped_column(
        enum_column(IdentificationStatus, "identification"),
        default=IdentificationStatus.DECLARED,
        index=True,
    )
    village_assessed_on: Mapped[date | None]  # 村评定: the day of the village's assessment
    village_assessment: Mapped[str] = mapped_column(sa.String(500), default="")
    identification_reason: Mapped[str] = mapped_column(sa.String(500), default="")  # sent back
    identification_reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    identification_reviewed_at: Mapped[datetime | None]
    identification_confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    identification_confirmed_at: Mapped[datetime | None]

    village: Mapped[Region] = relationship()
    identification_reviewed_by: Mapped[User | None] = relationship(
        foreign_keys=[identification_reviewed_by_id]
    )
    identification_confirmed_by: Mapped[User | None] = relationship(
        foreign_keys=[identification_confirmed_by_id]
    )
    members: Mapped[list[HouseholdMember]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="HouseholdMember.id"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "member_count >= {} AND member_count <= {}".format(*MEMBER_COUNT_RANGE),
            name="member_count_range",
        ),
        sa.CheckConstraint("income_per_capita >= 0", name="income_non_negative"),
    )

    @property
    def causes(self) -> list[str]:
        return [self.primary_cause.value, *[c for c in self.other_causes if c]]


class HouseholdMember(Base):
    """One person of the household (家庭成员), the head included (relation HEAD, with the
    household's head name and ID card number). Name, ID card number, birth date and health are
    personal data: shown through ``services.identity``, masked unless the reader has the right.
    Rows carried over from before the roster recorded them may lack the ID card number (and so
    sex and birth date), labour and schooling; every save through the services fills them."""

    __tablename__ = "household_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("household.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(50))
    relation: Mapped[MemberRelation] = mapped_column(enum_column(MemberRelation, "relation"))
    id_number: Mapped[str] = mapped_column(sa.String(18), default="")
    # Both read from the ID card number when it is saved.
    sex: Mapped[Sex | None] = mapped_column(enum_column(Sex, "sex"))
    birth_date: Mapped[date | None]
    labour: Mapped[MemberLabour | None] = mapped_column(enum_column(MemberLabour, "labour"))
    health: Mapped[MemberHealth] = mapped_column(
        enum_column(MemberHealth, "health"), default=MemberHealth.HEALTHY
    )
    disability_grade: Mapped[int | None]
    schooling: Mapped[SchoolStage | None] = mapped_column(enum_column(SchoolStage, "schooling"))
    in_school: Mapped[bool] = mapped_column(default=False)
    skills: Mapped[str] = mapped_column(sa.String(200), default="")
    working_away: Mapped[bool] = mapped_column(default=False)  # 外出务工

    household: Mapped[Household] = relationship(back_populates="members")

    __table_args__ = (
        sa.CheckConstraint(
            "disability_grade IS NULL"
            " OR (health = 'disabled' AND disability_grade BETWEEN 1 AND 4)",
            name="disability_grade_range",
        ),
        # One person, one roster; one head a household (the services check both first and
        # answer a racing request's refusal with 409).
        sa.Index(
            "uq_household_member_id_number",
            "id_number",
            unique=True,
            sqlite_where=sa.text("id_number != ''"),
            postgresql_where=sa.text("id_number != ''"),
        ),
        sa.Index(
            "uq_household_member_head",
            "household_id",
            unique=True,
            sqlite_where=sa.text("relation = 'head'"),
            postgresql_where=sa.text("relation = 'head'"),
        ),
    )
