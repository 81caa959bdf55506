"""One fake secret per pattern family of sigil-sdk's secret redaction (SIGIL_REDACT_SECRETS).

Each value is made here from a seeded generator in the family's format (prefix, alphabet, length), so it
matches the SDK's pattern and is nobody's secret; none is written out in the source, so no secret scanner
trips over this file. ``body`` is the part that must not leave the worker (the random part: a prefix like
``ghp_`` or ``Bearer`` alone gives nothing away).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

from sigil_sdk import (
    Generation,
    Message,
    MessageRole,
    Part,
    PartKind,
    SecretRedactionOptions,
    create_secret_redaction_sanitizer,
)

_ALNUM = string.ascii_letters + string.digits
_TOKEN = _ALNUM + "_-"
_UPPER32 = string.ascii_uppercase + "234567"
_HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Sample:
    family: str  # the SDK's pattern id, as in its [REDACTED:<family>]
    text: str  # the secret as it would be pasted
    body: str  # what must not appear anywhere after redaction
    tier: str  # the lowest SIGIL_REDACT_SECRETS tier that redacts it


def _samples() -> list[Sample]:
    rng = random.Random(20261207)

    def pick(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    def plain(family: str, prefix: str, body: str, suffix: str = "") -> Sample:
        return Sample(family, prefix + body + suffix, body, "lightweight")

    pem = "\n".join(pick(string.ascii_letters + string.digits + "+/", 64) for _ in range(3))
    password = pick(_ALNUM, 18)
    connection = pick(_ALNUM, 16)
    mailbox = "ops." + pick(string.ascii_lowercase, 10)
    return [
        plain("grafana-cloud-token", "glc_", pick(_TOKEN, 32)),
        plain("grafana-service-account-token", "glsa_", pick(_TOKEN, 32)),
        plain("aws-access-token", "AKIA", pick(_UPPER32, 16)),
        plain("github-pat", "ghp_", pick(_ALNUM, 36)),
        plain("github-oauth", "gho_", pick(_ALNUM, 36)),
        plain("github-app-token", "ghs_", pick(_ALNUM, 36)),
        plain("github-fine-grained-pat", "github_pat_", pick(_ALNUM + "_", 82)),
        plain("anthropic-api-key", "sk-ant-api03-", pick(_TOKEN, 93), "AA"),
        plain("anthropic-admin-key", "sk-ant-admin01-", pick(_TOKEN, 93), "AA"),
        plain("openai-api-key", "sk-", pick(_ALNUM, 20) + "T3BlbkFJ" + pick(_ALNUM, 20)),
        plain("openai-project-key", "sk-proj-", pick(_TOKEN, 48)),
        plain("openai-svcacct-key", "sk-svcacct-", pick(_TOKEN, 48)),
        plain("gcp-api-key", "AIza", pick(_TOKEN, 35)),
        Sample(
            "private-key",
            f"-----BEGIN RSA PRIVATE KEY-----\n{pem}\n-----END RSA PRIVATE KEY-----",
            pem.split("\n")[1],
            "lightweight",
        ),
        Sample(
            "connection-string",
            f"postgres://app:{connection}@db.internal:5432/orders",
            connection,
            "lightweight",
        ),
        plain("bearer-token", "Bearer ", pick(_ALNUM, 40)),
        plain("slack-token", "xoxb-", pick(string.digits, 12) + "-" + pick(_ALNUM, 24)),
        plain("stripe-key", "sk_live_", pick(_ALNUM, 28)),
        plain("sendgrid-api-key", "SG.", pick(_TOKEN, 22) + "." + pick(_TOKEN, 43)),
        plain("twilio-api-key", "SK", pick(_HEX, 32)),
        plain("npm-token", "npm_", pick(_ALNUM, 36)),
        plain("pypi-token", "pypi-", pick(_TOKEN, 64)),
        Sample("email", f"{mailbox}@example.com", mailbox, "lightweight"),
        Sample("env-secret-value", f"DB_PASSWORD={password}", password, "full"),
    ]


SAMPLES = _samples()


def sdk_redacts(sample: Sample, tier: str) -> str:
    """What the SDK's own sanitizer makes of ``sample.text`` at ``tier`` (the reference the tests compare with)."""
    role = MessageRole.USER if tier == "full" else MessageRole.ASSISTANT
    part = Part(kind=PartKind.TEXT, text=sample.text)
    create_secret_redaction_sanitizer(SecretRedactionOptions(redact_input_messages=True))(
        Generation(input=[Message(role=role, parts=[part])])
    )
    return part.text
