#!/bin/sh
# Stand-in for the official image's /app/docker-entrypoint.sh (BerriAI/litellm at b2b2f0d, see
# docs/containers.md), reduced to what this repository runs: the component dispatcher's interface and
# its `proxy` path. A first argument starting with "-" (or none) runs `litellm "$@"`, as does the
# `proxy` component; an unknown first word is run as a command (`docker run IMAGE sh`). The other
# components (gateway, backend, ui, migrations, metrics, collector, --admin-agent) need files the
# stand-in does not have and stop with status 64; USE_DDTRACE is not supported (no ddtrace here).
# Kept from the original: LITELLM_COMPONENT as the default component, and stale Prometheus
# multiprocess samples cleared before the proxy starts when PROMETHEUS_MULTIPROC_DIR is set.
set -eu

component="${LITELLM_COMPONENT:-proxy}"
case "${1:-}" in
    "" | -*) ;;
    proxy | gateway | backend | ui | migrations | metrics | collector)
        component=$1
        shift
        ;;
    --admin-agent) component=admin-agent ;;
    *) exec "$@" ;;
esac

case "$component" in
    proxy) set -- litellm "$@" ;;
    *)
        echo "docker-entrypoint.sh (stand-in): component '$component' is not part of this stand-in" >&2
        exit 64
        ;;
esac

if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db "$PROMETHEUS_MULTIPROC_DIR"/litellm_admitted_series_*
fi

exec "$@"
