"""The files under deploy/ agree with what the services really declare and expose."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from services.ingest.settings import IngestSettings
from services.notify.settings import NotifySettings
from services.rules.settings import RulesSettings
from services.shared.metrics import Metrics
from services.shared.topology import Topology
from tests.support import ROOT

DEPLOY = ROOT / "deploy"
# per-queue series of RabbitMQ's Prometheus plugin with return_per_object_metrics = true
RABBITMQ_METRICS = {"rabbitmq_queue_messages_ready", "rabbitmq_queue_consumers"}
SERVICES = {"ingest": IngestSettings, "rules": RulesSettings, "notify": NotifySettings}


def exposed_metrics() -> set[str]:
    registry = CollectorRegistry()
    Metrics(registry)
    names = set()
    for family in registry.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"],
                    "gauge": [""]}[family.type]
        names |= {family.name + s for s in suffixes}
    return names | RABBITMQ_METRICS


def metrics_in(expr: str) -> set[str]:
    return set(re.findall(r"\b((?:covenant|rabbitmq)_[a-z_]+)\b", expr))


def test_the_broker_definitions_are_the_topology_the_services_declare():
    committed = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    assert committed == Topology().definitions()


def test_the_alert_rules_cover_the_failures_operators_must_hear_of_and_use_real_metrics():
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    rules = {r["alert"]: r for g in groups for r in g["rules"]}
    assert {"DeadLetterQueueNotEmpty", "ConsumerMissing", "HandlingSlow", "NotificationsRefused",
            "NotificationsFailing", "RuleReloadFailed"} <= rules.keys()
    known = exposed_metrics()
    for name, rule in rules.items():
        used = metrics_in(rule["expr"])
        assert used and used <= known, (name, used - known)
        assert rule["labels"]["severity"] in {"page", "ticket"} and rule["annotations"]["summary"]


def test_every_dashboard_panel_queries_metrics_that_exist():
    dashboard = json.loads((DEPLOY / "grafana" / "dashboard.json").read_text())
    known = exposed_metrics()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used = metrics_in(target["expr"])
            assert used and used <= known, (panel["title"], used - known)


def manifests() -> list[dict]:
    return list(yaml.safe_load_all((DEPLOY / "k8s" / "services.yaml").read_text()))


def test_each_deployment_has_probes_on_the_operations_port_and_resource_requests():
    deployments = {d["spec"]["template"]["spec"]["containers"][0]["args"][0]: d
                   for d in manifests() if d["kind"] == "Deployment"}
    assert set(deployments) == set(SERVICES)
    for service, d in deployments.items():
        container = d["spec"]["template"]["spec"]["containers"][0]
        assert container["ports"] == [{"name": "metrics", "containerPort": 9100}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), service
        env = {e["name"] for e in container["env"]}
        assert env <= {name.upper() for name in SERVICES[service].model_fields}, service


def test_the_rules_come_from_configmaps_built_from_the_rules_folder():
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    generated = {g["name"]: {Path(f).name for f in g["files"]}
                 for g in kustomization["configMapGenerator"]}
    rules = {p.name for p in (ROOT / "rules").glob("*.yaml") if not p.name.endswith(".tests.yaml")}
    reference = {p.name for p in (ROOT / "rules" / "reference").iterdir() if p.is_file()}
    assert generated == {"covenant-rules": rules, "covenant-reference": reference}
    [rules_deployment] = [d for d in manifests()
                          if d["metadata"]["name"] == "covenant-rules"]
    [volume] = rules_deployment["spec"]["template"]["spec"]["volumes"]
    sources = volume["projected"]["sources"]
    assert sources[0]["configMap"]["name"] == "covenant-rules"
    assert {i["path"] for i in sources[1]["configMap"]["items"]} == {
        f"reference/{n}" for n in reference}


def test_compose_runs_the_three_services_with_settings_they_know():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    for name, settings in SERVICES.items():
        assert services[name]["command"] == [name]
        assert set(services[name]["environment"]) <= {f.upper() for f in settings.model_fields}
    mounts = " ".join(services["rabbitmq"]["volumes"])
    assert "definitions.json" in mounts and "enabled_plugins" in mounts
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins


def test_the_image_builds_durable_rules_with_a_compiler_and_runs_the_covenant_command():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "gcc" in dockerfile and 'ENTRYPOINT ["covenant"]' in dockerfile
    assert "USER covenant" in dockerfile and "RULES_DIR=/app/rules" in dockerfile
