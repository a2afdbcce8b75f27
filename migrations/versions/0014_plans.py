"""household plans (issue 15): one plan per household with its measures, the guarantee checks
(两不愁三保障), shocks, the decisions that move a household's status (exit by assessment,
monitoring, return to poverty); needs link to the measure they were posted from; two need
categories (生态补偿, 社会保障兜底) with their sub-categories

Existing households get no plan and no checks: both begin when staff record them. Existing
needs keep their categories and link to no measure.

Revision ID: 0014
Revises: 0015
Create Date: 2026-12-14

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0015"
branch_labels = None
depends_on = None

CAUSES = ("illness", "disability", "schooling", "disaster", "land", "water", "skills", "labour",
          "capital", "transport", "drive")  # fmt: skip
MEASURE_STATUSES = ("planned", "under_way", "done", "dropped")
GUARANTEES = ("food", "clothing", "education", "medical", "housing", "water")
SHOCKS = ("illness", "disaster", "job_loss")
HOUSEHOLD_STATUSES = ("poor", "exited", "monitored")

TOPS = ("industry", "jobs", "education", "medical", "housing", "necessities", "consumption",
        "finance", "infrastructure", "services")  # fmt: skip
SUBS = ("industry.livestock", "industry.planting", "industry.aquaculture", "industry.cooperative",
        "industry.fund", "jobs.employment", "jobs.training", "jobs.public_post",
        "education.tuition", "education.grant", "education.supplies", "medical.insurance",
        "medical.treatment", "medical.aids", "housing.renovation", "housing.relocation",
        "housing.materials", "necessities.washer", "necessities.appliance",
        "necessities.clothing", "necessities.food", "consumption.produce",
        "consumption.ecommerce", "finance.microcredit", "finance.insurance", "finance.cash",
        "infrastructure.road", "infrastructure.water", "infrastructure.power",
        "infrastructure.facility", "services.telecom", "services.discount",
        "services.other")  # fmt: skip
NEW_TOPS = ("ecology", "safety_net")
NEW_SUBS = ("ecology.ranger", "ecology.reforestation", "ecology.grassland",
            "safety_net.minimum_living", "safety_net.destitute",
            "safety_net.temporary")  # fmt: skip


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True,
                   length=max(len(v) for v in values))  # fmt: skip


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _categories(tops, subs):
    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_need_category_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_need_subcategory_known"), type_="check")
        batch_op.create_check_constraint("category_known", _in("category", tops))
        batch_op.create_check_constraint("subcategory_known", _in("subcategory", subs))


def upgrade():
    op.create_table(
        "household_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("goal", sa.String(length=200), nullable=False),
        sa.Column("target_year", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("target_year BETWEEN 2000 AND 2100", name="target_year_range"),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"],
                                name=op.f("fk_household_plan_created_by_id_user")),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE",
                                name=op.f("fk_household_plan_household_id_household")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_plan")),
        sa.UniqueConstraint("household_id", name=op.f("uq_household_plan_household_id")),
    )  # fmt: skip
    op.create_table(
        "plan_measure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("cause", _enum(CAUSES, "cause"), nullable=False),
        sa.Column("subcategory", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=True),
        sa.Column("responsible_name", sa.String(length=50), nullable=False),
        sa.Column("responsible_phone", sa.String(length=20), nullable=False),
        sa.Column("status", _enum(MEASURE_STATUSES, "status"), nullable=False),
        sa.Column("outcome", sa.String(length=500), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("responsible_id IS NOT NULL OR responsible_name <> ''",
                           name="responsible_named"),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"],
                                name=op.f("fk_plan_measure_created_by_id_user")),
        sa.ForeignKeyConstraint(["plan_id"], ["household_plan.id"], ondelete="CASCADE",
                                name=op.f("fk_plan_measure_plan_id_household_plan")),
        sa.ForeignKeyConstraint(["responsible_id"], ["user.id"],
                                name=op.f("fk_plan_measure_responsible_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_measure")),
    )  # fmt: skip
    with op.batch_alter_table("plan_measure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_measure_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "guarantee_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("guarantee", _enum(GUARANTEES, "guarantee"), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("evidence", sa.String(length=500), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE",
                                name=op.f("fk_guarantee_check_household_id_household")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"],
                                name=op.f("fk_guarantee_check_recorded_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guarantee_check")),
    )  # fmt: skip
    with op.batch_alter_table("guarantee_check", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_guarantee_check_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            "ix_guarantee_check_latest", ["household_id", "guarantee", "checked_on"], unique=False
        )

    op.create_table(
        "household_shock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum(SHOCKS, "kind"), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE",
                                name=op.f("fk_household_shock_household_id_household")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"],
                                name=op.f("fk_household_shock_recorded_by_id_user")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["user.id"],
                                name=op.f("fk_household_shock_resolved_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_shock")),
    )  # fmt: skip
    with op.batch_alter_table("household_shock", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_shock_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "household_status_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("from_status", _enum(HOUSEHOLD_STATUSES, "from_status"), nullable=False),
        sa.Column("to_status", _enum(HOUSEHOLD_STATUSES, "to_status"), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("income_per_capita", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("poverty_line", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("line_year", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"],
                                name=op.f("fk_household_status_decision_decided_by_id_user")),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE",
                                name=op.f("fk_household_status_decision_household_id_household")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_status_decision")),
    )  # fmt: skip
    with op.batch_alter_table("household_status_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_status_decision_household_id"), ["household_id"],
            unique=False,
        )  # fmt: skip

    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.add_column(sa.Column("measure_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_need_measure_id_plan_measure"), "plan_measure", ["measure_id"],
            ["id"], ondelete="SET NULL",
        )  # fmt: skip
        batch_op.create_index(batch_op.f("ix_need_measure_id"), ["measure_id"], unique=False)
    _categories(TOPS + NEW_TOPS, SUBS + NEW_SUBS)


def downgrade():
    bind = op.get_bind()
    used = bind.execute(
        sa.text(
            "SELECT COUNT(*) FROM need WHERE category IN ('ecology', 'safety_net')"
        )
    ).scalar()
    if used:
        raise RuntimeError(
            f"{used} needs are in the categories ecology or safety_net, which the older schema "
            "does not know: recategorise or delete them, then downgrade again"
        )
    _categories(TOPS, SUBS)
    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_need_measure_id"))
        batch_op.drop_constraint(batch_op.f("fk_need_measure_id_plan_measure"), type_="foreignkey")
        batch_op.drop_column("measure_id")
    for table in ("household_status_decision", "household_shock", "guarantee_check"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_household_id"))
    with op.batch_alter_table("guarantee_check", schema=None) as batch_op:
        batch_op.drop_index("ix_guarantee_check_latest")
    with op.batch_alter_table("plan_measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_measure_plan_id"))
    for table in ("household_status_decision", "household_shock", "guarantee_check",
                  "plan_measure", "household_plan"):  # fmt: skip
        op.drop_table(table)
