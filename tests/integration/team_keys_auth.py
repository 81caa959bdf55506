"""LiteLLM ``general_settings.custom_auth`` for the per-team tenant tests: test API keys → teams, no database.

LiteLLM loads this file from the directory of config.yaml (the test copies it there).
"""

from __future__ import annotations

from typing import Any

from litellm.proxy._types import UserAPIKeyAuth

# key → the identity LiteLLM would have read from its database
KEYS: dict[str, dict[str, Any]] = {
    "sk-team-alpha": {"team_id": "team-alpha"},
    "sk-team-beta": {"team_id": "t-beta-9", "team_alias": "beta"},
    "sk-gamma-bot": {"team_id": "team-unmapped", "key_alias": "gamma-bot"},
    "sk-nobody": {"team_id": "team-unknown"},
    "sk-alpha-ana": {"team_id": "team-alpha", "user_id": "ana"},
}


async def user_api_key_auth(request: Any, api_key: str) -> UserAPIKeyAuth:
    key = api_key.removeprefix("Bearer ").strip()
    identity = KEYS.get(key)
    if identity is None:
        raise ValueError("unknown API key")
    return UserAPIKeyAuth(api_key=key, **identity)
