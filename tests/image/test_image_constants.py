"""The image's JS names and the stacks' Python constants agree (container contract, §4).

The task definition sets the proxy's port and uid, the handoff path and the placeholder key
the image's code assumes; a drift would make the agent knock on a port nobody listens on.
"""

from __future__ import annotations

import re

import pytest

from devtools.pi_runtime import ENTRYPOINT_LIB
from stacks.shared import constants

# The contract's values. TODO: once stacks/shared/constants.py carries every one of these
# names (added with the stacks' side of the three-container task), compare with it alone.
CONTRACT = {
    "MODEL_PROXY_PORT": 8787,
    "MODEL_PROXY_UID": 1001,
    "MODEL_PROXY_PLACEHOLDER_KEY": "cloudagent-model-proxy",
    "AGENT_HANDOFF_DIR": "/run/cloudagent/handoff",
    "AGENT_REPO_TOKEN_ENV": "AGENT_REPO_TOKEN",
    # presigned URLs the control plane sets for a task (issue 22): the agent's session PUT,
    # repo-init's continuation bundle GET
    "AGENT_SESSION_UPLOAD_URL_ENV": "AGENT_SESSION_UPLOAD_URL",
    "AGENT_CONTINUE_URL_ENV": "AGENT_CONTINUE_URL",
}
JS_NAME = {
    "AGENT_REPO_TOKEN_ENV": "REPO_TOKEN_VAR",
    "AGENT_SESSION_UPLOAD_URL_ENV": "SESSION_UPLOAD_URL_VAR",
    "AGENT_CONTINUE_URL_ENV": "CONTINUE_URL_VAR",
}


def js_constant(name: str) -> int | str:
    source = (ENTRYPOINT_LIB / "constants.js").read_text()
    m = re.search(rf'^const {name} = ("[^"]*"|[0-9]+);', source, re.MULTILINE)
    assert m, name
    raw = m.group(1)
    return raw.strip('"') if raw.startswith('"') else int(raw)


@pytest.mark.parametrize("name", list(CONTRACT))
def test_js_constant_matches(name: str) -> None:
    expected = getattr(constants, name, CONTRACT[name])
    assert expected == CONTRACT[name], f"stacks/shared/constants.py {name} left the contract"
    assert js_constant(JS_NAME.get(name, name)) == expected


def test_providers_and_key_variables_match() -> None:
    source = (ENTRYPOINT_LIB / "constants.js").read_text()
    pairs = dict(re.findall(r'\n  (\w+): \{\s*keyVar: "([A-Z_]+)"', source))
    assert pairs == constants.PROVIDER_KEY_ENV


def test_dockerfile_users_and_handoff() -> None:
    """The image makes the proxy's uid and the handoff directory the constants name."""
    dockerfile = (ENTRYPOINT_LIB.parent / "Dockerfile").read_text()
    uid = CONTRACT["MODEL_PROXY_UID"]
    assert f"useradd --uid {uid} --gid {uid}" in dockerfile
    assert f"-o operator -g operator -m 0755 {CONTRACT['AGENT_HANDOFF_DIR']}" in dockerfile
