"""accounts lifecycle: forced password change, token scope and expiry, per-address sign-in
throttles instead of account locks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_login_throttle_failures_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("username", "address", name="one_per_account_and_address"),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttle_username"), ["username"], unique=False)

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
        # Tokens made before scopes existed could act: they keep doing so.
        batch_op.add_column(
            sa.Column(
                "scope",
                sa.Enum(
                    "read",
                    "write",
                    name="scope",
                    native_enum=False,
                    create_constraint=True,
                    length=5,
                ),
                nullable=False,
                server_default="write",
            )
        )

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.drop_constraint(op.f("ck_user_failed_logins_non_negative"), type_="check")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column("scope", server_default=None)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("must_change_password", server_default=None)


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint("failed_logins_non_negative", "failed_logins >= 0")
        batch_op.drop_column("must_change_password")

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_api_token_scope"), type_="check")
        batch_op.drop_column("scope")
        batch_op.drop_column("expires_on")

    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttle_username"))

    op.drop_table("login_throttle")
