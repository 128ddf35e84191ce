"""Memory across years: what the rules need to know about a company's earlier plans.

The rules service records every assessment once the broker has confirmed it, and before each
evaluation asks for the plan's `Prior`: the previous accepted plan of the same company under the
same covenant (the latest of an earlier reporting year) with the findings on it, the other
accepted plans for the same year, and how many plans were accepted before. SQLite by default,
PostgreSQL when DATABASE_URL says so.

The findings on the previous plan (`prev_findings`) are those the secretariat confirmed in its
final review of it (the console's `console_reviews.confirmed_json`: dismissed ones left out,
changed severities and its own findings in); until that review is final, the automatic findings
stand in.
"""

import json
from datetime import UTC, datetime

from services.rules.core.prior import Prior, StoredAssessment
from services.shared import fastjson
from services.shared.contracts import Finding, PlanSubmission
from services.shared.db import Database


class SqlAssessmentHistory:
    def __init__(self, db: Database):
        self._db = db
        db.ensure_schema()  # tables: services/shared/migrations

    def prior(self, plan: PlanSubmission) -> Prior:
        key = (plan.company.company_id, plan.covenant)
        sid, year = plan.submission.submission_id, plan.submission.reporting_year
        with self._db.transaction() as cur:
            # the findings that stand: a final review's confirmed ones, else the automatic
            cur.execute(self._db.sql(
                "SELECT a.submission_id, a.reporting_year, a.submitted_at, a.plan_json, "
                "COALESCE(r.confirmed_json, a.findings_json) FROM rules_assessments a "
                "LEFT JOIN console_reviews r ON r.submission_id = a.submission_id "
                "AND r.state = 'final' WHERE a.company_id = ? AND a.covenant = ? "
                "AND a.reporting_year < ? ORDER BY a.reporting_year DESC, a.submitted_at DESC "
                "LIMIT 1"), (*key, year))
            row = cur.fetchone()
            cur.execute(self._db.sql(
                "SELECT submission_id FROM rules_assessments WHERE company_id = ? AND "
                "covenant = ? AND reporting_year = ? AND submission_id <> ? "
                "ORDER BY submission_id"), (*key, year, sid))
            same_year = [r[0] for r in cur.fetchall()]
            cur.execute(self._db.sql(
                "SELECT COUNT(*) FROM rules_assessments WHERE company_id = ? AND covenant = ? "
                "AND submission_id <> ?"), (*key, sid))
            count = cur.fetchone()[0]
        previous = StoredAssessment(row[0], int(row[1]), row[2], json.loads(row[3]),
                                    json.loads(row[4])) if row else None
        return Prior(previous, same_year, int(count), known=True)

    def record(self, plan: PlanSubmission, findings: list[Finding], ruleset_version: str) -> None:
        s = plan.submission
        values = (s.submission_id, plan.company.company_id, plan.covenant,
                  s.reporting_year, s.submitted_at.isoformat(), ruleset_version,
                  fastjson.dumps(plan.read_only_json()),
                  fastjson.dumps([f.model_dump(mode="json") for f in findings]),
                  datetime.now(UTC).isoformat())
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "INSERT INTO rules_assessments (submission_id, company_id, covenant, "
                "reporting_year, submitted_at, ruleset_version, plan_json, findings_json, "
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (submission_id) "
                "DO UPDATE SET ruleset_version = excluded.ruleset_version, "
                "findings_json = excluded.findings_json, recorded_at = excluded.recorded_at"
            ), values)


class NoHistory:
    """For evaluations outside the pipeline (`covenant check`): no earlier plans known."""

    def prior(self, plan: PlanSubmission) -> Prior:
        return Prior()

    def record(self, plan: PlanSubmission, findings: list[Finding], ruleset_version: str) -> None:
        return None
