"""The files under deploy/ agree with what the services really declare and expose, and pass
the tools an operator would run on them: docker-compose's parser, a Kubernetes schema with the
"restricted" Pod Security Standard, and promtool's unit tests of the alerts. Those tools come
from Debian's packages (.ci/run installs them); without them, under CI=true, the checks fail
rather than skip."""

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from services.ingest.settings import IngestSettings
from services.notify.settings import NotifySettings
from services.rules.settings import RulesSettings
from services.shared.metrics import Metrics
from services.shared.topology import Topology
from tests.support import ROOT, missing

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
    assert set(deployments) == {*SERVICES, "console"}
    deployments.pop("console")  # serves HTTP, not metrics: below
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
                 for g in kustomization["configMapGenerator"] if g["name"] != "covenant-covenants"}
    rules = {p.name for p in (ROOT / "rules").glob("*.yaml") if not p.name.endswith(".tests.yaml")}
    reference = {p.name for p in (ROOT / "rules" / "reference").iterdir() if p.is_file()}
    assert generated == {"covenant-rules": rules, "covenant-reference": reference}
    [rules_deployment] = [d for d in manifests() if d["kind"] == "Deployment"
                          and d["metadata"]["name"] == "covenant-rules"]
    [volume] = [v for v in rules_deployment["spec"]["template"]["spec"]["volumes"]
                if v["name"] == "rules"]
    sources = volume["projected"]["sources"]
    assert sources[0]["configMap"]["name"] == "covenant-rules"
    assert {i["path"] for i in sources[1]["configMap"]["items"]} == {
        f"reference/{n}" for n in reference}


