import shutil

import pytest
from prometheus_client import CollectorRegistry

from services.rules.adapters.reloading import ReloadingEngine
from services.rules.factory import engine_from_folder
from services.shared.contracts import parse_plan
from services.shared.metrics import ServiceMetrics
from tests.support import ROOT, TEXTILE, example


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def setup(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    clock = Clock()
    metrics = ServiceMetrics.create("rules", CollectorRegistry())
    return rules, clock, metrics, ReloadingEngine(rules, engine_from_folder, metrics, interval=2.0,
                                                    clock=clock)


def rule_ids(engine):
    return {f.rule_id for f in engine.evaluate(parse_plan(example(TEXTILE)))}


def test_an_edited_rule_file_takes_effect_on_the_next_evaluation(setup):
    rules, clock, metrics, engine = setup
    before = engine.ruleset_version
    assert "DD6-GM-REACHES-SUPPLY-CHAIN-WORKERS" not in rule_ids(engine)
    path = rules / "dd6-remedy.yaml"
    path.write_text(path.read_text().replace("min_coverage_pct: 80", "min_coverage_pct: 86"))
    clock.now += 2.5
    assert "DD6-GM-REACHES-SUPPLY-CHAIN-WORKERS" in rule_ids(engine)
    assert engine.ruleset_version != before
    assert metrics.rule_reloads.labels("ok")._value.get() == 1


def test_an_edited_covenant_definition_takes_effect_in_the_rules_process_on_reload(setup):
    from services.shared import covenants, i18n

    rules, clock, metrics, engine = setup
    before = covenants.use(None)
    try:
        path = rules / "covenants" / "textile" / "covenant.yaml"
        path.write_text(path.read_text().replace("{nl: kleding en textiel,",
                                                 "{nl: \"kleding, schoenen en textiel\","))
        clock.now += 2.5
        rule_ids(engine)
        assert i18n.label("Covenant", "textile", "nl") == "kleding, schoenen en textiel"
        assert metrics.rule_reloads.labels("ok")._value.get() == 1
    finally:
        covenants.use(before)


def test_a_broken_edit_keeps_the_last_good_rule_set_and_is_counted_once(setup):
    rules, clock, metrics, engine = setup
    good = engine.ruleset_version
    expected = rule_ids(engine)
    (rules / "dd6-remedy.yaml").write_text("rules: [\n")
    for _ in range(3):
        clock.now += 2.5
        assert rule_ids(engine) == expected
    assert engine.ruleset_version == good
    assert metrics.rule_reloads.labels("failed")._value.get() == 1
    assert metrics.ruleset_loaded._value.get() == 0


def test_files_are_not_looked_at_more_often_than_the_interval(setup):
    rules, clock, _, engine = setup
    path = rules / "dd6-remedy.yaml"
    path.write_text(path.read_text().replace("min_coverage_pct: 80", "min_coverage_pct: 86"))
    clock.now += 1.0
    assert "DD6-GM-REACHES-SUPPLY-CHAIN-WORKERS" not in rule_ids(engine)
