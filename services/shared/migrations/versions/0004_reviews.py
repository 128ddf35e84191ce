"""The secretariat's reviews: the current state of each, every change to it, and the events
waiting to be published (the feedback letter's, written in the same transaction as the
finalisation that causes it).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_reviews",
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("covenant", sa.Text, nullable=False),
        sa.Column("company_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),  # draft, final
        sa.Column("revision", sa.Integer, nullable=False),  # every saved change
        sa.Column("document_json", sa.Text, nullable=False),  # services/console/review.py
        # what a final review confirms, in the shape of findings: next year's prev_findings
        sa.Column("confirmed_json", sa.Text),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_table(
        "console_review_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("document_json", sa.Text, nullable=False),  # the review after the change
        sa.UniqueConstraint("submission_id", "revision"),
    )
    op.create_table(
        "console_outbox",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("exchange", sa.Text, nullable=False),
        sa.Column("routing_key", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("published_at", sa.Text),  # NULL until the broker confirmed it
    )


def downgrade() -> None:
    for table in ("console_outbox", "console_review_history", "console_reviews"):
        op.drop_table(table)
