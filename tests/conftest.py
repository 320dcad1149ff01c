"""Session-wide fixtures: one synth per configuration, one moto server, Terraform from the mirror.

A synth costs seconds and an apply tens of seconds, so each happens once per session and every
test reads the result.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import moto_server
from devtools.synth import synthesize
from devtools.terraform import Terraform, write_cli_config
from stacks.shared.constants import STACK_NAMES
from tests.support.synthesized import STATE_BUCKET, VARIANTS

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Image tests skipped -> said in the last lines, and a failure under CI=true; pytester tests it.
pytest_plugins = ["tests.support.image_skips", "pytester"]


def load_stacks(outdir: Path) -> dict[str, dict]:
    return {
        name: json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text())
        for name in STACK_NAMES
    }


@pytest.fixture(scope="session")
def synth_local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three stacks on local defaults (local state): what `make synth` produces."""
    outdir = tmp_path_factory.mktemp("synth-local")
    synthesize(outdir, {"CLOUDAGENT_STATE_BUCKET": ""})
    return outdir


@pytest.fixture(scope="session")
def stacks(synth_local: Path) -> dict[str, dict]:
    return load_stacks(synth_local)


@pytest.fixture(scope="session")
def synth_s3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three stacks with an S3 state bucket: the production backend, used against moto."""
    outdir = tmp_path_factory.mktemp("synth-s3")
    synthesize(outdir, {"CLOUDAGENT_STATE_BUCKET": STATE_BUCKET})
    return outdir


@pytest.fixture(scope="session")
def s3_stacks(synth_s3: Path) -> dict[str, dict]:
    return load_stacks(synth_s3)


# Non-default configurations some tests need (VARIANTS): synthesized on first use, once a session.
@pytest.fixture(scope="session")
def variant_stacks(tmp_path_factory: pytest.TempPathFactory):
    """`variant_stacks(name)`: the three stacks of a VARIANTS configuration (local state)."""
    cache: dict[str, dict[str, dict]] = {}

    def get(name: str) -> dict[str, dict]:
        if name not in cache:
            outdir = tmp_path_factory.mktemp(f"synth-{name}")
            synthesize(outdir, {"CLOUDAGENT_STATE_BUCKET": "", **VARIANTS[name]})
            cache[name] = load_stacks(outdir)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def cli_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cli_config(tmp_path_factory.mktemp("terraform") / "terraform.rc")


@pytest.fixture(scope="session")
def moto() -> Iterator[moto_server.MotoServer]:
    """A moto server on 127.0.0.1 (free port), stopped when the session ends."""
    with moto_server.start() as server:
        yield server


@pytest.fixture(scope="session")
def stack_copy(tmp_path_factory: pytest.TempPathFactory):
    """Copy a synthesized stack to its own directory so Terraform's files stay out of the synth."""

    def copy(source: Path, name: str) -> Path:
        target = tmp_path_factory.mktemp(f"tf-{name}")
        shutil.copytree(source / "stacks" / name, target, dirs_exist_ok=True)
        return target

    return copy


@pytest.fixture(scope="session")
def terraform_for(cli_config: Path):
    def make(workdir: Path, env: dict[str, str] | None = None) -> Terraform:
        return Terraform(workdir=workdir, cli_config=cli_config, env=env or {})

    return make
