"""Detectors for the secrets this project itself hands out, added to detect-secrets' own.

detect-secrets (its plugins for AWS, GitHub classic tokens, Slack, Stripe, JWTs, ...) has none
for the model providers' keys, GitHub's fine-grained tokens or a PEM private key in a long
text, yet those are what an agent run could leak. Each is a ``RegexBasedDetector``, the
tool's own extension point; ``secret_scan.py`` loads this file by path (detect-secrets' custom
plugin mechanism), so it is imported only when a final message is scanned. The same file is
what `.github/secret-scan/scan.py` loads in run-agent.yml, so the API and the workflow withhold
the same things.
"""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class AnthropicKeyDetector(RegexBasedDetector):
    """Anthropic API and admin keys (sk-ant-api03-..., sk-ant-admin01-...)."""

    secret_type = "Anthropic API Key"
    denylist = (re.compile(r"sk-ant-[a-z]+[0-9]*-[A-Za-z0-9_-]{20,}"),)


class OpenAIKeyDetector(RegexBasedDetector):
    """OpenAI project, service-account and admin keys, and the older user keys."""

    secret_type = "OpenAI API Key"
    denylist = (
        re.compile(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"),
        re.compile(r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}"),
    )


class SkPrefixedKeyDetector(RegexBasedDetector):
    """Any other `sk-` key of 32 characters or more, as a key printed in prose appears (the
    providers add prefixes over time; the scan errs on withholding)."""

    secret_type = "Model provider API key (sk-)"
    denylist = (re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{32,}"),)


class OpenRouterKeyDetector(RegexBasedDetector):
    """OpenRouter keys (sk-or-v1- and 64 hex digits)."""

    secret_type = "OpenRouter API Key"
    denylist = (re.compile(r"sk-or-v1-[0-9a-f]{64}"),)


class XaiKeyDetector(RegexBasedDetector):
    """xAI keys (xai- and 80 letters and digits)."""

    secret_type = "xAI API Key"
    denylist = (re.compile(r"xai-[A-Za-z0-9]{40,}"),)


class GoogleApiKeyDetector(RegexBasedDetector):
    """Google API keys, Gemini's included (AIza and 35 characters)."""

    secret_type = "Google API Key"
    denylist = (re.compile(r"AIza[0-9A-Za-z_-]{35}"),)


class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    """GitHub fine-grained personal access tokens (the clone token's required shape)."""

    secret_type = "GitHub Fine-Grained Token"
    denylist = (re.compile(r"github_pat_[A-Za-z0-9_]{22,}"),)


class PemPrivateKeyDetector(RegexBasedDetector):
    """A PEM private key's header line, in a text of any length (the tool's own detector
    looks at whole files only below 8 KiB)."""

    secret_type = "PEM Private Key"
    denylist = (re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),)
