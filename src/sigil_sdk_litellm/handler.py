"""The LiteLLM callback: one Sigil generation (or embedding span) per LiteLLM event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from litellm.integrations.custom_logger import CustomLogger
from sigil_sdk import Client

from sigil_sdk_litellm.callback_methods import CallbackMethods
from sigil_sdk_litellm.mapping import DEFAULT_AGENT_NAME_METADATA_KEYS, MappingOptions
from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.recording import ClientRouter, GenerationWriter, SdkRecorder
from sigil_sdk_litellm.redaction import content_redacted


class SigilLiteLLMLogger(CallbackMethods, CustomLogger):  # type: ignore[misc]
    """A LiteLLM callback that records every completion as a Sigil generation.

    Register it in ``litellm.callbacks`` (SDK) or through ``litellm_settings.callbacks`` (proxy).
    Completions and text completions become generations (SYNC, or STREAM with the first-token
    time); embeddings become the SDK's embedding spans; other call types are ignored. Nothing the
    handler meets is allowed to raise into LiteLLM: problems are logged once with a ``sigil:``
    prefix and counted in :attr:`problems`.

    When a callback returns, the generation is queued in ``client``: ``client.flush()`` or
    ``client.shutdown()`` exports it.
    """

    def __init__(
        self,
        *,
        client: Client,
        capture_inputs: bool = True,
        capture_outputs: bool = True,
        agent_name: str = "",
        agent_version: str = "",
        conversation_id: str = "",
        extra_tags: Mapping[str, str] | None = None,
        extra_metadata: Mapping[str, Any] | None = None,
        agent_name_metadata_keys: Iterable[str] = DEFAULT_AGENT_NAME_METADATA_KEYS,
        options: MappingOptions | None = None,
        router: ClientRouter | None = None,
        writer: GenerationWriter | None = None,
    ) -> None:
        """The keywords are the options one by one; ``options`` gives them all at once (the proxy builds
        them from its settings) and then no option keyword may be given. ``writer`` records generations
        past the client where it can (the proxy's in-process direct writer)."""
        if client is None:
            raise TypeError("SigilLiteLLMLogger needs a sigil_sdk.Client: SigilLiteLLMLogger(client=Client())")
        keywords = MappingOptions(
            capture_inputs=bool(capture_inputs),
            capture_outputs=bool(capture_outputs),
            agent_name=agent_name or "",
            agent_version=agent_version or "",
            conversation_id=conversation_id or "",
            extra_tags=dict(extra_tags or {}),
            extra_metadata=dict(extra_metadata or {}),
            agent_name_metadata_keys=agent_name_keys(agent_name_metadata_keys),
        )
        if options is not None and keywords != MappingOptions():
            raise TypeError("SigilLiteLLMLogger takes options= or the option keywords, not both")
        super().__init__()
        self.client = client
        self.options = keywords if options is None else options
        # with a router (SIGIL_TENANT_MAP), `client` is the default tenant's
        self._recorder = SdkRecorder(client, self.options, router=router, writer=writer)

    @property
    def problems(self) -> ProblemLog:
        """What went wrong while recording, counted by kind (logged once each)."""
        return self._recorder.problems

    @problems.setter
    def problems(self, value: ProblemLog) -> None:
        self._recorder.problems = value

    def __repr__(self) -> str:
        o = self.options
        return (
            f"SigilLiteLLMLogger(capture_inputs={o.capture_inputs}, capture_outputs={o.capture_outputs}, "
            f"agent_name={o.agent_name!r}, agent_version={o.agent_version!r}, "
            f"agent_name_metadata_keys={o.agent_name_metadata_keys!r})"
        )

    def handle_event(self, kwargs: Any, response_obj: Any, *, failed: bool) -> None:
        """Map one LiteLLM event and hand it to the SDK (what LiteLLM's four entry points call). Never raises."""
        redacted = content_redacted(self, kwargs) if isinstance(kwargs, dict) else False
        self._recorder.record(kwargs, response_obj, failed=failed, redacted=redacted)


def agent_name_keys(keys: Iterable[str]) -> tuple[str, ...]:
    """The agent keys as a tuple of distinct names (a single string is one key, not its letters)."""
    if isinstance(keys, str):
        keys = (keys,)
    names = tuple(dict.fromkeys(str(key).strip() for key in keys if str(key).strip()))
    if not names:
        raise ValueError("agent_name_metadata_keys needs at least one metadata key, e.g. ('agent_name', 'agent_id')")
    return names


# 0.2.0's factory, "with the same parameters": the class itself, so the two cannot drift apart
create_sigil_litellm_logger = SigilLiteLLMLogger
