#!/bin/sh
# Install Python packages into the environment that runs litellm, whatever the base image's layout:
#   - current official images: /app/.venv without pip;
#   - older ones: a system or venv Python with pip.
# litellm itself stays at the base image's version (a constraint). pip comes, in this order, from the
# environment itself, from a throw-away venv (ensurepip), or, when the base has neither, from pip's
# wheel on PyPI (checked against PyPI's sha256) run in place. Nothing of the installer is left behind.
#   install-into-litellm-env.sh PACKAGE...
# PIP_CERT (a CA bundle path) is honoured by every path.
set -eu

py=""
for candidate in /app/.venv/bin/python "$(command -v python3 || true)" "$(command -v python || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
        && "$candidate" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("litellm") is None)' 2>/dev/null; then
        py=$candidate
        break
    fi
done
if [ -z "$py" ]; then
    echo "install-into-litellm-env: no Python with litellm found in this image" >&2
    exit 1
fi
version=$("$py" -c 'from importlib.metadata import version; print(version("litellm"))')
echo "install-into-litellm-env: installing into $py (litellm $version)" >&2
work=$(mktemp -d)
echo "litellm==$version" >"$work/constraints.txt"

if "$py" -m pip --version >/dev/null 2>&1; then
    set -- "$py" -m pip install "$@"
elif "$py" -m venv "$work/installer" >/dev/null 2>&1; then
    set -- "$work/installer/bin/python" -m pip --python "$py" install "$@"
else
    "$py" - "$work/pip.whl" <<'PYTHON'
import hashlib, json, os, ssl, sys, urllib.parse, urllib.request
context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
index = "https://pypi.org/pypi/pip/json"
with urllib.request.urlopen(index, context=context, timeout=60) as response:
    [wheel] = [f for f in json.load(response)["urls"] if f["filename"].endswith(".whl")]
with urllib.request.urlopen(urllib.parse.urljoin(index, wheel["url"]), context=context, timeout=60) as response:
    data = response.read()
if hashlib.sha256(data).hexdigest() != wheel["digests"]["sha256"]:
    sys.exit("install-into-litellm-env: pip's wheel does not match PyPI's sha256")
with open(sys.argv[1], "wb") as out:
    out.write(data)
PYTHON
    set -- "$py" "$work/pip.whl/pip" install "$@"
fi

PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 "$@" --quiet --constraint "$work/constraints.txt"
rm -rf "$work"
