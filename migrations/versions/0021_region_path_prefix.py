"""region path prefix: the region path's index with the pattern operator class (issue 17)

Every scoped list reads a subtree as ``region.path LIKE '<path>%'``. With the database's
collation not C, PostgreSQL uses a plain btree on path for equality only, so each such query
scanned all regions (5-7 ms at 20,000, twice per list page: the rows and their count). With
``varchar_pattern_ops`` the prefix is an index range (a county's villages in 0.2 ms); equality
still uses it. SQLite keeps its plain index (its LIKE is case-insensitive and uses none).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 17:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_region_path', table_name='region')
    op.create_index('ix_region_path', 'region', ['path'], unique=False,
                    postgresql_ops={'path': 'varchar_pattern_ops'})


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_region_path', table_name='region')
    op.create_index('ix_region_path', 'region', ['path'], unique=False)
