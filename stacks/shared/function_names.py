"""The control functions' names, and which service may invoke each: one place for both.

The api stack creates the functions and their invoke permissions; the deploy role (foundation)
may add an invoke permission only for the service each function is wired to, on that function
alone — so the names and the wiring must agree, and they are read from here by both.
"""

from __future__ import annotations

from stacks.shared.settings import Settings
from toolchain.chalice_package import API_HANDLER

ADMIN_FUNCTION = "admin"
TASK_STATE_FUNCTION = "task_state"
REAPER_FUNCTION = "reaper"

# The service each triggered function is invoked by; the admin function has none (only the
# `-github-admin` role invokes it, through IAM, never through a resource-policy permission).
INVOKED_BY = {
    API_HANDLER: "apigateway.amazonaws.com",
    TASK_STATE_FUNCTION: "events.amazonaws.com",
    REAPER_FUNCTION: "events.amazonaws.com",
}


def function_name(settings: Settings, chalice_name: str) -> str:
    suffix = "api" if chalice_name == API_HANDLER else chalice_name.replace("_", "-")
    return f"{settings.prefix}-{suffix}"
