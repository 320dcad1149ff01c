"""Concrete values for the Terraform references in the synthesized JSON.

A policy in `cdk.tf.json` names its resources through references (`${aws_iam_role.x.arn}`,
`${data.aws_caller_identity.account.account_id}`, another stack's outputs) that only an apply
resolves. An evaluator needs ARNs, so each reference becomes the value AWS would give it in one
fixed account: names come from the resource's own configuration, generated IDs are stable
stand-ins, and ARNs follow each service's documented format.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

ACCOUNT = "111122223333"
PARTITION = "aws"
_REFERENCE = re.compile(r"\$\{([^}]+)\}")

# ARN formats of the referenced resource types ({name}: the resource's configured name).
_ARNS = {
    "aws_iam_role": "arn:aws:iam::{account}:role/{name}",
    "aws_iam_policy": "arn:aws:iam::{account}:policy/{name}",
    "aws_cloudwatch_log_group": "arn:aws:logs:{region}:{account}:log-group:{name}",
    # Secrets Manager appends six random characters to a secret's name.
    "aws_secretsmanager_secret": "arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf",
    "aws_dynamodb_table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "aws_ecs_cluster": "arn:aws:ecs:{region}:{account}:cluster/{name}",
    "aws_ecr_repository": "arn:aws:ecr:{region}:{account}:repository/{name}",
    "aws_lambda_function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "aws_kms_key": "arn:aws:kms:{region}:{account}:key/{name}",
    "aws_s3_bucket": "arn:aws:s3:::{name}",
    "aws_iam_openid_connect_provider": (
        "arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
    ),
}
# The configuration field that names a resource of each type.
_NAME_FIELDS = ("name", "function_name", "family", "bucket")


class UnresolvedReference(LookupError):
    """A reference this module does not know how to give a value: extend it, never guess."""


class Addresses:
    """Resolves references in any of the three stacks, in one account and the stacks' region."""

    def __init__(self, stacks: Mapping[str, dict], account: str = ACCOUNT) -> None:
        self.stacks = stacks
        self.account = account
        self.region = stacks["foundation"]["provider"]["aws"][0]["region"]

    def resolve(self, text: str, stack: str) -> str:
        """`text` with every `${...}` replaced, as read in `stack`."""
        return _REFERENCE.sub(lambda m: self.value(m.group(1), stack), text)

    def value(self, reference: str, stack: str) -> str:
        parts = reference.split(".")
        if parts[0] == "data":
            return self._data(parts, stack)
        if len(parts) != 3:
            raise UnresolvedReference(reference)
        kind, key, attribute = parts
        return self.attribute(stack, kind, key, attribute)

    def _data(self, parts: list[str], stack: str) -> str:
        source = parts[1]
        if source == "aws_partition":
            return PARTITION
        if source == "aws_caller_identity":
            return self.account
        if source == "aws_region":
            return self.region
        if source == "terraform_remote_state" and parts[3] == "outputs":
            return self._output(parts[4])
        raise UnresolvedReference(".".join(parts))

    def _output(self, name: str) -> str:
        for stack, doc in self.stacks.items():
            output = doc.get("output", {}).get(name)
            if output is not None:
                return self.resolve(output["value"], stack)
        raise UnresolvedReference(f"output {name}")

    def attribute(self, stack: str, kind: str, key: str, attribute: str) -> str:
        """The value of `kind.key.attribute` in `stack`, as AWS would return it."""
        config = self.stacks[stack].get("resource", {}).get(kind, {}).get(key)
        if config is None:
            raise UnresolvedReference(f"{stack}: {kind}.{key}")
        if kind == "aws_vpc" and attribute == "default_security_group_id":
            return "sg-" + _stand_in(stack, key)[:17]
        if kind == "aws_iam_openid_connect_provider" and attribute == "arn":
            return _ARNS[kind].format(account=self.account)
        name = self._name(stack, kind, key, config)
        if attribute in ("name", "family") or (attribute == "id" and kind == "aws_iam_role"):
            return name
        if attribute == "arn" and kind in _ARNS:
            return _ARNS[kind].format(account=self.account, region=self.region, name=name)
        raise UnresolvedReference(f"{stack}: {kind}.{key}.{attribute}")

    def _name(self, stack: str, kind: str, key: str, config: dict[str, Any]) -> str:
        if kind == "aws_kms_key":  # a key's ARN carries its generated ID, never a name
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stack}/{key}"))
        for field in _NAME_FIELDS:
            if isinstance(config.get(field), str):
                return self.resolve(config[field], stack)
        raise UnresolvedReference(f"{stack}: {kind}.{key} has no name")


def _stand_in(stack: str, key: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{stack}/{key}").hex
