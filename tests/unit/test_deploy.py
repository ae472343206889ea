"""The deployment files, checked offline (docs/operations.md).

- deploy/k8s: each overlay rendered by `kubectl kustomize` (the machine's kubectl, or Debian 12's
  kubernetes-client that deploy/dev/install.sh installs), every object validated against the
  Kubernetes OpenAPI schemas of kubernetes-validate (strict: unknown fields fail), the operators'
  resources against schemas of the fields used (below), then what the manifests must say.
- docker-compose.yml: resolved by Debian's docker-compose (v1.29, no engine needed for `config`),
  its services compared with the Procfile.
"""
import functools
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production", "production-ingress")
PRODUCTION = ("production", "production-ingress")
# From the oldest Kubernetes the manifests are meant for to the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
DEV_ONLY = {"smtp"}                      # the Procfile's SMTP catcher: Mailpit in dev, nothing in production
ROOT_FILES = ("config.yaml", "catalog.yaml", "routing.yaml", "sla.yaml", "replies.yaml")
# What kustomize v2.0.3 (Debian 12's kubectl 1.20) understands: a newer field renders on the
# machine's current kubectl and fails on Debian's.
KUSTOMIZE_V2_FIELDS = {"resources", "bases", "namespace", "images", "configMapGenerator",
                       "secretGenerator", "generatorOptions", "patchesStrategicMerge"}
# Environment variables set for reasons other than a ${NAME} of config.yaml.
EXTRA_ENV = {
    "CATALOG_PATH": "read by helpdesk.catalog from the environment",
    "METRICS_PORT": "the port of every process's /metrics and /healthz endpoint",
    "RABBITMQ_USERNAME": "from the operator's Secret, for AMQP_URI",
    "RABBITMQ_PASSWORD": "from the operator's Secret, for AMQP_URI",
}

# The operators' resources: only the fields these manifests use, with their types as in the
# operators' CRDs (rabbitmq.com/v1beta1 RabbitmqCluster, postgresql.cnpg.io/v1 Cluster); a field
# not listed, misspelt or of the wrong type fails.
QUANTITY = {"anyOf": [{"type": "string", "pattern": r"^[0-9.]+(m|Ki|Mi|Gi|Ti)?$"}, {"type": "integer"}]}
RESOURCES = {
    "type": "object", "additionalProperties": False,
    "properties": {part: {"type": "object", "additionalProperties": False,
                          "properties": {"cpu": QUANTITY, "memory": QUANTITY}}
                   for part in ("requests", "limits")},
}
METADATA = {
    "type": "object", "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                   "namespace": {"type": "string"},
                   "labels": {"type": "object", "additionalProperties": {"type": "string"}}},
}
CUSTOM_RESOURCES = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {}, "kind": {}, "metadata": METADATA,
            "spec": {
                "type": "object", "additionalProperties": False, "required": ["replicas"],
                "properties": {
                    "replicas": {"type": "integer", "minimum": 0},
                    "persistence": {"type": "object", "additionalProperties": False,
                                    "properties": {"storage": QUANTITY, "storageClassName": {"type": "string"}}},
                    "resources": RESOURCES,
                },
            },
        },
    },
    ("postgresql.cnpg.io/v1", "Cluster"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {}, "kind": {}, "metadata": METADATA,
            "spec": {
                "type": "object", "additionalProperties": False, "required": ["instances", "storage"],
                "properties": {
                    "instances": {"type": "integer", "minimum": 1},
                    "imageName": {"type": "string"},
                    "bootstrap": {"type": "object", "additionalProperties": False, "properties": {
                        "initdb": {"type": "object", "additionalProperties": False, "properties": {
                            "database": {"type": "string"}, "owner": {"type": "string"}}}}},
                    "storage": {"type": "object", "additionalProperties": False, "required": ["size"],
                                "properties": {"size": QUANTITY, "storageClass": {"type": "string"}}},
                    "postgresql": {"type": "object", "additionalProperties": False, "properties": {
                        "parameters": {"type": "object", "additionalProperties": {"type": "string"}}}},
                    "resources": RESOURCES,
                },
            },
        },
    },
}


def procfile():
    """{process: command as a list}, the virtualenv's path and the local run's own settings
    (`METRICS_PORT=9101 ...`: one port per process on one machine) left out (the image has no
    .venv; in a pod every process has 9100)."""
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            words = shlex.split(command)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words = words[1:]
            processes[name.strip()] = [words[0].removeprefix(".venv/bin/")] + words[1:]
    return processes


def production_processes():
    return {name: command for name, command in procfile().items() if name not in DEV_ONLY}


def tool(name):
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} not found: deploy/dev/install.sh installs it from Debian")
    return path


