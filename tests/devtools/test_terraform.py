"""Real Terraform on the synthesized stacks: init from the local mirror and validate, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.shared.constants import STACK_NAMES


@pytest.mark.parametrize("name", STACK_NAMES)
def test_init_and_validate(name: str, synth_local: Path, stack_copy, terraform_for) -> None:
    tf = terraform_for(stack_copy(synth_local, name))
    tf.init("-backend=false")
    tf.validate()
