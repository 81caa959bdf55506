"""sigil-sdk's spans and ``gen_ai`` metrics over OTLP: :mod:`.otlp` builds a tracer and a meter provider
from the ``OTEL_*`` settings in the process that records (the worker, or its recorder process)."""