@functools.lru_cache(maxsize=None)
def rendered(overlay):
    result = subprocess.run([tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def objects(overlay, kind):
    return {doc["metadata"]["name"]: doc for doc in rendered(overlay) if doc["kind"] == kind}


def helpdesk_deployments(overlay):
    return {name: doc for name, doc in objects(overlay, "Deployment").items()
            if doc["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "helpdesk"}


def pod(deployment):
    return deployment["spec"]["template"]["spec"]


def env_of(overlay, container):
    """The container's environment as the kubelet builds it: envFrom's ConfigMaps, then env."""
    configmaps = objects(overlay, "ConfigMap")
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


def matches(selector, labels):
    return all(labels.get(key) == value for key, value in selector.items())


# --- rendering and schemas ---------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_for_kubernetes_or_for_its_operator(overlay):
    docs = rendered(overlay)
    assert docs
    for doc in docs:
        schema = CUSTOM_RESOURCES.get((doc["apiVersion"], doc["kind"]))
        if schema is not None:
            jsonschema.validate(doc, schema)
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)


def test_the_schemas_refuse_what_kubernetes_would():
    deployment = helpdesk_deployments("production")["helpdesk-gateway"]
    misspelt = yaml.safe_load(yaml.safe_dump(deployment).replace("readinessProbe", "readynessProbe"))
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSIONS[0], strict=True)
    cluster = objects("production", "Cluster")["helpdesk-postgres"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(cluster, spec=dict(cluster["spec"], instance=3)),
                            CUSTOM_RESOURCES[("postgresql.cnpg.io/v1", "Cluster")])


def test_kustomizations_use_only_what_debians_kustomize_understands():
    for path in K8S.rglob("kustomization.yaml"):
        kustomization = yaml.safe_load(path.read_text())
        assert set(kustomization) <= KUSTOMIZE_V2_FIELDS, (path, set(kustomization) - KUSTOMIZE_V2_FIELDS)
        for entry in kustomization.get("resources", []):
            assert (path.parent / entry).is_file(), f"{path}: {entry}: v2.0.3 takes directories in `bases` only"


# --- the processes -------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_production_process_of_the_procfile_is_a_deployment_with_its_command(overlay):
    deployments = helpdesk_deployments(overlay)
    assert set(deployments) == {f"helpdesk-{name}" for name in production_processes()}
    for name, command in production_processes().items():
        containers = pod(deployments[f"helpdesk-{name}"])["containers"]
        assert [c["command"] for c in containers] == [command], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_the_one_image(overlay):
    images = {c["image"] for d in helpdesk_deployments(overlay).values()
              for c in pod(d)["containers"] + pod(d)["initContainers"]}
    images |= {c["image"] for c in objects(overlay, "Job")["helpdesk-migrate"]["spec"]["template"]["spec"]["containers"]}
    assert len(images) == 1, images
    image = images.pop()
    if overlay == "dev":
        assert image == yaml.safe_load((ROOT / "docker-compose.yml").read_text())["x-app"]["image"]
    else:
        name, _, tag = image.rpartition(":")
        assert name.endswith("/helpdesk") and tag and tag != "latest", image


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_probes_on_its_own_ports_and_resources(overlay):
    for name, deployment in objects(overlay, "Deployment").items():
        for container in pod(deployment)["containers"]:
            ports = {port["name"]: port["containerPort"] for port in container["ports"]}
            for probe in ("livenessProbe", "readinessProbe"):
                assert probe in container, (name, probe)
                action = container[probe].get("httpGet") or container[probe].get("tcpSocket")
                assert action["port"] in ports, (name, probe, action)
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert "memory" in resources["limits"], name
        for container in pod(deployment).get("initContainers", []):
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_process_is_probed_and_scraped_on_its_metrics_port(overlay):
    for name, deployment in helpdesk_deployments(overlay).items():
        template = deployment["spec"]["template"]
        (container,) = template["spec"]["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        port = int(env_of(overlay, container)["METRICS_PORT"])
        assert ports["metrics"] == port == 9100, name
        assert template["metadata"]["annotations"] == {
            "prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}, name
        if name not in ("helpdesk-gateway", "helpdesk-inbound"):
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz/live", "port": "metrics"}, name
            assert container["readinessProbe"]["httpGet"] == {"path": "/healthz/ready", "port": "metrics"}, name


def test_the_gateways_readiness_does_not_hang_on_the_whole_systems_health():
    (gateway,) = pod(helpdesk_deployments("production")["helpdesk-gateway"])["containers"]
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/api/v1/site", "port": "http"}
    assert gateway["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert "/api/v1/health" not in yaml.safe_dump(gateway)


def test_inbound_listens_where_its_service_and_the_gateways_health_look():
    (inbound,) = pod(helpdesk_deployments("production")["helpdesk-inbound"])["containers"]
    env = env_of("production", inbound)
    ports = {port["name"]: port["containerPort"] for port in inbound["ports"]}
    assert env["INBOUND_SMTP_HOST"] == "0.0.0.0"
    assert ports["smtp"] == int(env["INBOUND_SMTP_PORT"])
    assert inbound["livenessProbe"]["tcpSocket"] == {"port": "smtp"}
    service = objects("production", "Service")["helpdesk-inbound"]
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "smtp"
    (gateway,) = pod(helpdesk_deployments("production")["helpdesk-gateway"])["containers"]
    assert env_of("production", gateway)["INBOUND_HEALTH_ADDRESS"] == f"helpdesk-inbound:{port['port']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_select_their_pods_and_name_their_ports(overlay):
    deployments = objects(overlay, "Deployment")
    for name, service in objects(overlay, "Service").items():
        selected = [d for d in deployments.values()
                    if matches(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
        assert len(selected) == 1, name
        ports = {p["name"] for c in pod(selected[0])["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports, name
    assert {"helpdesk-gateway", "helpdesk-inbound"} <= set(objects(overlay, "Service"))


# --- scale -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay, replicas, brokers", [("dev", 1, 1), ("production", 2, 3), ("production-ingress", 2, 3)])
def test_replicas(overlay, replicas, brokers):
    assert {d["spec"]["replicas"] for d in helpdesk_deployments(overlay).values()} == {replicas}
    assert objects(overlay, "RabbitmqCluster")["helpdesk-rabbitmq"]["spec"]["replicas"] == brokers
    assert objects(overlay, "Cluster")["helpdesk-postgres"]["spec"]["instances"] == brokers


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_of_two_replicas_and_only_those_has_a_disruption_budget(overlay):
    budgets = objects(overlay, "PodDisruptionBudget").values()
    for name, deployment in objects(overlay, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets if matches(b["spec"]["selector"]["matchLabels"], labels)]
        if deployment["spec"]["replicas"] >= 2:
            assert [b["spec"].get("minAvailable") for b in covering] == [1], name
        else:
            assert covering == [], f"{name}: a budget on a single replica blocks every drain"


@pytest.mark.parametrize("overlay", PRODUCTION)
def test_the_gateway_scales_on_cpu(overlay):
    (hpa,) = objects(overlay, "HorizontalPodAutoscaler").values()
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "helpdesk-gateway"}
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    gateway = helpdesk_deployments(overlay)["helpdesk-gateway"]
    assert hpa["spec"]["minReplicas"] == gateway["spec"]["replicas"] < hpa["spec"]["maxReplicas"]
    (container,) = pod(gateway)["containers"]
    assert "cpu" in container["resources"]["requests"]       # what the utilization is a share of


def test_the_ingress_reaches_the_gateway_at_the_public_host():
    (ingress,) = objects("production-ingress", "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["backend"]["service"] == {"name": "helpdesk-gateway", "port": {"name": "http"}}
    (gateway,) = pod(helpdesk_deployments("production-ingress")["helpdesk-gateway"])["containers"]
    assert env_of("production-ingress", gateway)["PUBLIC_URL"] == f"https://{rule['host']}"
    assert "Ingress" not in {doc["kind"] for doc in rendered("production")}


# --- migrations ----------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_runs_and_every_process_waits_for_it(overlay):
    job = objects(overlay, "Job")["helpdesk-migrate"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    migrate = ["python", "-m", "helpdesk.migrate"]
    if overlay == "dev":                    # as docker-compose.yml: the demo accounts too
        assert container["command"] == ["sh", "-c", "python -m helpdesk.migrate && python -m services.identity.seed"]
    else:
        assert container["command"] == migrate
    assert env_of(overlay, container)["DATABASE_URL"] == {"secretKeyRef": {"name": "helpdesk-postgres-app", "key": "uri"}}
    for name, deployment in helpdesk_deployments(overlay).items():
        (init,) = pod(deployment)["initContainers"]
        assert init["command"] == ["sh", "-c", "until python -m helpdesk.migrate --check; do sleep 5; done"], name
        assert env_of(overlay, init) == env_of(overlay, pod(deployment)["containers"][0]), name


# --- configuration -------------------------------------------------------------------------------

def test_the_configmap_copies_are_the_files_at_the_root():
    for name in ROOT_FILES:
        copy = K8S / "base" / "files" / name
        assert copy.read_bytes() == (ROOT / name).read_bytes(), f"cp {name} {copy.relative_to(ROOT)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_processes_read_the_configmap_where_it_is_mounted(overlay):
    configmaps = objects(overlay, "ConfigMap")
    for name, deployment in helpdesk_deployments(overlay).items():
        volumes = {v["name"]: v for v in pod(deployment)["volumes"]}
        for container in pod(deployment)["containers"] + pod(deployment)["initContainers"]:
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            config = mounts["/etc/helpdesk"]
            data = configmaps[volumes[config["name"]]["configMap"]["name"]]["data"]
            assert {key: data[key] for key in ROOT_FILES} == {key: (ROOT / key).read_text() for key in ROOT_FILES}
            # `nameko run --config config.yaml` in /app (the image's WORKDIR)
            assert mounts["/app/config.yaml"]["subPath"] == "config.yaml"
            assert mounts["/app/config.yaml"]["name"] == config["name"]
            env = env_of(overlay, container)
            for setting in ("CATALOG_PATH", "ROUTING_CONFIG", "SLA_CONFIG", "CANNED_REPLIES_PATH"):
                directory, _, key = env[setting].rpartition("/")
                assert directory == "/etc/helpdesk" and key in data, (name, setting)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_set_is_one_the_processes_read(overlay):
    read = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):", (ROOT / "config.yaml").read_text()))
    for name, deployment in helpdesk_deployments(overlay).items():
        for container in pod(deployment)["containers"]:
            env = env_of(overlay, container)
            assert set(env) - read <= set(EXTRA_ENV), (name, set(env) - read - set(EXTRA_ENV))
            defined = set()
            for item in container["env"]:          # $(NAME) expands only names defined before it
                assert set(re.findall(r"\$\(([A-Z_]+)\)", item.get("value", ""))) <= defined, item
                defined.add(item["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_credentials_come_from_the_operators_secrets(overlay):
    rabbit = next(iter(objects(overlay, "RabbitmqCluster")))
    database = next(iter(objects(overlay, "Cluster")))
    for deployment in helpdesk_deployments(overlay).values():
        (container,) = pod(deployment)["containers"]
        env = env_of(overlay, container)
        assert env["DATABASE_URL"] == {"secretKeyRef": {"name": f"{database}-app", "key": "uri"}}
        for key in ("username", "password"):
            assert env[f"RABBITMQ_{key.upper()}"] == {"secretKeyRef": {"name": f"{rabbit}-default-user", "key": key}}
        assert env["AMQP_URI"] == f"amqp://$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)@{rabbit}:5672/"
        secrets = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
        assert len(secrets) == 1 and secrets[0].startswith("helpdesk-secrets")


def test_no_secret_value_is_in_git_outside_dev():
    for overlay in PRODUCTION:
        kinds = {doc["kind"] for doc in rendered(overlay)}
        assert "Secret" not in kinds                 # helpdesk-secrets is created in the cluster
    for path in [*(K8S / "base").rglob("*.yaml"), *(K8S / "overlays" / "production").rglob("*.yaml"),
                 *(K8S / "overlays" / "production-ingress").rglob("*.yaml")]:
        text = path.read_text()
        if path.parent.name == "files":
            continue                                 # config.yaml's development default is its own
        assert "secretGenerator" not in text and "kind: Secret" not in text, path
        assert not re.search(r"(LINK_SECRET|PASSWORD|PASS)\s*[=:]", text), path
    for overlay in OVERLAYS:
        for configmap in objects(overlay, "ConfigMap").values():
            assert not any(re.search("SECRET|PASSWORD|USERNAME", key) for key in configmap["data"]), overlay
    (secret,) = objects("dev", "Secret").values()
    assert secret["metadata"]["name"].startswith("helpdesk-secrets-")
    assert set(secret["data"]) == {"LINK_SECRET"}


# --- docker compose ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def compose():
    """docker-compose.yml as Debian's docker-compose resolves it. v1.29 predates the compose
    spec's top-level `name:`, which the file uses for its project name: checked here, then left
    out of what the tool reads."""
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert spec.pop("name") == "helpdesk"
    result = subprocess.run([tool("docker-compose"), "--project-directory", str(ROOT), "-f", "-", "config"],
                            input=yaml.safe_dump(spec), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_docker_compose_yml_is_valid_and_its_services_are_the_procfiles():
    services = compose()["services"]
    for name, command in production_processes().items():
        assert services[name]["command"] == command, name
    assert set(services) - set(production_processes()) == {"rabbitmq", "postgres", "mailpit", "migrate"}
    for name in production_processes():
        assert services[name]["image"] == services["migrate"]["image"], name
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["gateway"]["environment"]["SMTP_HOST"] == "mailpit"    # no `smtp` process: Mailpit
    assert services["migrate"]["command"][-1].startswith("python -m helpdesk.migrate")


def test_docker_compose_refuses_a_broken_file():
    result = subprocess.run([tool("docker-compose"), "--project-directory", str(ROOT), "-f", "-", "config", "-q"],
                            input="services:\n  gateway:\n    depends_on: {migrate: {condition: sometimes}}\n",
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
