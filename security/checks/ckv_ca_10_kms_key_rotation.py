"""CKV_CA_10: every KMS key rotates its key material yearly.

One customer-managed key encrypts the table, secrets, images and logs (and the WAF log group has
its own); rotation bounds how much data one key version protects. The project only uses
symmetric keys, which all support rotation, so there is no exception.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, attr


class KmsKeyRotation(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="KMS keys have enable_key_rotation = true",
            id="CKV_CA_10",
            resources=["aws_kms_key"],
            categories=[CheckCategories.ENCRYPTION],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        rotation = attr(conf, "enable_key_rotation")
        if rotation is True or str(rotation).lower() == "true":
            return []
        return [f"enable_key_rotation is {rotation!r}"]


check = KmsKeyRotation()
