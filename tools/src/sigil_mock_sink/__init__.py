"""sigil_mock_sink."""
