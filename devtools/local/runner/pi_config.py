"""What only this machine adds to a task's pi: the fake model's `models.json`, local repositories.

With the fake model, pi's `models.json` names the run's provider, API and model (the task's
model proxy forwards them to the fake); a repository
URL the API made (`https://github.com/OWNER/NAME.git`) is mapped to a bare repository under
`.local/repos/` when one exists there.
"""

from __future__ import annotations

import re
from pathlib import Path

from stacks.shared.constants import PROVIDER_KEY_ENV

GITHUB_REPO = re.compile(r"^https://github\.com/([A-Za-z0-9._-]+)/([A-Za-z0-9._-]+?)(?:\.git)?$")


def models_json(provider: str, model: str, base_url: str | None) -> dict:
    """pi's models.json that sends `provider`/`model` to the fake (OpenAI Responses) server.

    A custom model with a built-in id replaces it, so any provider/model pair works. Behind
    the task's model proxy (`base_url` None) only the API and the model are written: the
    entrypoint points the provider at the proxy with a placeholder key, and the proxy alone
    holds the key and the fake's URL. Without a proxy the fake's URL is written here and the
    key is read from the provider's usual variable.
    """
    entry: dict = {"api": "openai-responses", "models": [{"id": model, "api": "openai-responses"}]}
    if base_url is not None:
        entry = {
            "baseUrl": base_url,
            **entry,
            "apiKey": PROVIDER_KEY_ENV.get(provider, "OPENAI_API_KEY"),
        }
    return {"providers": {provider: entry}}


# pi's defaults wait 10 minutes on a hung model and retry; a local fake answers at once.
PI_SETTINGS = {"retry": {"enabled": False, "provider": {"timeoutMs": 30000, "maxRetries": 0}}}


def local_repository(url: str, repos_dir: Path) -> Path | None:
    """`https://github.com/O/N.git` -> `<repos_dir>/O/N.git` when that bare repo exists."""
    found = GITHUB_REPO.match(url.strip())
    if not found:
        return None
    local = repos_dir / found.group(1) / f"{found.group(2)}.git"
    return local.resolve() if (local / "HEAD").exists() else None
