#!/bin/sh
# Check an official LiteLLM image's cosign signature the way upstream signed that release, and print the
# reference pinned by digest (for LITELLM_IMAGE). CI (.github/workflows/containers.yml) and the release
# (.github/workflows/release.yml) both build from what this prints.
#   docker/verify-litellm-image.sh ghcr.io/berriai/litellm:v1.108.5
#   → ghcr.io/berriai/litellm:v1.108.5@sha256:…
# Upstream's trust roots, newest first (docs/containers.md says where each is documented):
#   keyless: a certificate issued to BerriAI/project-releaser's release workflow on main through
#            GitHub's OIDC issuer (release notes from v1.108.10 on);
#   keys:    cosign.pub as published at BerriAI/litellm e82a3c6 (v1.108.0 to v1.108.9, v1.109.x)
#            and at 0112e53 (the releases before).
# The first that verifies wins; none: one line, status 1. Needs cosign and docker buildx.
set -eu

ref=${1:?usage: verify-litellm-image.sh IMAGE[:TAG][@sha256:DIGEST]}
case "$ref" in
    *@sha256:*) pinned=$ref ;;
    *)
        digest=$(docker buildx imagetools inspect "$ref" --format '{{json .Manifest}}' \
            | python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')
        pinned="$ref@$digest"
        ;;
esac

if cosign verify \
    --certificate-identity https://github.com/BerriAI/project-releaser/.github/workflows/release.yml@refs/heads/main \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com "$pinned" >/dev/null 2>&1; then
    echo "verify-litellm-image: $pinned: keyless signature of BerriAI/project-releaser" >&2
    echo "$pinned"
    exit 0
fi
for commit in e82a3c646908ba0a6ee0beddc4310d7a6cac4065 0112e53046018d726492c814b3644b7d376029d0; do
    if cosign verify --key "https://raw.githubusercontent.com/BerriAI/litellm/$commit/cosign.pub" \
        "$pinned" >/dev/null 2>&1; then
        echo "verify-litellm-image: $pinned: signed with the key published at BerriAI/litellm $commit" >&2
        echo "$pinned"
        exit 0
    fi
done
echo "verify-litellm-image: $pinned: no signature from any of LiteLLM's trust roots (keyless, keys e82a3c6, 0112e53)" >&2
exit 1
