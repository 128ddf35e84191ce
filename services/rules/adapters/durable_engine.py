"""The Engine port on durable-rules 2.0.28. All of the engine's sharp edges are handled here
(see ../shared/notes/durable-rules.md and the regression tests in tests/unit/test_engine.py):

- every evaluation runs under a fresh sid whose state is deleted afterwards, also on failure
  (the engine keeps at most 1,024 live states per ruleset);
- facts are asserted one by one and "not handled" is normal, not an error;
- facts of kinds that rules negate are asserted first (negation is decided eagerly);
- fields named `id`/`sid` never reach the engine (renamed by `core/facts.py`);
- compiled definitions are deep-copied before registration (the engine deletes `run` keys);
- an exception inside an action is reported by the engine in the returned state: it is
  turned into an EvaluationError naming the rule;
- engine exceptions carry the whole fact: they are never logged or re-raised with it;
- facts per state are bounded below the engine's ~46,000 per sid: a larger plan's long lists
  are spread over several states (`shards`), their facts parked compressed until their state
  is asserted (`parking.py`, `_assert_rulesets`).
"""

import contextlib
import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any, Literal

import durable.engine as engine
import durable_rules_engine

from services.rules.adapters.parking import Parked
from services.rules.adapters.pattern_probe import engine_patterns, unsafe_patterns
from services.rules.adapters.rulefiles import RuleFileError
from services.rules.core.compiler import (
    MATCHED,
    OUTCOME_KIND,
    SENTINEL_KIND,
    CompiledRuleset,
    Derived,
    compile_rulesets,
    engine_rule,
    reads_outcomes,
)
from services.rules.core.domain import Match, RuleBook, as_of, finding_of, ordered, owner_of
from services.rules.core.facts import (
    Derivation,
    Fact,
    derive,
    measure_facts,
    plan_facts,
    prior_facts,
    stamp,
    submission_values,
)
from services.rules.core.language import Join, RuleSpec
from services.rules.core.prior import Prior
from services.rules.core.reference import countries_named
from services.rules.core.vocabulary import SHARD_KEYS, parts_of, spread_parts
from services.rules.ports import EvaluationError
from services.shared import collector, covenants, fastjson
from services.shared.contracts import Finding, PlanSubmission
from services.shared.contracts.messages import SECRETARIAT_RULE
from services.shared.logging import get_logger

# durable-rules refuses distinct facts after about 46,000 in one state (MessageObservedException).
# Smaller states also make the engine's id-hash collisions (below) rarer: for N facts split into
# states of n the chance is about N*n / 2^33 (a 50,000-financing plan at 20,000: ~12%, retried).
MAX_FACTS_PER_RULESET = 20_000
# durable checks each new fact a negated pattern matches against those of the pattern it already
# holds in the state: a rule that negates a plan's parts (no active location that dyes) costs
# about n^2 over a state of n of them (one such rule: 13 us a fact beside 1,000 others, 45 us
# beside 16,000). A ruleset with such a rule is spread over states of about this many facts
# of parts once it has more; but every state repeats the shared facts, so a state holds at
# least PARTS_PER_SHARED times as many facts of parts as shared ones (a bank's 4,000 clients
# in each of 22 states made 50,000 financings a third slower, not faster).
NEGATED_PARTS_PER_STATE = 2_500
PARTS_PER_SHARED = 4
# A plan's facts of spread parts are held as dicts up to this many (about 50 MB); past it they
# are parked (parking.py): about 20 bytes a fact instead of 500, for about 3 us a fact to
# pickle, compress and read back again (a tenth of a bank's evaluation). A bank of 50,000
# financings (87,500 such facts) stays below; a million's 1.75 million took 0.9 GB as dicts.
PARK_FACTS_AT = 100_000
log = get_logger()
# The engine knows a fact in a state only by a 32-bit FNV-1 hash of its id (state.c,
# storeMessage/GET_FIRST compare hashes only), so distinct facts collide with probability about
# n^2 / 2^33 per evaluation: ~1% at 10,000 facts. Every fact here is distinct (unique pointers),
# so "already observed" is always such a false duplicate; the sid is part of the hashed content,
# so asserting the batch again under a fresh sid gives every fact a new hash. The matches of
# the attempt that collided are dropped: the next attempt makes them again.
ATTEMPTS_ON_FALSE_DUPLICATE = 3
# the field that gives an asserted fact's place among those of its state (the engine is given
# the fields its conditions read; a rule's action takes the whole fact from there)
FACT_INDEX = "fact__index"


