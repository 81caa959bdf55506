#!/bin/sh
# Install Python packages into the environment that runs litellm, whatever the base image's layout, and
# never change what the base installed (install_into_litellm_env.py beside this file does the work):
#   install-into-litellm-env.sh PACKAGE...
# This part finds that environment's Python: current official images keep litellm in /app/.venv,
# older ones in a system Python. A base without litellm stops here with one line.
set -eu

for candidate in /app/.venv/bin/python "$(command -v python3 || true)" "$(command -v python || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
        && "$candidate" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("litellm") is None)' 2>/dev/null; then
        exec "$candidate" "$(dirname "$0")/install_into_litellm_env.py" "$@"
    fi
done
echo "install-into-litellm-env: no Python with litellm in this image (looked at /app/.venv/bin/python, python3, python): is it a LiteLLM image?" >&2
exit 1
