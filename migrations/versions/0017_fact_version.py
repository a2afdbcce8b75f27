"""fact version: the token of the facts that cached pages show (issue 17)

One row, name 'facts', whose token every transaction changing a fact replaces before it
commits (marketplace.facts); the processes keep the home page's figures, the disclosure list
and the reports' live figures until it changes. Seeded here so that caching starts at once.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 10:00:00.000000

"""
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('fact_version',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('token', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_fact_version'))
    )
    op.bulk_insert(table, [{'name': 'facts', 'token': secrets.randbits(62)}])


def downgrade():
    op.drop_table('fact_version')
