"""The sink's auth: the real server's tenant rules, and each gateway mode of the distribution with right,
wrong and missing credentials, over the SDK's HTTP and gRPC exporters. Secrets never show."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys

import grpc
import pytest
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb
from sigil_sdk.models import ExportGenerationsRequest
from sink_helpers import EXPORT, exporter, generation, grpc_export, pb_generation, post

pytestmark = pytest.mark.integration

TOKEN = "tok-3f9a61c2"
PASSWORD = "pw-8d2e77b4"
GOOD = b'{"generations":[{"model":{"provider":"p","name":"n"}}]}'


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_tenant_mode_needs_an_org_id(sink: SinkProcess) -> None:
    assert post(sink, EXPORT, GOOD, {}) == (401, "text/plain; charset=utf-8", "no org id\n")
    assert post(sink, EXPORT, GOOD, {"X-Scope-OrgID": ""})[::2] == (401, "no org id\n")
    with pytest.raises(grpc.RpcError) as info:
        grpc_export(sink, pb.ExportGenerationsRequest(generations=[pb_generation("g")]), metadata=[])
    assert (info.value.code(), info.value.details()) == (grpc.StatusCode.UNAUTHENTICATED, "no org id")
    for transport in ("http", "grpc"):
        with exporter(transport, sink) as sdk, pytest.raises((RuntimeError, grpc.RpcError)) as refused:
            sdk.export_generations(ExportGenerationsRequest([generation(f"{transport}-anon")]))
        assert "401" in str(refused.value) or "UNAUTHENTICATED" in str(refused.value)
    assert sink.generations() == []


@pytest.mark.parametrize(
    ("org_id", "message"),
    [
        ("a/b", "tenant ID 'a/b' contains unsupported character '/'"),
        ("x y", "tenant ID 'x y' contains unsupported character ' '"),
        ("x" * 151, "tenant ID is too long: max 150 characters"),
        ("..", "tenant ID is '.' or '..'"),
        (".", "tenant ID is '.' or '..'"),
        ("a|b", "multiple org IDs present"),
    ],
)
def test_invalid_tenant_ids_are_refused_with_dskit_messages(sink: SinkProcess, org_id: str, message: str) -> None:
    assert post(sink, EXPORT, GOOD, {"X-Scope-OrgID": org_id})[::2] == (401, message + "\n")
    with pytest.raises(grpc.RpcError) as info:
        grpc_export(sink, pb.ExportGenerationsRequest(generations=[pb_generation("g")]), [("x-scope-orgid", org_id)])
    assert (info.value.code(), info.value.details()) == (grpc.StatusCode.UNAUTHENTICATED, message)


def test_every_allowed_tenant_character_and_the_longest_id(sink: SinkProcess) -> None:
    for org_id in ("a-Z_0.9!*'()", "x" * 150):
        assert post(sink, EXPORT, GOOD, {"X-Scope-OrgID": org_id})[0] == 202
        assert len(sink.generations(tenant=org_id)) == 1


# sink arguments, headers that pass, the tenant accepted items get, headers that must be refused
MODES = {
    "none": ({"auth": "none"}, {}, "fake", []),
    "tenant": ({"auth": "tenant"}, {"X-Scope-OrgID": "t-1"}, "t-1", [{"X-Scope-OrgID": "t/1"}, {}]),
    "bearer": (
        {"auth": "bearer", "bearer_token": TOKEN},
        {"Authorization": f"Bearer {TOKEN}"},
        "fake",
        [{"Authorization": "Bearer tok-wrong"}, {"X-Scope-OrgID": "t-2"}],
    ),
    "bearer+tenant": (
        {"auth": "bearer", "bearer_token": TOKEN},
        {"Authorization": f"Bearer {TOKEN}", "X-Scope-OrgID": "t-2"},
        "t-2",
        [{"Authorization": TOKEN, "X-Scope-OrgID": "t-2"}],  # no scheme
    ),
    "basic": (
        {"auth": "basic", "basic_user": "12345", "basic_password": PASSWORD},
        {"Authorization": basic("12345", PASSWORD)},
        "12345",
        [{"Authorization": basic("12345", "pw-wrong")}, {"Authorization": f"Bearer {PASSWORD}"}, {}],
    ),
    "basic+tenant": (
        {"auth": "basic", "basic_user": "12345", "basic_password": PASSWORD},
        {"Authorization": basic("12345", PASSWORD), "X-Scope-OrgID": "t-3"},
        "t-3",
        [{"Authorization": basic("54321", PASSWORD), "X-Scope-OrgID": "t-3"}],
    ),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_auth_modes_with_both_sdk_exporters(mode: str) -> None:
    sink_args, good, tenant, refused = MODES[mode]
    with SinkProcess(**sink_args, log_requests=True) as sink:  # type: ignore[arg-type]
        for transport in ("http", "grpc"):
            with exporter(transport, sink, good) as sdk:
                [result] = sdk.export_generations(ExportGenerationsRequest([generation(transport)])).results
            assert result.accepted, result.error
        assert sorted((g["id"], g["_tenant"]) for g in sink.generations()) == [("grpc", tenant), ("http", tenant)]
        for headers in refused:
            for transport in ("http", "grpc"):
                with exporter(transport, sink, headers) as sdk, pytest.raises((RuntimeError, grpc.RpcError)) as info:
                    sdk.export_generations(ExportGenerationsRequest([generation(f"{transport}-refused")]))
                assert "401" in str(info.value) or "UNAUTHENTICATED" in str(info.value)
        assert len(sink.generations()) == 2
        requests = sink.stats()["requests"]
        assert (requests.get("http 401", 0), requests.get("grpc UNAUTHENTICATED", 0)) == (len(refused), len(refused))
        seen = sink.log_text() + sink.metrics_text() + str(sink.stats())
        sink.stop()
        seen += sink.log_text()
    assert "accepted=1" in seen  # the log has content, and ...
    assert TOKEN not in seen and PASSWORD not in seen  # ... never a secret


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["--auth", "bearer"], {"SINK_BASIC_PASSWORD": PASSWORD}, "sigil-mock-sink: auth mode bearer needs a token"),
        (["--auth", "basic", "--basic-user", "u"], {}, "sigil-mock-sink: auth mode basic needs a user and a password"),
        ([], {"SINK_AUTH": "sometimes"}, "argument --auth (from SINK_*): choose from none, tenant, bearer, basic"),
        ([], {"SINK_REJECT_FRACTION": "2"}, "argument --reject-fraction: must be between 0 and 1"),
        (["--http-port", "{busy}"], {"SINK_BEARER_TOKEN": TOKEN}, "sigil-mock-sink: [Errno 98]"),
    ],
    ids=["bearer-without-token", "basic-without-password", "bad-mode", "bad-fraction", "port-in-use"],
)
def test_bad_configuration_is_one_line_without_a_traceback(argv: list[str], env: dict[str, str], expected: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        command = [sys.executable, "-m", "sigil_mock_sink", "--grpc-port", "0", "--http-port", port]
        run = subprocess.run(
            command + [arg.replace("{busy}", port) for arg in argv],
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert run.returncode != 0
    assert expected in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr and PASSWORD not in run.stderr + run.stdout and TOKEN not in run.stderr
