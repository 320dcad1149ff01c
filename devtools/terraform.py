"""Run the real Terraform CLI on synthesized stacks, with providers from the local mirror.

The machines that build this project have no registry access; Terraform installs
hashicorp/aws from a filesystem mirror through a CLI config we write (the ambient
TF_CLI_CONFIG_FILE may point at a file that does not exist).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PROVIDER = "registry.terraform.io/hashicorp/aws"
DEFAULT_MIRRORS = ("/opt/tf-plugins", "/usr/share/terraform/plugins", "~/.terraform.d/plugins")


class TerraformError(RuntimeError):
    """A Terraform command failed; the message carries its output."""


def find_mirror() -> Path:
    """The filesystem mirror that holds hashicorp/aws (TF_PROVIDER_MIRROR overrides)."""
    candidates = [os.environ.get("TF_PROVIDER_MIRROR", ""), *DEFAULT_MIRRORS]
    for candidate in candidates:
        if candidate and (Path(candidate).expanduser() / PROVIDER).is_dir():
            return Path(candidate).expanduser()
    raise TerraformError(
        f"no Terraform provider mirror with {PROVIDER} found in {', '.join(DEFAULT_MIRRORS)}; "
        "set TF_PROVIDER_MIRROR to the directory that contains registry.terraform.io/"
    )


def write_cli_config(path: Path, mirror: Path | None = None) -> Path:
    mirror = mirror or find_mirror()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["{PROVIDER}"]\n  }}\n'
        f'  direct {{\n    exclude = ["{PROVIDER}"]\n  }}\n'
        "}\n"
    )
    return path


def moto_backend_config(moto_url: str) -> list[str]:
    """`-backend-config` overrides that point the production S3 backend at moto server."""
    return [
        f'-backend-config=endpoints={{s3="{moto_url}",sts="{moto_url}",iam="{moto_url}"}}',
        "-backend-config=use_path_style=true",
        "-backend-config=skip_credentials_validation=true",
        "-backend-config=skip_requesting_account_id=true",
        "-backend-config=skip_metadata_api_check=true",
        "-backend-config=skip_region_validation=true",
        "-backend-config=skip_s3_checksum=true",
        "-backend-config=access_key=testing",
        "-backend-config=secret_key=testing",
    ]


@dataclass
class Terraform:
    """One stack's working directory and the environment Terraform runs with there."""

    workdir: Path
    cli_config: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        binary = shutil.which("terraform")
        if binary is None:
            raise TerraformError("terraform is not on PATH (Terraform CLI 1.11 is required)")
        env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(self.cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            **self.env,
        }
        env.pop("TF_PLUGIN_CACHE_DIR", None)
        result = subprocess.run(
            [binary, f"-chdir={self.workdir}", args[0], "-no-color", *args[1:]],
            env=env,
            capture_output=True,
            text=True,
        )
        if check and result.returncode != 0:
            raise TerraformError(
                f"terraform {' '.join(args)} in {self.workdir} failed ({result.returncode}):\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def init(self, *extra: str) -> None:
        self.run("init", "-input=false", *extra)

    def validate(self) -> None:
        self.run("validate")

    def apply(self, *extra: str) -> str:
        return self.run("apply", "-auto-approve", "-input=false", *extra).stdout

    def destroy(self, *extra: str) -> str:
        return self.run("destroy", "-auto-approve", "-input=false", *extra).stdout

    def output(self) -> dict:
        import json

        return json.loads(self.run("output", "-json").stdout)
