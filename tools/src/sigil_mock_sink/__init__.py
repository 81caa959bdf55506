"""A faithful mock of Sigil's ingest: what the real server accepts, rejects and returns, and a page to see it."""
