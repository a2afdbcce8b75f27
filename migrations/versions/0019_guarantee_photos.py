"""guarantee evidence photos (issue 15): a check of 两不愁三保障 may keep a photo of what was seen

Photos of a guarantee check are attachments of owner type "guarantee_check" (owner_id: the
check); the attachment table's CHECK of the owner types takes it. On SQLite the table is
rebuilt (follow-ups refer to their photos: migrations/env.py keeps foreign keys off meanwhile).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 06:30:00

"""
from alembic import op

OWNER_TYPES_BEFORE = "owner_type IN ('need', 'match', 'produce_listing')"
OWNER_TYPES = "owner_type IN ('need', 'match', 'produce_listing', 'guarantee_check')"


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attachment_owner_type_known"), type_="check")
        batch_op.create_check_constraint("owner_type_known", OWNER_TYPES)


def downgrade():
    op.execute("DELETE FROM attachment WHERE owner_type = 'guarantee_check'")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attachment_owner_type_known"), type_="check")
        batch_op.create_check_constraint("owner_type_known", OWNER_TYPES_BEFORE)
