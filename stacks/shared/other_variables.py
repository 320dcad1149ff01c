"""The project's `CLOUDAGENT_*` variables that are not settings, each with what it is for.

Beside the settings (`settings.py`): synth refuses any other `CLOUDAGENT_*` variable, so a
misspelt setting cannot be silently ignored, and docs/SETTINGS.md lists these under the settings.
"""

from __future__ import annotations

# Variables that start with CLOUDAGENT_ but are not settings: local tooling and the GitHub
# repository variables the workflows read. Anything else with the prefix is a typo.
OTHER_VARIABLES = {
    "CLOUDAGENT_OUTDIR": "where `make synth` writes the stacks (default cdktf.out)",
    "CLOUDAGENT_SLOW_IMPORT": "`1` imports the provider bindings the ordinary (slow) way",
    "CLOUDAGENT_MOTO_PORT": "`make up`: the embedded AWS's port (default: a free one)",
    "CLOUDAGENT_API_PORT": "`make up`: the local API's port (default: a free one)",
    "CLOUDAGENT_LOCAL_DIR": "`make up`: where pids, ports and logs go (default .local/)",
    "CLOUDAGENT_LOCAL_MODELS": "`make up`: `fake` (default) or `real` model providers",
    "CLOUDAGENT_IMAGE_CACHE": "`make image`: where the stand-in base image archive is kept",
    "CLOUDAGENT_PLAN_ROLE_ARN": "GitHub variable: the plan role (foundation output)",
    "CLOUDAGENT_DEPLOY_ROLE_ARN": "GitHub variable: the deploy role (foundation output)",
    "CLOUDAGENT_IMAGE_ROLE_ARN": "GitHub variable: the image role (foundation output)",
    "CLOUDAGENT_ADMIN_ROLE_ARN": "GitHub variable: the admin-invoke role (api output)",
    "CLOUDAGENT_API_URL": "GitHub variable: the API's URL (api output `api_url`)",
    "CLOUDAGENT_AGENT_PROVIDER": "GitHub variable: provider of runs started by an issue label",
    "CLOUDAGENT_AGENT_MODEL": "GitHub variable: model of runs started by an issue label",
}