class _FalseDuplicate(Exception):
    pass


# the result codes of durable_rules_engine.assert_fact (rules.h; durable's
# Ruleset._handle_result). DEFERRED: the fact's state had an action under way, so the fact waits
# for it; that cannot happen here, where every assertion runs its actions to their end before
# the next, but it is handled as durable handles it.
_NOT_HANDLED, _OBSERVED, _DEFERRED = 1, 2, 3
NOT_TAKEN = object()
_encode = fastjson.dumps


class _Host(engine.Host):
    """durable's Host without its two background timer chains. `Host._run` starts them and
    they never end: each wakes every ruleset in turn on a new `threading.Timer` thread (about
    80 threads a second per host with the bundled rules), holding the host, so a discarded
    engine (a hot reload, a case with its own parameters) keeps burning CPU forever (10 idle
    engines: 12% of a core). They serve what this adapter never uses: queued posts between
    rulesets, durable timers and actions completed later; every evaluation here runs to its
    end on the calling thread."""

    def _run(self) -> None:
        pass

    def assert_one(self, ruleset: str, fact: Fact) -> Any:
        """`Host.assert_fact` for one fact, with its rules' actions run, as durable does it,
        less what a plain use spends around the engine: a fact no rule takes (two in five on
        a small plan) returns NOT_TAKEN, where durable raises an exception that encodes the
        fact again; the fact is encoded by orjson where it can (`fastjson`: the same values
        as durable's `json.dumps`, in a ninth of the time). A false duplicate raises
        _FalseDuplicate; a failed action, its error. Returns the state the actions left."""
        rules = self._ruleset_directory[ruleset]
        code, handle = durable_rules_engine.assert_fact(rules._handle, _encode(fact))
        if code == _NOT_HANDLED:
            return NOT_TAKEN
        if code == _OBSERVED:
            raise _FalseDuplicate()
        done: list[Any] = [None, 0]  # as durable's: (no error, state 0) unless called back

        def called_back(error: Any, state: Any) -> None:
            done[:] = error, state

        rules.do_actions(0 if code == _DEFERRED else handle, called_back)
        if done[0]:
            raise done[0]
        return done[1]


# The engine's parser once refused, in one CI run, rulesets it took in every run before and
# after ("Could not create ruleset, error code: 102", a string it could not read; never seen
# again in thousands of engines since): such a refusal is tried again on a fresh host.
PARSE_ERROR = "error code: 102"
ATTEMPTS_ON_PARSE_ERROR = 3


def _hosted(definitions: dict[str, Any]) -> _Host:
    """A host with the rulesets registered; on the parser's spurious refusal, a fresh one."""
    attempt = 1
    while True:
        host = _Host()
        try:
            # the engine deletes each rule's `run` key, and changes nothing else: hand it
            # copies of the rules (a deep copy was a tenth of a cold `covenant check`)
            host.set_rulesets({name: {rule: dict(body) for rule, body in ruleset.items()}
                               for name, ruleset in definitions.items()})
            return host
        except durable_rules_engine.error as e:
            if PARSE_ERROR not in str(e) or attempt == ATTEMPTS_ON_PARSE_ERROR:
                raise
            log.warning("engine refused a ruleset it reads otherwise; on a fresh host again",
                        attempt=attempt)
            attempt += 1


