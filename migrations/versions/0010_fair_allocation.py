"""fair allocation: a per-household limit, labour and priorities on resources; one live pledge
per (need, resource)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LIVE = "status IN ('approved', 'delivered', 'disputed', 'proposed')"


def _refuse_duplicate_live_pledges() -> None:
    """The unique index cannot be built over two live pledges of one resource to one need.
    Which of them should stop is a decision for an administrator, not for a migration: name
    them and stop."""
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT need_id, resource_id, COUNT(*) FROM match WHERE {LIVE} "
                "GROUP BY need_id, resource_id HAVING COUNT(*) > 1 ORDER BY need_id, resource_id"
            )
        )
        .all()
    )
    if duplicates:
        listed = ", ".join(f"need {n} / resource {r} ({c} live)" for n, r, c in duplicates)
        raise RuntimeError(
            "Several live pledges of one resource to one need: cancel or reject all but one "
            f"of each, then upgrade again: {listed}"
        )


def upgrade():
    _refuse_duplicate_live_pledges()
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.add_column(sa.Column("per_household", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("labour_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("priority_causes", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("priority_statuses", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.create_check_constraint("per_household_positive", "per_household >= 1")

    # Existing resources get what a new one of their kind gets (resources.models): one unit
    # per household for goods, and someone able to work for jobs and training.
    resource = sa.table(
        "resource",
        sa.column("kind", sa.String),
        sa.column("per_household", sa.Integer),
        sa.column("labour_required", sa.Boolean),
    )
    op.execute(resource.update().where(resource.c.kind == "goods").values(per_household=1))
    op.execute(
        resource.update()
        .where(resource.c.kind.in_(["jobs", "training"]))
        .values(labour_required=True)
    )

    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.alter_column("labour_required", server_default=None)
        batch_op.alter_column("priority_causes", server_default=None)
        batch_op.alter_column("priority_statuses", server_default=None)

    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.create_index(
            "uq_match_live_need_resource",
            ["need_id", "resource_id"],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )


def downgrade():
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.drop_index("uq_match_live_need_resource")

    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_resource_per_household_positive"), type_="check")
        batch_op.drop_column("priority_statuses")
        batch_op.drop_column("priority_causes")
        batch_op.drop_column("labour_required")
        batch_op.drop_column("per_household")
