# syntax=docker/dockerfile:1
# The LiteLLM proxy with the Sigil callback: the official LiteLLM image plus this repository's handler
# package, the dev tools (sigil-mock-sink, fake-llm; the compose stack and the Kubernetes mock-sink
# component run them from this image), sigil_callback.py and the default config in /app.
#
#   docker build -t litellm-sigil .
#   docker run --rm -p 127.0.0.1:4000:4000 -e LITELLM_MASTER_KEY=sk-... -e SIGIL_ENDPOINT=... litellm-sigil
#
# Pin the base by digest for reproducible builds, after checking LiteLLM's cosign signature
# (docs/containers.md):
#   cosign verify --key https://raw.githubusercontent.com/BerriAI/litellm/v1.108.5/cosign.pub \
#     ghcr.io/berriai/litellm:v1.108.5@sha256:<digest>
#   docker build --build-arg LITELLM_IMAGE=ghcr.io/berriai/litellm:v1.108.5@sha256:<digest> .
# Without registry access, a stand-in with the official layout: LITELLM_IMAGE=$(docker/standin-base.sh).
ARG LITELLM_IMAGE=ghcr.io/berriai/litellm:v1.108.5

FROM ${LITELLM_IMAGE}

# a CA bundle for pip, e.g. behind a TLS-intercepting proxy (empty: pip's own); the podman setup in
# docker/containers.conf mounts the host's at /run/host-ca.crt
ARG PIP_CERT=
ARG VERSION=0.3.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG LITELLM_IMAGE

LABEL org.opencontainers.image.title="litellm-sigil" \
      org.opencontainers.image.description="LiteLLM proxy with Grafana Sigil telemetry (sigil-sdk-litellm)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${LITELLM_IMAGE}"

WORKDIR /app
# HOME and TMPDIR on /tmp: with a read-only root file system /tmp is the only writable path
ENV PATH="/app/.venv/bin:${PATH}" \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True

# The handler package and the dev tools, into the environment that runs litellm (litellm unchanged).
COPY docker/install-into-litellm-env.sh /tmp/build/
COPY pyproject.toml README.md sigil_callback.py /tmp/build/handler/
COPY src /tmp/build/handler/src
COPY tools /tmp/build/tools
RUN PIP_CERT=${PIP_CERT} /tmp/build/install-into-litellm-env.sh "/tmp/build/handler[proxy]" /tmp/build/tools \
    && rm -rf /tmp/build \
    # LiteLLM restructures its admin UI files on first import; do it now, as it cannot on a read-only root
    && python -c "import litellm.proxy.proxy_server, sigil_sdk_litellm.proxy.bootstrap" \
    && rm -rf /tmp/* /root/.cache \
    # the disk spool's directory (SIGIL_SPOOL_DIR): a named volume mounted here starts with this owner
    && mkdir -p /var/lib/sigil-spool && chown 65532:65532 /var/lib/sigil-spool

COPY sigil_callback.py config/config.yaml /app/

# Any non-root uid works: nothing needs to be owned by it (Kubernetes uses 65532 too).
USER 65532:65532
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4000/health/liveliness', timeout=4)"]
# The official ENTRYPOINT (docker/prod_entrypoint.sh, which execs litellm) is kept.
CMD ["--config", "/app/config.yaml", "--port", "4000"]
