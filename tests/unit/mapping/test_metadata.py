"""Tags and metadata of a recording: framework, request tags, proxy identity."""

from __future__ import annotations

import json
import math

from sigil_sdk_litellm.mapping.event import MappingOptions
from tests.support import standard_logging_object
from tests.unit.mapping.support import generation


def test_tags_framework_request_tags_and_user_agent() -> None:
    slo = standard_logging_object(
        request_tags=["team-a", "User-Agent: OpenAI/Python 1.99.0", "", None],
        model_group="gpt-4o-mini",
    )
    options = MappingOptions(extra_tags={"env": "prod", "sigil.framework.name": "spoofed"})
    g = generation(slo, options).generation
    assert g.tags == {
        "sigil.framework.name": "litellm",
        "sigil.framework.source": "handler",
        "sigil.framework.language": "python",
        "litellm.tag.team-a": "team-a",
        # the incumbent's representation, kept for its dashboards (docs/compatibility.md)
        "litellm.tag.User-Agent: OpenAI/Python 1.99.0": "User-Agent: OpenAI/Python 1.99.0",
        "litellm.model_group": "gpt-4o-mini",
        "env": "prod",
    }
    assert g.metadata["litellm.user_agent"] == "OpenAI/Python 1.99.0"


def test_proxy_identity_cost_and_cache_become_metadata() -> None:
    slo = standard_logging_object(
        model_group="fast",
        model_id="deployment-1",
        response_cost=0.25,
        cache_hit=True,
        metadata={
            "user_api_key_team_id": "team-1",
            "user_api_key_team_alias": "search team",
            "user_api_key_alias": "ci-key",
            "user_api_key_org_id": "org-1",
            "user_api_key_user_id": "u-1",
            "user_api_key_hash": "hash-that-stays-out",
            "requester_metadata": None,
        },
    )
    options = MappingOptions(extra_metadata={"region": "eu", "nested": {"n": 1, "bad": math.inf}})
    md = generation(slo, options).generation.metadata
    expected = {
        "litellm.model_group": "fast",
        "litellm.model_id": "deployment-1",
        "litellm.team_id": "team-1",
        "litellm.team_alias": "search team",
        "litellm.key_alias": "ci-key",
        "litellm.org_id": "org-1",
        "litellm.key_user_id": "u-1",
        "litellm.response_cost": 0.25,
        "litellm.cache_hit": True,
        "litellm.call_id": "call-1",
        "litellm.trace_id": "trace-1",
        "litellm.call_type": "acompletion",
        "region": "eu",
        "nested": {"n": 1.0, "bad": None},
    }
    assert {k: md[k] for k in expected} == expected
    assert "hash-that-stays-out" not in json.dumps(md)
