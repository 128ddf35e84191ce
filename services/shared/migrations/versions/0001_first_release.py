"""The first release's tables: ingest's ledger, the rules' history, notify's ledger and
archive (as their stores created them before there were migrations).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_submissions",
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("content_sha256", sa.Text, nullable=False),
        sa.Column("company_id", sa.Text, nullable=False),
        sa.Column("covenant", sa.Text, nullable=False),
        sa.Column("published", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("received_at", sa.Text, nullable=False),
    )
    op.create_table(
        "rules_assessments",
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("company_id", sa.Text, nullable=False),
        sa.Column("covenant", sa.Text, nullable=False),
        sa.Column("reporting_year", sa.Integer, nullable=False),
        sa.Column("submitted_at", sa.Text, nullable=False),
        sa.Column("ruleset_version", sa.Text, nullable=False),
        sa.Column("plan_json", sa.Text, nullable=False),
        sa.Column("findings_json", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
    )
    op.create_index("rules_assessments_company", "rules_assessments",
                    ["company_id", "covenant", "reporting_year"])
    op.create_table(
        "notify_events",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("submission_id", sa.Text),
        sa.Column("company_id", sa.Text),
        sa.Column("covenant", sa.Text),
        sa.Column("reporting_year", sa.Integer),
        sa.Column("received_at", sa.Text, nullable=False),
        sa.Column("event_json", sa.Text, nullable=False),
    )
    op.create_index("notify_events_company", "notify_events",
                    ["company_id", "covenant", "reporting_year"])
    op.create_table(
        "notify_ledger",
        sa.Column("letter_key", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_table(
        "notify_attempts",
        sa.Column("letter_key", sa.Text, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("notify_attempts", "notify_ledger", "notify_events", "rules_assessments",
                  "ingest_submissions"):
        op.drop_table(table)
