"""The gateway endpoints' policies: what may pass through them, from anywhere in the VPC.

Only the agent tasks live in the VPC (the control functions run outside it), and every request
to S3 or DynamoDB in this region takes the endpoint, because its route is the more specific.
Without a policy an endpoint passes anything — a model-chosen command could carry data to any
bucket or table in the region, of any account, with credentials of its own or a URL someone
else presigned. With these, what passes is what the tasks need:

* S3: the agent image's layers, which ECR serves from its own bucket in an AWS account
  (`prod-<region>-starport-layer-bucket`, AWS's ECR guide, "Amazon ECR interface VPC
  endpoints": the gateway endpoint's minimum policy), read only; and the objects of this
  deployment's artifact bucket, by its name and in this account (`aws:ResourceAccount`): the
  session the agent PUTs and the bundle repo-init GETs, through URLs the control role presigns.
* DynamoDB: nothing in the VPC uses it today; the run table of this account, with the actions
  the control plane uses, is all it would let through.

An endpoint policy's principal is `"*"` (the callers are whoever is in the VPC); the account
condition and the named resources are what scope it (CKV_CA_13 requires them).
"""

from __future__ import annotations

import json
from typing import Any

from stacks.shared.actions import ARTIFACT_OBJECTS, RUN_TABLE
from stacks.shared.arns import Arns
from stacks.shared.artifacts import artifact_bucket_name
from stacks.shared.constants import TABLE_TIME_INDEX
from stacks.shared.settings import Settings

# ECR serves image layers from this AWS-owned bucket of the region (not in this account).
ECR_LAYER_ACTIONS = ("s3:GetObject",)


def ecr_layer_bucket_objects(arns: Arns, region: str) -> str:
    """The objects of ECR's layer bucket in `region`: what pulling the agent image reads."""
    return f"arn:{arns.partition}:s3:::prod-{region}-starport-layer-bucket/*"


def _statement(
    sid: str, actions: tuple[str, ...], resources: list[str], account: str | None
) -> dict[str, Any]:
    """An Allow for every principal in the VPC, scoped to `account`'s resources when given."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if account is not None:
        statement["Condition"] = {"StringEquals": {"aws:ResourceAccount": account}}
    return statement


def s3_endpoint_policy(settings: Settings, arns: Arns) -> str:
    """ECR's layers (read) and this deployment's artifact objects (read and write)."""
    bucket = artifact_bucket_name(settings, arns.account)
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                _statement(
                    "EcrImageLayers",
                    ECR_LAYER_ACTIONS,
                    [ecr_layer_bucket_objects(arns, settings.region)],
                    None,
                ),
                _statement(
                    "ArtifactObjects",
                    ARTIFACT_OBJECTS,
                    [f"arn:{arns.partition}:s3:::{bucket}/*"],
                    arns.account,
                ),
            ],
        }
    )


def dynamodb_endpoint_policy(settings: Settings, arns: Arns) -> str:
    """The run table of this account (and its index), with the control plane's actions."""
    table = arns.arn("dynamodb", f"table/{settings.prefix}")  # stacks/foundation/data.py
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                _statement(
                    "RunTable",
                    RUN_TABLE,
                    [table, f"{table}/index/{TABLE_TIME_INDEX}"],
                    arns.account,
                )
            ],
        }
    )
