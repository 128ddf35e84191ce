"""Companies as their last accepted plan described them, so that rejections are addressed
from the ledger and never from an unaccepted payload (ingest).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_companies",
        sa.Column("company_id", sa.Text, primary_key=True),
        sa.Column("covenant", sa.Text, primary_key=True),
        sa.Column("legal_name", sa.Text, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("contacts_json", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ingest_companies")
