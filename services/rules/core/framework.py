"""A covenant's assessment framework as data (`rules/covenants/<name>/framework.yaml`), and the
score sheet it gives a plan.

The framework groups the covenant's rules into topics with weights. Each rule in scope is a
criterion of its topic, worth `points` by severity: the highest severity among its findings
when it has any, else the rule's own. A criterion is met when no finding of its rule stands
(for a final review: none was confirmed). A topic's score is the share of its points met; the
plan's score is the weighted mean of its topics, as a percentage. The secretariat's own
findings are unmet criteria of the topic the framework names for them.

The category is the first of the framework's categories whose minimum score, for the
company's year of membership, the plan reaches and which no finding blocks (a confirmed
critical finding blocks "meets the requirements"). AGT reported pass marks of 20%, 40% and 60%
for years 1 to 3: they are the textile framework's parameters, not code.
"""

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.shared.contracts import Severity
from services.shared.contracts.messages import SECRETARIAT_RULE

RulePattern = Annotated[str, Field(pattern=r"^[A-Z0-9*]+(-[A-Z0-9*]+)*$",
                                   description="a rule id, or a pattern with * (DD1-*)")]


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    weight: float = Field(gt=0, description="its share of the score, relative to the others")
    rules: list[RulePattern] = Field(min_length=1, description="the rules it scores; a rule "
                                     "matched by several topics belongs to the first")


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    min_score: dict[int, float] = Field(
        min_length=1, description="year of membership -> the lowest score (0-100) of this "
        "category; a later year than any listed uses the last one")
    blocked_by: list[Severity] = Field(
        default_factory=list, description="a standing finding of one of these severities keeps "
        "a plan out of this category")

    def minimum(self, membership_year: int) -> float:
        years = sorted(self.min_score)
        known = [y for y in years if y <= membership_year]
        return self.min_score[known[-1] if known else years[0]]


class FrameworkSpec(BaseModel):
    """One covenant's assessment framework as written; `Framework` is one that is also
    consistent (lint reports each inconsistency at its place: `problems`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    covenant: str
    name: Text
    source: str = Field(min_length=1, description="where the framework and its numbers come "
                        "from, and what is this project's own choice")
    points: dict[Severity, float] = Field(description="a criterion's points by severity")
    topics: list[Topic] = Field(min_length=1)
    unscored: list[RulePattern] = Field(
        default_factory=list, description="rules deliberately outside the score")
    secretariat_topic: str = Field(description="the topic of the secretariat's own findings")
    categories: list[Category] = Field(min_length=1, description="in order: a plan's "
                                       "category is the first it qualifies for")

    def problems(self) -> list[tuple[tuple[Any, ...], str]]:
        """(where, what) of every inconsistency; `where` is a path into the document."""
        found: list[tuple[tuple[Any, ...], str]] = []
        ids = [t.id for t in self.topics]
        found += [(("topics", i, "id"), f"topic '{t}' is given twice")
                  for i, t in enumerate(ids) if t in ids[:i]]
        if self.secretariat_topic not in ids:
            found.append((("secretariat_topic",),
                          f"secretariat_topic '{self.secretariat_topic}' is not a topic"))
        if set(self.points) != set(Severity):
            found.append((("points",), "points needs a value for every severity: "
                          + ", ".join(s.value for s in Severity)))
        last = len(self.categories) - 1
        if any(v != 0 for v in self.categories[last].min_score.values()) \
                or self.categories[last].blocked_by:
            found.append((("categories", last), f"the last category "
                          f"('{self.categories[last].id}') must take every plan: min_score 0 "
                          "and nothing blocking"))
        for i, c in enumerate(self.categories):
            if any(not 0 <= v <= 100 for v in c.min_score.values()):
                found.append((("categories", i, "min_score"),
                              f"category '{c.id}': a min_score is a percentage, 0-100"))
            if any(y < 1 for y in c.min_score):
                found.append((("categories", i, "min_score"),
                              f"category '{c.id}': years of membership start at 1"))
        return found


class Framework(FrameworkSpec):
    """A consistent assessment framework."""

    @model_validator(mode="after")
    def _consistent(self) -> "Framework":
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(message for _, message in problems))
        return self

    def topic_of(self, rule_id: str) -> str | None:
        """The topic a rule counts under; None when it is unscored or in no topic."""
        if rule_id == SECRETARIAT_RULE:
            return self.secretariat_topic
        if any(fnmatch.fnmatchcase(rule_id, p) for p in self.unscored):
            return None
        return next((t.id for t in self.topics
                     if any(fnmatch.fnmatchcase(rule_id, p) for p in t.rules)), None)


@dataclass(frozen=True)
class Standing:
    """A finding that stands: the automatic one, or what a final review confirmed."""

    rule_id: str
    severity: Severity
    finding_id: str = ""


@dataclass(frozen=True)
class TopicScore:
    id: str
    name: Text
    weight: float
    score: float  # 0-100
    met: int  # criteria met
    criteria: int


@dataclass(frozen=True)
class ScoreSheet:
    framework: str  # its covenant
    score: float  # 0-100
    category: str
    category_name: Text
    membership_year: int
    topics: list[TopicScore]
    blocked: list[Severity] = field(default_factory=list)  # what kept it out of a category


def membership_year(reporting_year: int, joined_year: int) -> int:
    """1 for a plan of the year the company joined (or earlier), 2 the year after, ..."""
    return max(1, reporting_year - joined_year + 1)


def score(framework: Framework, criteria: Mapping[str, Severity],
          standing: Iterable[Standing], year: int) -> ScoreSheet:
    """The score sheet of a plan. `criteria`: the rules in scope with their own severities;
    `standing`: the findings that stand; `year`: the company's year of membership."""
    standing = list(standing)
    worst: dict[str, Severity] = {}
    for f in standing:
        if f.rule_id not in worst or f.severity.rank < worst[f.rule_id].rank:
            worst[f.rule_id] = f.severity
    per_topic: dict[str, list[tuple[float, bool]]] = {t.id: [] for t in framework.topics}
    for rule_id, own in criteria.items():
        topic = framework.topic_of(rule_id)
        if topic is not None:
            per_topic[topic].append((framework.points[worst.get(rule_id, own)],
                                     rule_id not in worst))
    for f in standing:  # each of the secretariat's findings: a criterion not met
        if f.rule_id == SECRETARIAT_RULE:
            per_topic[framework.secretariat_topic].append((framework.points[f.severity], False))
    topics = []
    for t in framework.topics:
        items = per_topic[t.id]
        total = sum(p for p, _ in items)
        met = sum(p for p, ok in items if ok)
        topics.append(TopicScore(t.id, t.name, t.weight,
                                 100.0 * met / total if total else 100.0,
                                 sum(ok for _, ok in items), len(items)))
    weights = sum(t.weight for t in topics)
    overall = round(sum(t.weight * t.score for t in topics) / weights, 1)
    severities = {f.severity for f in standing}
    blocked: list[Severity] = []
    for category in framework.categories:
        stops = [s for s in category.blocked_by if s in severities]
        if overall >= category.minimum(year) and not stops:
            return ScoreSheet(framework.covenant, overall, category.id, category.name, year,
                              topics, blocked)
        blocked += [s for s in stops if s not in blocked]
    raise AssertionError("the last category takes every plan")  # the model ensures it


def standing_of(findings: Iterable[Mapping[str, Any]]) -> list[Standing]:
    """Findings (the shape of `Finding`) as standing findings."""
    return [Standing(f["rule_id"], Severity(f["severity"]), f["finding_id"]) for f in findings]
