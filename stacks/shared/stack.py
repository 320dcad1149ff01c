"""What every stack shares: its AWS provider, its own state, and tags that say who owns what.

Each stack is its own Terraform workspace with its own state so that `agent` can be re-applied
or rolled back without touching `foundation` or `api` (docs/ARCHITECTURE.md §1).
"""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from stacks.shared.arns import Arns
from stacks.shared.settings import Settings
from stacks.shared.tags import default_tags

# Local state lives next to the stack's JSON (terraform -chdir=cdktf.out/stacks/<name>). The path
# is relative, so the synthesized JSON does not depend on where the repo is checked out, and
# spelled `../<stack>/` so the consumer stacks' remote-state data sources, which copy it and
# resolve it from their own directory, find the producer's state.
LOCAL_STATE_FILE = "terraform.tfstate"


def local_state_path(stack: str) -> str:
    return f"../{stack}/{LOCAL_STATE_FILE}"


class CloudAgentStack(TerraformStack):
    """A stack with the project's provider, tags and a per-stack state (S3 or local)."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id)
        self.settings = settings
        self._arns: Arns | None = None
        self.provider = AwsProvider(
            self,
            "aws",
            region=settings.region,
            default_tags=[AwsProviderDefaultTags(tags=self.tags_for(id))],
        )
        self._configure_backend(id)

    @property
    def arns(self) -> Arns:
        """The stack's ARN builder: account and partition read once from its provider."""
        if self._arns is None:
            self._arns = Arns.in_scope(self, self.settings)
        return self._arns

    def tags_for(self, stack: str) -> dict[str, str]:
        """Every resource carries them; the deploy role's tag-scoped writes rely on it."""
        return default_tags(self.settings.env_name, stack)

    def _configure_backend(self, stack: str) -> None:
        bucket = self.settings.state_bucket
        if bucket:
            backend = S3Backend(
                self,
                bucket=bucket,
                key=self.settings.state_key(stack),
                region=self.settings.region,
                encrypt=True,
            )
            # S3-native locking (Terraform >= 1.10); the cdktf binding predates the option.
            backend.add_override("use_lockfile", True)
        else:
            LocalBackend(self, path=local_state_path(stack))
