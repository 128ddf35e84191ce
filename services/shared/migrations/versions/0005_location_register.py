"""The covenant as a whole: the register of production locations (each entry one place, the
spellings companies gave it, where each company listed it, the candidate pairs waiting for the
secretariat and the pairs it rejected) and the signals forwarded to the companies that use a
location (services/register).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_entries",  # one place on the aggregated list ("IN-00042")
        sa.Column("covenant", sa.Text, primary_key=True),
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("merged_into", sa.Text),  # merged by a confirmed candidate: that entry now
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "register_spellings",  # a cleaned (country, name, address): which entry it is, and why
        sa.Column("covenant", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),  # cleaned
        sa.Column("address", sa.Text, nullable=False),  # cleaned
        sa.Column("os_id", sa.Text),
        sa.Column("method", sa.Text, nullable=False),  # matching.Method
        sa.Column("score", sa.Float),
        sa.Column("automatic", sa.Float, nullable=False),  # the thresholds it was matched with
        sa.Column("candidate", sa.Float, nullable=False),
        sa.Column("matcher", sa.Text, nullable=False),  # code version and matcher revision
        sa.Column("decided_by", sa.Text),  # the secretariat's user, for a decision of its own
        sa.Column("decided_at", sa.Text, nullable=False),
    )
    op.create_index("register_spellings_entry", "register_spellings", ["entry_id"])
    op.create_table(
        "register_sightings",  # one location as one plan listed it
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("location_id", sa.Text, primary_key=True),
        sa.Column("covenant", sa.Text, nullable=False),
        sa.Column("company_id", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("location_json", sa.Text, nullable=False),  # the published fields as given
    )
    op.create_index("register_sightings_key", "register_sightings", ["covenant", "key"])
    op.create_table(
        "register_processed",  # accepted plans whose locations the register holds
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("covenant", sa.Text, nullable=False),
        sa.Column("company_id", sa.Text, nullable=False),
        sa.Column("reporting_year", sa.Integer, nullable=False),
        sa.Column("submitted_at", sa.Text, nullable=False),
        sa.Column("processed_at", sa.Text, nullable=False),
    )
    op.create_table(
        "register_candidates",  # a spelling that may be an entry's: the secretariat decides
        sa.Column("covenant", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("proposed_at", sa.Text, nullable=False),
    )
    op.create_table(
        "register_rejections",  # different places, said the secretariat: never proposed again
        sa.Column("covenant", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_at", sa.Text, nullable=False),
    )
    op.create_table(
        "register_signals",  # a report of an abuse at a listed location
        sa.Column("signal_id", sa.Text, primary_key=True),
        sa.Column("covenant", sa.Text, nullable=False),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("received_on", sa.Text, nullable=False),
        sa.Column("theme", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),  # who reported it: never to a company
        sa.Column("summary", sa.Text, nullable=False),  # confidential: not published
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
    )
    op.create_table(
        "register_forwards",  # a signal passed to one company that uses its location
        sa.Column("signal_id", sa.Text, primary_key=True),
        sa.Column("company_id", sa.Text, primary_key=True),
        sa.Column("covenant", sa.Text, nullable=False),
        sa.Column("submission_id", sa.Text, nullable=False),  # the plan that lists it
        sa.Column("forwarded_on", sa.Text, nullable=False),
    )
    op.create_index("register_forwards_company", "register_forwards",
                    ["company_id", "covenant"])


def downgrade() -> None:
    op.drop_index("register_forwards_company", "register_forwards")
    op.drop_index("register_sightings_key", "register_sightings")
    op.drop_index("register_spellings_entry", "register_spellings")
    for table in ("register_forwards", "register_signals", "register_rejections",
                  "register_candidates", "register_processed", "register_sightings",
                  "register_spellings", "register_entries"):
        op.drop_table(table)
