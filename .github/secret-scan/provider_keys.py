"""detect-secrets plugins for the credentials this project's runs could hold.

detect-secrets' own plugins find a provider key only in a form it knows (an OpenAI key with
its `T3BlbkFJ` marker, `ghp_` GitHub tokens) or in a quoted, high-entropy string; a key an
agent prints in prose matches neither. These add the key formats of the model providers the
project supports and GitHub's fine-grained tokens (the repository token's only accepted form).
"""

import re

from detect_secrets.plugins.base import RegexBasedDetector


class AnthropicKeyDetector(RegexBasedDetector):
    """Anthropic API keys (`sk-ant-...`)."""

    secret_type = "Anthropic API key"
    denylist = (re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}"),)


class SkPrefixedKeyDetector(RegexBasedDetector):
    """OpenAI (`sk-`, `sk-proj-`, `sk-svcacct-`) and OpenRouter (`sk-or-v1-`) keys."""

    secret_type = "Model provider API key (sk-)"
    denylist = (re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{32,}"),)


class GoogleApiKeyDetector(RegexBasedDetector):
    """Google API keys (Gemini): `AIza` and 35 more characters."""

    secret_type = "Google API key"
    denylist = (re.compile(r"AIza[0-9A-Za-z_-]{35}"),)


class XaiKeyDetector(RegexBasedDetector):
    """xAI API keys (`xai-...`)."""

    secret_type = "xAI API key"
    denylist = (re.compile(r"(?<![A-Za-z0-9])xai-[A-Za-z0-9]{32,}"),)


class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    """GitHub fine-grained personal access tokens (`github_pat_...`)."""

    secret_type = "GitHub fine-grained token"
    denylist = (re.compile(r"github_pat_[A-Za-z0-9_]{40,}"),)
