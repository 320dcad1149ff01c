"""Apply and destroy the synthesized stacks on the embedded AWS, each with its own S3 state.

The stacks are deployed exactly as synthesized (production S3 backend, production provider
block); only the endpoints differ, and those are given from outside: `-backend-config` for the
backend, AWS_ENDPOINT_URL for the provider, and an override file for the remote-state data
sources a consumer stack reads its producer through.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from devtools.moto_server import MotoServer
from devtools.plan_only import plan_only
from devtools.terraform import Terraform, moto_backend_config

OVERRIDE_FILE = "moto_override.tf.json"


def remote_state_overrides(stack_json: dict, moto_url: str) -> dict | None:
    """Point every `terraform_remote_state` (S3) of a stack at moto server, path-style."""
    sources = stack_json.get("data", {}).get("terraform_remote_state", {})
    if not sources:
        return None
    patched = {}
    for name, source in sources.items():
        if source.get("backend") != "s3":
            continue
        config = dict(source.get("config", {}))
        config.update(
            endpoints={"s3": moto_url, "sts": moto_url},
            use_path_style=True,
            skip_credentials_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check=True,
            skip_region_validation=True,
            access_key="testing",
            secret_key="testing",
        )
        patched[name] = {"config": config}
    return {"data": {"terraform_remote_state": patched}} if patched else None


@dataclass
class LocalDeployment:
    """The three stacks on one moto server, in working copies under `workroot`."""

    synth_dir: Path
    workroot: Path
    moto: MotoServer
    bucket: str
    region: str
    cli_config: Path
    progress: Callable[[str], None] = field(default=lambda message: None)

    def __post_init__(self) -> None:
        self.env = self.moto.aws_env(self.region)

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.moto.url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def ensure_state_bucket(self) -> None:
        s3 = self.client("s3")
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if self.bucket not in existing:
            s3.create_bucket(Bucket=self.bucket)

    def workdir(self, stack: str) -> Path:
        return self.workroot / stack

    def terraform(self, stack: str) -> Terraform:
        return Terraform(self.workdir(stack), self.cli_config, self.env)

    def prepare(self, stack: str) -> Terraform:
        """Copy the synthesized stack (keeping `.terraform/`) and write the moto override."""
        source = self.synth_dir / "stacks" / stack
        target = self.workdir(stack)
        target.mkdir(parents=True, exist_ok=True)
        for item in source.iterdir():
            if item.is_dir():
                shutil.copytree(item, target / item.name, dirs_exist_ok=True)
            else:
                shutil.copy2(item, target / item.name)
        overrides = remote_state_overrides(
            json.loads((source / "cdk.tf.json").read_text()), self.moto.url
        )
        override_path = target / OVERRIDE_FILE
        if overrides:
            override_path.write_text(json.dumps(overrides, indent=2))
        elif override_path.exists():
            override_path.unlink()
        tf = self.terraform(stack)
        tf.init("-reconfigure", *moto_backend_config(self.moto.url))
        return tf

    def apply(self, stack: str) -> Terraform:
        """init + apply; what moto cannot create (plan_only.py) is left out with `-target`."""
        self.ensure_state_bucket()
        self.progress(f"{stack}: init")
        tf = self.prepare(stack)
        self.progress(f"{stack}: apply")
        tf.apply(*self.apply_targets(stack))
        return tf

    def apply_targets(self, stack: str) -> list[str]:
        """`-target` for every resource but the plan-only ones; none when all apply."""
        doc = json.loads((self.synth_dir / "stacks" / stack / "cdk.tf.json").read_text())
        skipped = plan_only(stack, doc)
        if not skipped:
            return []
        return [
            f"-target={kind}.{name}"
            for kind, entries in doc.get("resource", {}).items()
            for name in entries
            if f"{kind}.{name}" not in skipped
        ]

    def state(self, stack: str) -> dict:
        body = self.client("s3").get_object(Bucket=self.bucket, Key=self._state_key(stack))["Body"]
        return json.loads(body.read())

    def _state_key(self, stack: str) -> str:
        doc = json.loads((self.synth_dir / "stacks" / stack / "cdk.tf.json").read_text())
        return doc["terraform"]["backend"]["s3"]["key"]

    def release_deletion_protection(self) -> None:
        """The table refuses deletion by design; on the embedded AWS we lift it to tear down."""
        dynamodb = self.client("dynamodb")
        for name in dynamodb.list_tables().get("TableNames", []):
            dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
