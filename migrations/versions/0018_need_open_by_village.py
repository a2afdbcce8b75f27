"""need open by village: the index the best-needs query reads (issue 17)

Open, verified needs by village, holding every column that query selects: a city's candidates
are read from the index alone, without visiting the need table (at 1M needs, 162 ms with the
table's pages against 26 ms from the index). Partial: only open, verified needs.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

COLUMNS = ['village_id', 'category', 'subcategory', 'household_id', 'open_quantity', 'urgency',
           'created_at', 'id']
OPEN = sa.text("status = 'verified' AND open_quantity > 0")


def upgrade():
    op.create_index('ix_need_open_by_village', 'need', COLUMNS, unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade():
    op.drop_index('ix_need_open_by_village', table_name='need')
