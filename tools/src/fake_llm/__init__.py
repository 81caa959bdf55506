"""A deterministic, fast, OpenAI-compatible fake upstream (``fake-llm``) and its test helper.

Run it with ``fake-llm`` / ``python -m fake_llm`` (see :mod:`fake_llm.__main__` for options); drive it
from tests with :class:`fake_llm.testing.FakeLLMProcess`; special behaviours (errors, reasoning, slow
streams) are listed in :mod:`fake_llm.behaviours`.
"""
