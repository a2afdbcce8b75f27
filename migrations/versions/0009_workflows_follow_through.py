"""workflows follow through: audit events carry the region of their object; notifications may
go to an e-mail address without an account (an objector's contact)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Existing events keep an empty region: filling it would change what their hash covers.
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_path', sa.String(length=200), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_audit_event_region_path'), ['region_path'], unique=False)
    # An objector without an account who left an e-mail address is told the outcome.
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=False, server_default=''))
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    op.execute("DELETE FROM notification WHERE user_id IS NULL")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('email')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_region_path'))
        batch_op.drop_column('region_path')
