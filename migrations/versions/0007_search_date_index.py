"""search: newest-first index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # The PostgreSQL search table (outside the ORM): a date index for newest-first pages of
    # broad searches.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_search_document_created ON search_document"
            " (created_at DESC, id DESC)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_document_created")