def test_every_service_reads_the_covenant_definitions_of_the_rules_folder():
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    [generator] = [g for g in kustomization["configMapGenerator"]
                   if g["name"] == "covenant-covenants"]
    keys = dict(f.split("=", 1) for f in generator["files"])
    covenants = ROOT / "rules" / "covenants"
    files = {p.relative_to(covenants).as_posix() for p in covenants.rglob("*") if p.is_file()}
    assert {Path(f).relative_to("../../rules/covenants").as_posix() for f in keys.values()} \
        == files
    pods = [d["spec"]["template"]["spec"] for d in manifests() if d["kind"] == "Deployment"]
    pods += [c["spec"]["jobTemplate"]["spec"]["template"]["spec"] for c in manifests()
             if c["kind"] == "CronJob"]
    for pod in pods:
        [container] = pod["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        [volume] = [v for v in pod["volumes"] if v["name"] == "rules"]
        [source] = [s["configMap"] for s in volume["projected"]["sources"]
                    if s["configMap"]["name"] == "covenant-covenants"]
        assert env["RULES_DIR"] == mounts["rules"] == "/app/rules"
        assert {i["path"] for i in source["items"]} == {f"covenants/{f}" for f in files}
        for item in source["items"]:  # each key lands where its file is in rules/
            assert Path("../../rules") / item["path"] == Path(keys[item["key"]])


def test_compose_runs_the_three_services_with_settings_they_know():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    for name, settings in SERVICES.items():
        assert services[name]["command"] == [name]
        assert set(services[name]["environment"]) <= {
            f.upper() for f in settings.model_fields} | {"SECRETS_DIR"}
    mounts = " ".join(services["rabbitmq"]["volumes"])
    assert "broker-definitions:/etc/rabbitmq/generated" in mounts and "enabled_plugins" in mounts
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text()
    assert "load_definitions = /etc/rabbitmq/generated/definitions.json" in conf
    assert services["broker-definitions"]["command"][:2] == ["topology", "definitions"]
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins


def test_compose_runs_the_console_on_the_same_database_with_settings_it_knows():
    from services.console.settings import ConsoleSettings

    console = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["console"]
    assert console["command"] == ["console", "serve"]
    assert set(console["secrets"]) == {"database_url", "amqp_url"}  # amqp: the feedback events
    assert set(console["environment"]) <= {
        f.upper() for f in ConsoleSettings.model_fields} | {"SECRETS_DIR"}
    assert console["ports"] == ["8080:8080"] and "/healthz" in " ".join(
        console["healthcheck"]["test"])


def test_the_image_builds_durable_rules_with_a_compiler_and_runs_the_covenant_command():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "gcc" in dockerfile and 'ENTRYPOINT ["covenant"]' in dockerfile
    assert "USER 10001" in dockerfile and "RULES_DIR=/app/rules" in dockerfile


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        missing(name, "Debian's package; .ci/run installs it")
    assert found
    return found


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_parses_and_starts_in_order_of_health_from_pinned_images():
    parsed = subprocess.run([tool("docker-compose"), "-f", str(DEPLOY / "compose.yaml"),
                             "config", "-q"], capture_output=True, text=True, timeout=60)
    assert parsed.returncode == 0, parsed.stderr
    services = compose()["services"]
    for name, service in services.items():
        if "image" in service:  # pinned: a version, never a floating tag
            tag = service["image"].rsplit(":", 1)[-1]
            assert ":" in service["image"] and re.search(r"\d", tag) and "latest" not in tag, name
    for name in (*SERVICES, "rabbitmq", "postgres"):
        assert services[name]["healthcheck"]["test"], name
    for name in SERVICES:
        assert services[name]["depends_on"] == {"rabbitmq": {"condition": "service_healthy"},
                                                "postgres": {"condition": "service_healthy"}}
    assert services["rabbitmq"]["depends_on"] == {
        "broker-definitions": {"condition": "service_completed_successfully"}}
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert any(v.endswith(":/var/lib/rabbitmq") for v in services["rabbitmq"]["volumes"])


def test_compose_takes_every_secret_from_files_and_the_try_out_folder_has_them_all():
    document = compose()
    secrets = document["secrets"]
    example = DEPLOY / "secrets.example"
    for name, secret in secrets.items():
        file = secret["file"].replace("${COVENANT_SECRETS:-./secrets.example}", str(example))
        assert Path(file).is_file(), name
    for name, service in document["services"].items():
        env = service.get("environment", {})
        assert not {"AMQP_URL", "DATABASE_URL", "POSTGRES_PASSWORD"} & set(env), name
        assert set(service.get("secrets", [])) <= set(secrets), name
    users = json.loads((example / "broker_users.json").read_text())
    amqp = (example / "amqp_url").read_text().strip()
    [(user, password)] = re.findall(r"amqp://([^:]+):([^@]+)@", amqp)
    assert users[user] == {"password": password, "role": "services"}
    assert "upstream" in document["services"]["ingest"]["environment"]["PUBLISHERS"]
    assert users["upstream"]["role"] == "publisher"


def test_the_image_installs_the_locked_dependencies_and_writes_only_under_data():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile and "requirements.lock" in dockerfile
    assert "USER 10001" in dockerfile and "DATABASE_URL=sqlite:////data/" in dockerfile
    assert "OUTBOX_DIR=/data/" in dockerfile and "chown -R covenant /data" in dockerfile
    assert not re.search(r"^FROM \S+:(latest|3\.11-slim)\s*(AS|$)", dockerfile, re.M)


def kustomized() -> list[dict]:
    built = subprocess.run([tool("kubectl"), "kustomize", "--load-restrictor",
                            "LoadRestrictionsNone", str(DEPLOY / "k8s")],
                           capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    return list(yaml.safe_load_all(built.stdout))


def test_the_manifests_are_valid_kubernetes_objects():
    import kubernetes_validate

    documents = kustomized()
    for document in documents:
        kubernetes_validate.validate(document, "1.30", strict=True)
    broken = copy.deepcopy(next(d for d in documents if d["kind"] == "Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):  # the check can fail
        kubernetes_validate.validate(broken, "1.30", strict=True)


ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                   "persistentVolumeClaim", "projected", "secret"}


def restricted_violations(pod: dict) -> list[str]:
    """What breaks the "restricted" Pod Security Standard (v1.30) in a pod spec."""
    found = []
    pod_context = pod.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            found.append(key)
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            found.append(f"volume {volume['name']}: {kinds}")
    for container in pod["containers"] + pod.get("initContainers", []):
        context = container.get("securityContext", {})

        def setting(key: str, c: dict = context) -> object:
            return c.get(key, pod_context.get(key))

        name = container["name"]
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation not false")
        if setting("runAsNonRoot") is not True:
            found.append(f"{name}: runAsNonRoot not true")
        if setting("runAsUser") == 0:
            found.append(f"{name}: runAsUser 0")
        if (setting("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: no RuntimeDefault seccomp profile")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{name}: capabilities not dropped")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: capabilities added")
        if container.get("ports") and any(p.get("hostPort") for p in container["ports"]):
            found.append(f"{name}: hostPort")
    return found


def pod_specs(documents: list[dict]) -> dict[str, dict]:
    pods = {}
    for d in documents:
        if d["kind"] == "Deployment":
            pods[d["metadata"]["name"]] = d["spec"]["template"]["spec"]
        elif d["kind"] == "CronJob":
            pods[d["metadata"]["name"]] = d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pods


def test_every_pod_meets_the_restricted_pod_security_standard_and_the_namespace_enforces_it():
    documents = kustomized()
    pods = pod_specs(documents)
    assert set(pods) == {"covenant-ingest", "covenant-rules", "covenant-notify",
                         "covenant-digest", "covenant-console"}
    for name, pod in pods.items():
        assert restricted_violations(pod) == [], name
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    root = copy.deepcopy(pods["covenant-ingest"])
    root["securityContext"]["runAsNonRoot"] = False
    root["containers"][0]["securityContext"].pop("capabilities")
    assert len(restricted_violations(root)) == 2  # the check can fail
    [namespace] = [d for d in documents if d["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_each_service_has_a_disruption_budget_and_the_digest_a_cron_job():
    documents = kustomized()
    budgets = {d["spec"]["selector"]["matchLabels"]["service"]: d["spec"]
               for d in documents if d["kind"] == "PodDisruptionBudget"}
    assert budgets == {s: {"minAvailable": 1, "selector": {"matchLabels": {
        "app": "covenant", "service": s}}} for s in SERVICES}
    [cron] = [d for d in documents if d["kind"] == "CronJob"]
    [container] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["notify", "digest"]


def test_every_alert_has_a_promtool_unit_test_and_passes_it():
    tests = yaml.safe_load((DEPLOY / "prometheus" / "alerts.test.yml").read_text())["tests"]
    tested = {t["alertname"] for case in tests for t in case["alert_rule_test"]}
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    assert tested == {r["alert"] for g in groups for r in g["rules"]}
    for command in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        run = subprocess.run([tool("promtool"), *command], cwd=DEPLOY / "prometheus",
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr


def test_kubernetes_runs_the_console_with_the_rules_and_frameworks_it_scores_with():
    from services.console.settings import ConsoleSettings

    [console] = [d for d in manifests() if d["kind"] == "Deployment"
                 and d["metadata"]["name"] == "covenant-console"]
    spec = console["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["args"] == ["console", "serve"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    env = {e["name"] for e in container["env"]}
    assert "RULES_DIR" in env and env <= {f.upper() for f in ConsoleSettings.model_fields}
    [volume] = [v for v in spec["volumes"] if v["name"] == "rules"]
    names = [s["configMap"]["name"] for s in volume["projected"]["sources"]]
    assert names == ["covenant-rules", "covenant-reference", "covenant-covenants"]
    assert "covenants/textile/framework.yaml" in {  # the framework the console scores with
        i["path"] for s in volume["projected"]["sources"] for i in s["configMap"].get("items", [])}
    [service] = [d for d in manifests() if d["kind"] == "Service"]
    assert service["spec"]["selector"] == console["spec"]["selector"]["matchLabels"]