class DurableRulesEngine:
    def __init__(self, rulebook: RuleBook, only: Iterable[str] | None = None):
        """`only`: compile the rulesets of these covenants alone (a `covenant check` of one
        plan needs one covenant's; the services compile every covenant's, so that a rule set
        that cannot start is refused when it is loaded, not at the first plan)."""
        self.rulebook = rulebook
        self._only = None if only is None else frozenset(only)
        self._host = _Host()
        # sid -> (the plan's owner, the findings of the state, each with whether its rule
        # alternative must hold in every state (`combined`), the facts asserted in it)
        self._runs: dict[str, tuple[str, list[tuple[bool, Finding]], list[Fact]]] = {}
        self._lock = threading.Lock()
        self._rulesets: dict[str, list[CompiledRuleset]] = {}  # covenant -> its rulesets
        self._reads: dict[str, frozenset[str]] = {}  # fact kinds any rule reads
        # covenant -> its rules that compute measures; that are evaluated first (read no
        # outcomes): asked for every plan, worked out once
        self._measuring: dict[str, list[RuleSpec]] = {}
        self._first: dict[str, list[RuleSpec]] = {}
        self._measured: dict[str, frozenset[str]] = {}  # covenant -> the kinds measures count
        self._derived: dict[str, dict[str, frozenset[Derived]]] = {}  # kind -> fields
        self._splittable: dict[str, bool] = {}  # ruleset -> may its facts be sharded
        self._negates_parts: dict[str, bool] = {}  # ruleset -> does a rule negate sharded parts
        self._fields: dict[str, frozenset[str]] = {}  # ruleset -> the fields its rules read
        with covenants.using(rulebook.covenants):  # the parts they declare (a reload's new)
            definitions = self._compile(rulebook)
        _refuse_unsafe_patterns(definitions)
        if definitions:
            self._host = _hosted(definitions)

    def _compile(self, rulebook: RuleBook) -> dict[str, Any]:
        """Each covenant's rulesets, its parts read as it declares them."""
        definitions: dict[str, Any] = {}
        for covenant in rulebook.covenants.names:
            if self._only is not None and covenant not in self._only:
                continue
            with parts_of(covenant):
                definitions.update(self._compile_covenant(rulebook, covenant))
        return definitions

    def _compile_covenant(self, rulebook: RuleBook, covenant: str) -> dict[str, Any]:
        """One covenant's rulesets, as the engine takes them; what each reads, noted."""
        definitions: dict[str, Any] = {}
        by_id = rulebook.of_covenant(covenant)  # with the covenant's parameters
        compiled = compile_rulesets(covenant, list(by_id.values()))
        for ruleset in compiled:
            definitions[ruleset.name] = {
                name: {**rule, "run": self._action(by_id[engine_rule(name)[0]],
                                                   *engine_rule(name)[1:])
                       if engine_rule(name)[0] in by_id else _ignore}
                for name, rule in ruleset.rules.items()
            }
        self._rulesets[covenant] = compiled
        rules = rulebook.in_scope(covenant)
        for ruleset in compiled:
            self._fields[ruleset.name] = fields_read(ruleset.rules)
            mine = [r for r in rules if r.id in ruleset.rules]
            self._splittable[ruleset.name] = splittable(mine)
            self._negates_parts[ruleset.name] = any(
                j.part in SHARD_KEYS for r in mine for m in r.matches for j in m.without)
        self._reads[covenant] = frozenset().union(
            *(rs.kinds for rs in compiled),
            (m.of for r in rules for _, m in r.measures()))
        self._measuring[covenant] = [r for r in rules if r.measures()]
        self._measured[covenant] = frozenset(m.of for r in rules for _, m in r.measures())
        self._first[covenant] = [r for r in rules if not reads_outcomes(r)]
        derived: dict[str, set[Derived]] = {}
        for ruleset in compiled:
            for kind, names in ruleset.derived.items():
                derived.setdefault(kind, set()).update(names)
        self._derived[covenant] = {k: frozenset(v) for k, v in derived.items()}
        return definitions

    @property
    def ruleset_version(self) -> str:
        return self.rulebook.version

    def due_on(self, covenant: str, reporting_year: int) -> date | None:
        return self.rulebook.covenants.due_on(covenant, reporting_year)

    def facts(self, plan: PlanSubmission, prior: Prior | None = None) -> list[Fact]:
        """Every fact of one evaluation as the engine is given it: the sentinel, the plan's,
        the reference data's, the company's history and the measures', with the fields the
        rules derive from them. All at once, for the tools and tests: an evaluation holds the
        facts of the spread parts parked (`_gather`)."""
        with parts_of(plan.covenant):
            facts = self._facts(plan, prior)
            derive(facts, self._derived[plan.covenant], submission_values(plan))
            return facts

    def _facts(self, plan: PlanSubmission, prior: Prior | None) -> list[Fact]:
        """The facts of one evaluation, without derived fields: those every state needs, then
        the spread parts'."""
        shared, parked = self._gather(plan, prior)
        return shared + [fact for group in parked.groups() for fact in group]

    def _gather(self, plan: PlanSubmission, prior: Prior | None) -> tuple[list[Fact], Parked]:
        """The facts of one evaluation, made in one pass, without derived fields (added to each
        fact as it is asserted, `_assert_all`): those every engine state needs, and the spread
        parts' (SHARD_KEYS), parked once they are more than PARK_FACTS_AT. The countries
        the facts name and the facts the measures count are noted as they pass."""
        covenant = plan.covenant
        reads = self._reads[covenant]
        keys = dict(SHARD_KEYS)  # the covenant's, read once: twice for each fact
        shared: list[Fact] = [{"kind": SENTINEL_KIND, "pointer": ""}]
        parked = Parked(keys, spill_at=PARK_FACTS_AT, parts=lambda: spread_parts(plan))
        measured_kinds = self._measured[covenant]
        measured: list[Fact] = []
        named: set[str] = set()

        def take(facts: Iterable[Fact]) -> None:
            for chunk in _batched(facts, 1_024):
                self.rulebook.reference.annotate(chunk)
                named.update(countries_named(chunk))
                for fact in chunk:
                    if fact["kind"] in measured_kinds:
                        measured.append(fact)
                    if fact["kind"] in keys:
                        parked.add(fact)
                    else:
                        shared.append(fact)

        take(plan_facts(plan, reads))
        take(f for f in prior_facts(prior or Prior(), as_of(plan), covenant) if f["kind"] in reads)
        take(self.rulebook.reference.facts_for(plan, named, self.rulebook.covenants[covenant]))
        shared += measure_facts(self._measuring[covenant], measured, as_of(plan),
                                submission_values(plan))
        return shared, parked

    def evaluate(self, plan: PlanSubmission, prior: Prior | None = None) -> list[Finding]:
        # its parts as its covenant declares them; the garbage collector paused (the services
        # pause it around every message, this for a `covenant check` and the console too)
        with parts_of(plan.covenant), collector.paused():
            return self._evaluate(plan, prior)

    def _evaluate(self, plan: PlanSubmission, prior: Prior | None) -> list[Finding]:
        if plan.covenant not in self._rulesets:
            raise EvaluationError(f"this engine was built without the rules of covenant "
                                  f"{plan.covenant}")
        shared, parked = self._gather(plan, prior)
        owner, found = owner_of(plan), list[Finding]()
        submission = submission_values(plan)
        with self._lock:
            for late in (False, True):
                if late:
                    shared = shared + self._outcome_facts(plan, found)
                rulesets = [rs for rs in self._rulesets[plan.covenant] if rs.late == late]
                found += self._assert_rulesets(rulesets, shared, parked, owner, submission)
        return ordered(found)

    def _assert_rulesets(self, rulesets: list[CompiledRuleset], shared: list[Fact],
                         parked: Parked, owner: str, submission: dict[str, Any]
                         ) -> list[Finding]:
        """The findings of these rulesets: each given the shared facts it reads and the spread
        parts' it reads, a group at a time (`Parked.groups`), packed into a state until it is
        full (`assertion_batches` spreads each further where its rules need smaller states);
        a ruleset that reads no spread kind, or may not be spread, in one."""
        states: dict[str, list[list[tuple[bool, Finding]]]] = {rs.name: [] for rs in rulesets}
        pending: dict[str, list[Fact]] = {rs.name: [] for rs in rulesets}
        derivations = {rs.name: Derivation(rs.derived, submission) for rs in rulesets}
        kinds = {rs.name: rs.kinds for rs in rulesets}
        spreading = [rs for rs in rulesets if not kinds[rs.name].isdisjoint(SHARD_KEYS)]
        room = {rs.name: MAX_FACTS_PER_RULESET - sum(f["kind"] in kinds[rs.name] for f in shared)
                if self._splittable[rs.name] else None for rs in spreading}

        def flush(ruleset: CompiledRuleset) -> None:
            states[ruleset.name] += [
                self._assert_batch(ruleset, batch, owner, derivations[ruleset.name])
                for batch in self.assertion_batches(ruleset, shared + pending[ruleset.name])]
            pending[ruleset.name] = []

        for group in parked.groups() if spreading else ():
            for ruleset in spreading:
                reads = kinds[ruleset.name]
                mine = [f for f in group if f["kind"] in reads]
                held, limit = pending[ruleset.name], room[ruleset.name]
                if held and limit is not None and len(held) + len(mine) > limit:
                    flush(ruleset)
                pending[ruleset.name] += mine
        for ruleset in rulesets:
            if pending[ruleset.name] or not states[ruleset.name]:
                flush(ruleset)
        return [f for rs in rulesets for f in combined(states[rs.name])]

    def outcome_facts(self, plan: PlanSubmission, findings: list[Finding]) -> list[Fact]:
        """A `rule_outcome` fact per rule in force on the plan and evaluated first: whether it
        found something (`fails`). Read by the rules evaluated after the others. The findings
        the secretariat added in its review have no rule that could pass: they count as
        failing again, so they are always asked about. As the engine is given them."""
        facts = self._outcome_facts(plan, findings)
        derive(facts, self._derived[plan.covenant], submission_values(plan))
        return facts

    def _outcome_facts(self, plan: PlanSubmission, findings: list[Finding]) -> list[Fact]:
        failing = {f.rule_id for f in findings}
        outcomes = [(r.id, r.id in failing) for r in self._first[plan.covenant]
                    if r.in_force(as_of(plan))]
        facts = [stamp({"kind": OUTCOME_KIND, "rule_id": rule_id, "fails": fails,
                        "pointer": ""}, as_of(plan), plan.covenant)
                 for rule_id, fails in [*outcomes, (SECRETARIAT_RULE, True)]]
        return facts

    def _assert_batch(self, ruleset: CompiledRuleset, batch: list[Fact], owner: str,
                      derivation: Derivation) -> list[tuple[bool, Finding]]:
        """One batch under a fresh sid, freed afterwards; again under a new sid on a false
        duplicate. Its findings, each with whether it must hold in every state."""
        for _ in range(ATTEMPTS_ON_FALSE_DUPLICATE):
            sid = uuid.uuid4().hex
            found: list[tuple[bool, Finding]] = []
            self._runs[sid] = (owner, found, batch)
            try:
                self._assert_all(ruleset, sid, batch, derivation)
                return found
            except _FalseDuplicate:
                log.info("engine id-hash collision; asserting the batch again under a new sid")
            finally:
                del self._runs[sid]
                self._delete_state(ruleset.name, sid)
        raise EvaluationError(f"the engine reported false duplicates {ATTEMPTS_ON_FALSE_DUPLICATE} "
                              "times in a row")

    def assertion_batches(self, ruleset: CompiledRuleset,
                          facts: list[Fact]) -> list[list[Fact]]:
        """The ruleset's facts in assertion order, split over several states when there are
        more than one state may hold (see `shards`)."""
        rank = {kind: i for i, kind in enumerate(ruleset.order)}
        needed = [f for f in facts if f["kind"] in rank]
        allowed = self._splittable[ruleset.name]
        if allowed and self._negates_parts[ruleset.name] and \
                len(needed) > NEGATED_PARTS_PER_STATE:
            parts = shards(needed, MAX_FACTS_PER_RULESET, allowed, ruleset.name,
                           parts_per_state=NEGATED_PARTS_PER_STATE)
        elif len(needed) > MAX_FACTS_PER_RULESET:
            parts = shards(needed, MAX_FACTS_PER_RULESET, allowed, ruleset.name)
        else:
            parts = [needed]
        return [sorted(part, key=lambda f: rank[f["kind"]]) for part in parts]

    def _assert_all(self, ruleset: CompiledRuleset, sid: str, needed: list[Fact],
                    derivation: Derivation) -> None:
        """Each fact as the engine needs it: the fields the ruleset's conditions read, those
        they derive from it (made here, not kept), and its place in `needed`, where the
        actions find it whole (for messages and keys)."""
        read = self._fields[ruleset.name]
        for i, fact in enumerate(needed):
            lean = {name: value for name, value in fact.items() if name in read}
            derivation.add_to(fact, lean)
            lean[FACT_INDEX], lean["sid"] = i, sid
            try:
                state = self._host.assert_one(ruleset.name, lean)
            except _FalseDuplicate:
                raise
            except Exception as e:  # the engine puts the whole fact in its exceptions
                raise EvaluationError(
                    f"the engine refused a {fact['kind']} fact in {ruleset.name}: "
                    f"{type(e).__name__}") from None
            if isinstance(state, dict) and state.get("exception"):
                raise EvaluationError(f"a rule action failed in {ruleset.name} on a "
                                      f"{fact['kind']} fact")

    def _delete_state(self, ruleset: str, sid: str) -> None:
        # raises when no state was created for this sid: then there is nothing to free
        with contextlib.suppress(Exception):
            self._host.delete_state(ruleset, sid)

    def _action(self, rule: Any, alternative: int, escalation: int | None
                ) -> Callable[[Any], None]:
        raised = None if escalation is None else rule.escalate[escalation]
        joins = [*rule.matches[alternative].with_, *(raised.with_ if raised else [])]
        aliases = [j.alias for j in joins]
        every = locality(rule, alternative) == "every"

        def run(c: Any) -> None:
            owner, found, asserted = self._runs[c.s.sid]
            match = Match(rule, dict(asserted[getattr(c, MATCHED)._d[FACT_INDEX]]),
                          {a: dict(asserted[getattr(c, a)._d[FACT_INDEX]]) for a in aliases},
                          raised, alternative)
            found.append((every, finding_of(match, owner)))

        return run


