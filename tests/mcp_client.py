"""One tool call through a LiteLLM proxy's ``/mcp`` (streamable HTTP) with the official ``mcp`` client."""

from __future__ import annotations

import asyncio
from typing import Any


def call_tool(
    proxy_url: str,
    key: str,
    tool: str,
    arguments: dict[str, Any],
    headers: dict[str, str] | None = None,
    meta: dict[str, Any] | None = None,
) -> tuple[bool, str]:
    """Call ``tool`` (the proxy's name, ``<server>-<tool>``) with ``key`` as the LiteLLM API key, any
    further ``headers`` and the request's ``_meta``: (is an error, the text of its content blocks)."""
    import httpx2  # the HTTP client the mcp package (as litellm[proxy] 1.108.5 installs it) builds on
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> tuple[bool, str]:
        sent = {"x-litellm-api-key": f"Bearer {key}", **(headers or {})}
        async with (
            httpx2.AsyncClient(headers=sent, timeout=30) as http,
            Client(streamable_http_client(f"{proxy_url.rstrip('/')}/mcp/", http_client=http)) as client,
        ):
            result = await client.call_tool(tool, arguments, meta=meta)  # type: ignore[arg-type]
        return bool(result.is_error), "".join(getattr(block, "text", "") for block in result.content)

    return asyncio.run(run())
