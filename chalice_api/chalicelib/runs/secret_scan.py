"""The secret scan of a run's final message before it is stored: detect-secrets decides.

The final message is text the agent wrote, and whoever writes the prompt steers the agent;
it is served by ``GET /v1/runs/{id}`` and published by workflows. So before it is stored it is
scanned with detect-secrets (bc-detect-secrets, the maintained fork Checkov ships, whose
module is ``detect_secrets``), and a hit replaces it with one line naming what matched.

The tool runs as its own CLI does on a file: ``scan_file`` with its filters, on a temporary
file holding the message (as ASCII with backslash escapes, so no locale can make the tool
skip it as binary). Its plugins, minus the two that answer on ordinary output (the hex
entropy one flags every commit SHA, the keyword one every ``password = os.environ[...]``),
plus ``secret_detectors.py`` for the keys this project hands out. A scanner failure withholds
the message too: a scan that could not run is not a clean one. detect-secrets and its
dependencies are imported on the first scan, never with the app.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BUILTIN_DETECTORS = (
    "AWSKeyDetector",
    "ArtifactoryDetector",
    "AzureStorageKeyDetector",
    "Base64HighEntropyString",
    "BasicAuthDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "JwtTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "PrivateKeyDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TwilioKeyDetector",
)
DETECTORS_PATH = "file://" + str(Path(__file__).resolve().with_name("secret_detectors.py"))
# detect-secrets keeps its settings in a module global: one scan at a time.
_lock = threading.Lock()


@functools.cache
def _settings() -> dict[str, Any]:
    """Its built-in detectors and every detector of ``secret_detectors.py``, found by class
    (as run-agent.yml's scan finds them), so a detector added there is used by both."""
    from detect_secrets.plugins.base import RegexBasedDetector

    from . import secret_detectors

    project = sorted(
        name
        for name, value in vars(secret_detectors).items()
        if isinstance(value, type)
        and issubclass(value, RegexBasedDetector)
        and value.__module__ == secret_detectors.__name__
    )
    return {
        "plugins_used": [
            *({"name": name} for name in BUILTIN_DETECTORS),
            *({"name": name, "path": DETECTORS_PATH} for name in project),
        ]
    }


def secret_types(text: str) -> list[str]:
    """The kinds of secret detect-secrets finds in ``text`` (sorted; empty when none)."""
    import tempfile

    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import transient_settings

    with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
        path = Path(tmp) / "final_message.txt"
        path.write_bytes(text.encode("ascii", "backslashreplace"))
        with _lock, transient_settings(_settings()):
            # The plugin table is cached on first use; it must include this file's detectors.
            get_mapping_from_secret_type_to_class.cache_clear()
            return sorted({str(secret.type) for secret in scan_file(str(path))})


def withheld(message: str | None) -> tuple[str | None, bool]:
    """``(text to store, withheld?)``: the message, or one line saying why it is withheld."""
    if not message:
        return message, False
    try:
        found = secret_types(message)
    except Exception as exc:  # fail closed, and never log the text
        log.error("the secret scan failed: %s", type(exc).__name__)
        return f"[withheld: the secret scanner could not run ({type(exc).__name__})]", True
    if not found:
        return message, False
    return f"[withheld: the secret scanner matched {', '.join(found)}]", True