def fields_read(definitions: dict[str, Any]) -> frozenset[str]:
    """The top-level fields the compiled conditions of a ruleset test and join on (a path
    `a.b` reads `a`), and, harmlessly, their aliases and values. A fact's other fields are
    left out of what the engine is given: it encodes and parses every field of every fact."""
    names: set[str] = {"kind"}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key != "run":
                    names.update(() if key.startswith("$") else (key.split(".")[0],))
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            names.add(node.split(".")[0])

    walk(definitions)
    return frozenset(names)


def _refuse_unsafe_patterns(definitions: dict[str, Any]) -> None:
    """Raises RuleFileError, naming the rules, for patterns the engine cannot compile in
    bounded time (adapters/pattern_probe.py): this process never tries them."""
    unsafe = unsafe_patterns(engine_patterns(definitions))
    if not unsafe:
        return
    problems = []
    for pattern, why in unsafe.items():
        rules = sorted({engine_rule(name)[0] for ruleset in definitions.values()
                        for name, rule in ruleset.items() if pattern in engine_patterns(rule)})
        problems.append(f"rule {', '.join(rules)}: pattern '{pattern}': {why}")
    raise RuleFileError("; ".join(problems))


def _batched(facts: Iterable[Fact], n: int) -> Iterator[list[Fact]]:
    """The facts in lists of n (the last shorter); itertools.batched from Python 3.12."""
    it = iter(facts)
    while chunk := list(itertools.islice(it, n)):
        yield chunk


