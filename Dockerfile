# syntax=docker/dockerfile:1
# The LiteLLM proxy with the Sigil callback: the official LiteLLM image plus this repository's handler
# package, the dev tools (sigil-mock-sink, fake-llm, the MCP server sigil_devstack.mcp_tools; the compose
# stack and the Kubernetes mock-sink and mcp-tools components run them from this image), sigil_callback.py
# and the default config in /app.
#
#   docker build -t litellm-sigil .
#   docker run --rm -p 127.0.0.1:4000:4000 -e LITELLM_MASTER_KEY=sk-... -e SIGIL_ENDPOINT=... litellm-sigil
#
# It builds on either layout of the official image: the current one (user 65532, ENTRYPOINT
# /app/docker-entrypoint.sh, no CMD) and the older root one (ENTRYPOINT docker/prod_entrypoint.sh). It
# installs as root, keeps the base's entrypoint and ends as 65532; the base's packages stay as they are.
# Pin the base by digest for reproducible builds, after checking LiteLLM's cosign signature (keyless
# for current releases, a key for v1.108.5; docker/verify-litellm-image.sh tries both, docs/containers.md):
#   docker/verify-litellm-image.sh ghcr.io/berriai/litellm@sha256:<digest>
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

# the install steps run as root, whatever user the base ends with (USER 65532:65532 again below)
USER 0:0
WORKDIR /app
# HOME and TMPDIR on /tmp: with a read-only root file system /tmp is the only writable path
ENV PATH="/app/.venv/bin:${PATH}" \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True

# The handler package and the dev tools, into the environment that runs litellm: additions only, every
# package of the base stays at its version (a conflict stops the build with one line naming it).
COPY docker/install-into-litellm-env.sh docker/install_into_litellm_env.py /tmp/build/
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

# The official image's own user. Any non-root uid works: nothing of ours needs to be owned by it.
USER 65532:65532
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4000/health/liveliness', timeout=4)"]
# The base's ENTRYPOINT is kept: the current dispatcher (/app/docker-entrypoint.sh) runs `litellm "$@"`
# for arguments starting with "-", the older docker/prod_entrypoint.sh execs litellm with them.
CMD ["--config", "/app/config.yaml", "--port", "4000"]
