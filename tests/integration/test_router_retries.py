"""A call LiteLLM's router retried, through the real proxy: its success is what Sigil gets under the call id.

The router retries a failed try (5xx, dropped connection, timeout) under the same ``litellm_call_id``,
and LiteLLM logs the first failure, then the retry's success. Sigil refuses a second generation with an
id it already holds, so a failed try that took the call id cost the call its generation (usage, output):
seen as a flaky ``KeyError: 'input_tokens'`` of the compose scenarios on a loaded machine. The proxy runs
as in compose (disk spool, recorder process); its model group has a healthy deployment and one the fake
upstream answers with 500, and the router picks one at random for each try.
"""

from __future__ import annotations

import shutil
import time
import urllib.request
from pathlib import Path

import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from tests.scenarios import SinkReader, metadata, new_conversation, usage

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/error-500
litellm_settings:
  callbacks: sigil_callback.sigil_handler
router_settings:
  disable_cooldowns: true
  num_retries: 3
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""


def rejected(sink: SinkProcess) -> list[str]:
    with urllib.request.urlopen(f"{sink.http_url}/metrics", timeout=10) as response:
        lines = response.read().decode().splitlines()
    return [line for line in lines if line.startswith("sigil_sink_rejected_total")]


def test_a_retried_call_is_recorded_under_its_call_id(fake: FakeLLMProcess, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG)
    shutil.copy(ROOT / "sigil_callback.py", tmp_path / "sigil_callback.py")
    env = {
        "SIGIL_PROTOCOL": "grpc",
        "SIGIL_INSECURE": "true",
        "SIGIL_AUTH_MODE": "none",
        "SIGIL_RECORDER": "process",
        "SIGIL_SPOOL_DIR": str(tmp_path / "spool"),
        "SIGIL_FLUSH_INTERVAL": "0.2",
        "OPENAI_API_KEY": "fake-key",
        "OPENAI_API_BASE": fake.base_url,
    }
    with SinkProcess(auth="none") as sink:
        env["SIGIL_ENDPOINT"] = sink.grpc_target
        with ProxyProcess(config=tmp_path / "config.yaml", env=env) as proxy:
            client = openai.OpenAI(base_url=f"{proxy.base_url}/v1", api_key=proxy.master_key, max_retries=0)
            retried = []
            for _ in range(40):  # each try hits the failing deployment with odds 1/2: 2 retried calls come fast
                conv = new_conversation()
                try:
                    raw = client.chat.completions.with_raw_response.create(
                        model="gpt-4o-mini", messages=[{"role": "user", "content": "retry"}], extra_body=metadata(conv)
                    )
                except openai.InternalServerError:  # every try hit the failing deployment
                    continue
                if int(raw.headers.get("x-litellm-attempted-retries", "0")) > 0:
                    retried.append((conv, raw.headers["x-litellm-call-id"], raw.parse()))
                    if len(retried) == 2:
                        break
            assert len(retried) == 2, "40 calls and the router never retried one"
            reader = SinkReader(sink.http_url)
            for conv, call_id, reply in retried:
                deadline = time.monotonic() + 30
                while len(items := reader.generations(conversation_id=conv)) < 2 and time.monotonic() < deadline:
                    time.sleep(0.1)
                time.sleep(0.5)  # a surplus would show
                by_id = {g["id"]: g for g in reader.generations(conversation_id=conv)}
                assert sorted(by_id) == [call_id, f"{call_id}-attempt-0"], items
                success, failed_try = by_id[call_id], by_id[f"{call_id}-attempt-0"]
                assert "call_error" not in success and success["model"]["name"] == "gpt-4o-mini"
                counts = usage(success)
                assert (counts["input_tokens"], counts["output_tokens"]) == (
                    reply.usage.prompt_tokens,
                    reply.usage.completion_tokens,
                )
                assert "error-500" in failed_try["call_error"] and failed_try["model"]["name"] == "error-500"
                assert failed_try["metadata"]["litellm.call_id"] == success["metadata"]["litellm.call_id"] == call_id
            assert rejected(sink) == [], "the sink refused generations"
