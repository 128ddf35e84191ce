"""The secretariat's console: accounts, sessions, the audit log and failed logins.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("username", sa.Text, primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),  # Argon2id, with its parameters
        sa.Column("role", sa.Text, nullable=False),  # secretariat, auditor, company
        sa.Column("covenant", sa.Text),  # NULL: every covenant (secretariat, auditor)
        sa.Column("company_id", sa.Text),  # a company user's company
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.Text, primary_key=True),  # SHA-256 of the cookie's token
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("csrf_token", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("seen_at", sa.Text, nullable=False),
    )
    op.create_table(
        "console_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("username", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text),
        sa.Column("address", sa.Text),
    )
    op.create_table(
        "console_login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("address", sa.Text),
        sa.Column("at", sa.Text, nullable=False),
    )
    op.create_index("console_login_failures_by_user", "console_login_failures",
                    ["username", "at"])


def downgrade() -> None:
    op.drop_index("console_login_failures_by_user", "console_login_failures")
    for table in ("console_login_failures", "console_audit", "console_sessions",
                  "console_users"):
        op.drop_table(table)
