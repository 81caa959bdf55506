"""fake_llm."""
