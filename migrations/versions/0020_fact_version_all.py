"""fact version 'all': the token of changes whose county is not known (issue 17)

A region's kept report depends on the 'all' token and its counties' tokens; with no 'all' row
nothing is kept (a database filled behind the app's back). A county change writes its own
token only, so on a site upgraded from 0019 'all' would stay missing until some change could
not be followed to a county, and every report would be recomputed per request until then.
Seeded here, as 0017 seeds 'facts'; a database that has it already keeps its own.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 13:55:00

"""
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    found = op.get_bind().scalar(sa.text("SELECT count(*) FROM fact_version WHERE name = 'all'"))
    if not found:
        op.execute(
            sa.text("INSERT INTO fact_version (name, token) VALUES ('all', :token)")
            .bindparams(token=secrets.randbits(62))
        )


def downgrade():
    op.execute("DELETE FROM fact_version WHERE name = 'all'")
