"""The TLS context of every HTTPS connection to Sigil (the HTTP export, the hooks' evaluations)."""

from __future__ import annotations

import ssl


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's trust store, or ``ca_file`` (SIGIL_TLS_CA_FILE) instead when given."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
