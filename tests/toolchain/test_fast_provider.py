"""The synthesized JSON is a pure function of the settings: same inputs, same bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from stacks.shared.constants import STACK_NAMES
from toolchain.paths import PROJECT_ROOT

IGNORED = shutil.ignore_patterns(".venv", ".git", "cdktf.out", ".cache", ".build", "node_modules")


def stack_bytes(outdir: Path) -> dict[str, bytes]:
    return {name: (outdir / "stacks" / name / "cdk.tf.json").read_bytes() for name in STACK_NAMES}


def assert_same_stacks(left: Path, right: Path) -> None:
    """Byte-identical stacks; on a difference, show the differing lines (not 50 KB of bytes)."""
    import difflib

    for name, body in stack_bytes(left).items():
        other = stack_bytes(right)[name]
        if body != other:
            diff = difflib.unified_diff(
                body.decode().splitlines(), other.decode().splitlines(), lineterm="", n=1
            )
            raise AssertionError(f"stack {name} differs:\n" + "\n".join(list(diff)[:40]))


def synth(repo: Path, outdir: Path, **env: str) -> None:
    subprocess.run(
        [sys.executable, "main.py"],
        cwd=repo,
        env={**os.environ, "CLOUDAGENT_STATE_BUCKET": "", "CLOUDAGENT_OUTDIR": str(outdir), **env},
        check=True,
        capture_output=True,
    )


def test_output_does_not_depend_on_the_checkout_path(synth_local: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "somewhere" / "else"
    shutil.copytree(PROJECT_ROOT, elsewhere, ignore=IGNORED)
    synth(elsewhere, elsewhere / "cdktf.out")
    assert_same_stacks(synth_local, elsewhere / "cdktf.out")
    for name, body in stack_bytes(synth_local).items():
        assert str(PROJECT_ROOT).encode() not in body, name
        assert str(tmp_path).encode() not in body, name


def test_fast_provider_import_synthesizes_identical_json(synth_local: Path, tmp_path: Path) -> None:
    """The fast provider import changes only speed: the ordinary import gives the same bytes."""
    synth(PROJECT_ROOT, tmp_path / "slow", CLOUDAGENT_SLOW_IMPORT="1")
    assert_same_stacks(synth_local, tmp_path / "slow")


def test_fast_provider_maps_every_submodule_to_its_jsii_name() -> None:
    """Each generated submodule declares its jsii FQN; the lazy map must derive the same one."""
    import importlib.util

    from toolchain.fast_provider import ASSEMBLY, _camel, submodule_names

    package_dir = Path(importlib.util.find_spec("cdktf_cdktf_provider_aws").origin).parent
    names = submodule_names(package_dir)
    assert len(names) > 2000
    mismatched = []
    for name in names:
        with open(package_dir / name / "__init__.py", encoding="utf-8") as source:
            head = source.read(200_000)
        marker = f'jsii_type="{ASSEMBLY}.{_camel(name)}.'
        if marker not in head:
            mismatched.append(name)
    assert mismatched == []


def test_s3_backend_per_stack_with_encryption_and_lockfile(s3_stacks: dict[str, dict]) -> None:
    for name, doc in s3_stacks.items():
        backend = doc["terraform"]["backend"]["s3"]
        assert backend["key"] == f"cloudagent/dev/{name}.tfstate"
        assert backend["encrypt"] is True
        assert backend["use_lockfile"] is True
        assert backend["bucket"] == "cloudagent-tfstate-test"


def test_local_backend_without_a_state_bucket(stacks: dict[str, dict]) -> None:
    for name, doc in stacks.items():
        assert doc["terraform"]["backend"] == {"local": {"path": f"../{name}/terraform.tfstate"}}
        assert doc["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"


def test_local_remote_state_reads_the_producers_state_file(stacks: dict[str, dict]) -> None:
    """Resolved from the consumer's directory, the path must land in the producer's."""
    sources = stacks["agent"]["data"]["terraform_remote_state"]
    assert sources["cross-stack-reference-input-foundation"]["config"] == {
        "path": "../foundation/terraform.tfstate"
    }