def _ignore(c: Any) -> None:
    """The sentinel rule's action: nothing to record."""


# --- plans larger than one engine state ---------------------------------------------------
# A fact of a shardable kind (vocabulary.SHARD_KEYS: a financing, a production location, their
# links and remembered copies) belongs to the part its key names. When a ruleset's facts
# exceed MAX_FACTS_PER_RULESET, the parts are spread over several states by their key, and
# every other fact goes into every state. Each alternative of a rule then reads as one of:
#   local: its subject belongs to a part, and every shardable part it joins or negates is
#          joined on that part's key: all it reads is in the subject's state;
#   any:   its subject is in every state and it joins shardable parts only positively (one,
#          or several joined to each other on the key): it holds where its match is;
#   every: its subject is in every state and it only negates shardable parts: an absence
#          holds when it holds in every state.
# Anything else (a shared subject that both joins and negates shardable parts, a join off the
# key) cannot be spread: that ruleset's facts must fit one state.
Locality = Literal["local", "any", "every"]


def locality(rule: RuleSpec, alternative: int) -> Locality | None:
    """How an alternative of a rule reads when the facts are spread (see above); None when it
    cannot be. Read inside `parts_of(covenant)`."""
    keys = SHARD_KEYS
    when = rule.matches[alternative]
    positive = [*when.with_, *(j for e in rule.escalate for j in e.with_)]
    if subject_key := keys.get(when.subject, ""):
        anchors = {subject_key}
        for join in positive:  # a part joined on the key anchors the joins after it
            if join.part in keys and _on_key(join, anchors):
                anchors.add(f"{join.alias}.{keys[join.part]}")
        return "local" if all(join.part not in keys or _on_key(join, anchors)
                              for join in [*positive, *when.without]) else None
    joined = [j for j in positive if j.part in keys]
    negated = [j for j in when.without if j.part in keys]
    if negated:
        return None if joined else "every"
    anchors = {f"{joined[0].alias}.{keys[joined[0].part]}"} if joined else set()
    return "any" if all(_on_key(j, anchors) for j in joined[1:]) else None


def _on_key(join: Join, anchors: set[str]) -> bool:
    """Is the joined part joined on its key to one of `anchors` (fields holding the key)?"""
    return join.join.get(SHARD_KEYS[join.part]) in anchors


def splittable(rules: Iterable[RuleSpec]) -> bool:
    return all(locality(r, i) is not None for r in rules for i in range(len(r.matches)))


def combined(states: list[list[tuple[bool, Finding]]]) -> list[Finding]:
    """The findings of one ruleset over its states: an `every` alternative's (flagged True)
    only where all states report it."""
    if len(states) == 1:
        return [f for _, f in states[0]]
    held = set.intersection(*({f.finding_id for every, f in state if every}
                              for state in states))
    return [f for state in states for every, f in state if not every or f.finding_id in held]


def shards(facts: list[Fact], limit: int, allowed: bool, ruleset: str,
           parts_per_state: int | None = None) -> list[list[Fact]]:
    """The facts over as few states as hold them: the shared ones in each, each part's (the
    facts its key names) together in one, parts packed in their order until a state is full.
    A part with more facts than fit beside the shared ones (none does in a realistic plan)
    gets a state of its own, larger than `limit`: the engine's own limit is twice as high.
    `parts_per_state`: a state is full at this many facts of parts, or at PARTS_PER_SHARED
    times the shared ones when that is more (NEGATED_PARTS_PER_STATE), if `limit` allows."""
    if not allowed:
        raise EvaluationError(
            f"the plan gives {ruleset} {len(facts):,} facts, more than the engine's "
            f"{limit:,} per state, and its rules cannot read them spread over several states")
    keys = dict(SHARD_KEYS)  # the covenant's, read once: twice for each of a plan's facts
    shared = [f for f in facts if f["kind"] not in keys]
    room = limit - len(shared)
    if room <= 0:
        raise EvaluationError(
            f"the plan gives {ruleset} {len(shared):,} facts that every state needs, which "
            f"leaves no room in the engine's {limit:,} per state for the rest")
    if parts_per_state is not None:
        room = min(room, max(parts_per_state, PARTS_PER_SHARED * len(shared)))
    parts: dict[str, list[Fact]] = {}
    for fact in facts:
        if fact["kind"] in keys:
            parts.setdefault(repr(fact.get(keys[fact["kind"]])), []).append(fact)
    states: list[list[Fact]] = [[]]
    for part in parts.values():
        if states[-1] and len(states[-1]) + len(part) > room:
            states.append([])
        states[-1] += part
    return [shared + state for state in states]
