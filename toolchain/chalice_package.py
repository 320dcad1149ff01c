"""The control API as a build artifact: Chalice's deployment zip and its generated definitions.

`stacks/` never imports `chalice_api/` (it ships to Lambda with its own dependencies). Instead
the api stack runs `chalice package` and reads two things from the result: the deployment zip
and Chalice's own Terraform rendering, from which it takes the API Gateway definition (so the
route table is Chalice's, not a hand-kept copy) and the Lambda functions with their handlers.
The Terraform resources Chalice emits are not used as they are (they target Terraform < 1.4 and
AWS provider < 5); the api stack builds its own around the same zip.

Packages are cached under `.build/chalice/<hash of the app's sources>` so a warm synth does not
repackage; the zip Chalice writes is byte-stable for the same sources, which keeps the
synthesized JSON reproducible.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from toolchain.paths import PROJECT_ROOT

APP_DIR = PROJECT_ROOT / "chalice_api"
BUILD_ROOT = PROJECT_ROOT / ".build" / "chalice"
CHALICE_STAGE = "dev"
# Chalice names the REST handler `api_handler` and points the definition's integrations at it.
API_HANDLER = "api_handler"
INVOKE_ARN_PLACEHOLDER = "${aws_lambda_function.api_handler.invoke_arn}"
_SKIPPED = {"__pycache__", "deployments", ".pytest_cache"}
# Bump when the way a package is built changes, so cached packages built the old way are not
# reused (2: clean source copy, no bytecode).
PACKAGE_RECIPE = "2"


class ChalicePackageError(RuntimeError):
    """`chalice package` failed; the message carries its output."""


@dataclass(frozen=True)
class LambdaSpec:
    """One function Chalice defined: its handler and the sizing the app asked for."""

    name: str
    handler: str
    memory_size: int
    timeout: int


@dataclass(frozen=True)
class ChalicePackage:
    zip_path: Path
    swagger: str
    functions: dict[str, LambdaSpec]

    @property
    def swagger_hash(self) -> str:
        """Changes when a route changes: redeploys the API Gateway stage."""
        return hashlib.sha256(self.swagger.encode()).hexdigest()

    def api_definition(self, invoke_arn: str) -> str:
        """Chalice's routes as OpenAPI 3, integrations pointed at our handler function."""
        if INVOKE_ARN_PLACEHOLDER not in self.swagger:
            raise ChalicePackageError("Chalice's API definition has no integration to wire")
        document = to_openapi3(json.loads(self.swagger))
        return json.dumps(document, sort_keys=True).replace(INVOKE_ARN_PLACEHOLDER, invoke_arn)


def _schema_ref(schema: dict) -> dict:
    ref = schema.get("$ref", "")
    if ref.startswith("#/definitions/"):
        return {"$ref": "#/components/schemas/" + ref.removeprefix("#/definitions/")}
    return schema


def to_openapi3(swagger: dict) -> dict:
    """Swagger 2.0 (what Chalice writes) -> OpenAPI 3.0 (what every API Gateway importer reads).

    API Gateway accepts both, but the embedded AWS only imports OpenAPI 3; the routes, their
    parameters and the `x-amazon-apigateway-*` extensions carry over unchanged.
    """
    if swagger.get("swagger") != "2.0":
        raise ChalicePackageError("expected Chalice's Swagger 2.0 API definition")
    paths: dict = {}
    for path, methods in swagger.get("paths", {}).items():
        paths[path] = {}
        for method, operation in methods.items():
            converted = {
                k: v
                for k, v in operation.items()
                if k not in ("consumes", "produces", "parameters", "responses")
            }
            produces = operation.get("produces", ["application/json"])
            converted["responses"] = {
                status: {
                    "description": response.get("description", ""),
                    **(
                        {
                            "content": {
                                t: {"schema": _schema_ref(response["schema"])} for t in produces
                            }
                        }
                        if "schema" in response
                        else {}
                    ),
                }
                for status, response in operation.get("responses", {}).items()
            }
            parameters = [
                {
                    **{k: v for k, v in parameter.items() if k != "type"},
                    "schema": {"type": parameter.get("type", "string")},
                }
                for parameter in operation.get("parameters", [])
            ]
            if parameters:
                converted["parameters"] = parameters
            paths[path][method] = converted
    document = {
        "openapi": "3.0.1",
        "info": swagger.get("info", {}),
        "paths": paths,
        "components": {"schemas": swagger.get("definitions", {})},
    }
    document.update({k: v for k, v in swagger.items() if k.startswith("x-")})
    return document


def source_files(app_dir: Path = APP_DIR) -> list[Path]:
    """What goes into the package: sources, requirements and config, never caches or bytecode."""
    return [
        path.relative_to(app_dir)
        for path in sorted(app_dir.rglob("*"))
        if path.is_file()
        and not _SKIPPED & set(path.relative_to(app_dir).parts)
        and path.suffix != ".pyc"
    ]


def source_hash(app_dir: Path = APP_DIR) -> str:
    """Hash of everything that goes into the package (sources, requirements, config, chalice)."""
    digest = hashlib.sha256()
    from importlib.metadata import version

    digest.update(f"chalice=={version('chalice')} recipe={PACKAGE_RECIPE}\n".encode())
    for relative in source_files(app_dir):
        digest.update(str(relative).encode() + b"\0" + (app_dir / relative).read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def _run_chalice(app_dir: Path, target: Path, region: str) -> None:
    chalice = Path(sys.executable).parent / "chalice"
    command = [str(chalice) if chalice.exists() else "chalice"]
    result = subprocess.run(
        [*command, "package", "--stage", CHALICE_STAGE, "--pkg-format", "terraform", str(target)],
        cwd=app_dir,
        # Chalice imports the app to read its routes; bytecode written then would be zipped.
        env={**os.environ, "AWS_DEFAULT_REGION": region, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ChalicePackageError(
            f"chalice package failed ({result.returncode}):\n{result.stdout[-3000:]}"
            f"{result.stderr[-3000:]}"
        )


def _package_clean_copy(app_dir: Path, target: Path, region: str) -> None:
    """Package a clean copy of exactly the hashed files, then move the result into place.

    The working tree's __pycache__ or a stale Chalice cache must not change (or leak into) the
    deployed zip; the rename makes a half-built package invisible.
    """
    staging = target.with_suffix(".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    sources = staging / "app"
    for relative in source_files(app_dir):
        (sources / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(app_dir / relative, sources / relative)
    _run_chalice(sources, staging / "package", region)
    shutil.rmtree(target, ignore_errors=True)
    (staging / "package").rename(target)
    shutil.rmtree(staging, ignore_errors=True)


def build(region: str, app_dir: Path = APP_DIR, build_root: Path = BUILD_ROOT) -> ChalicePackage:
    """Package the app (or reuse the cached package for the same sources)."""
    target = build_root / source_hash(app_dir)
    rendered = target / "chalice.tf.json"
    build_root.mkdir(parents=True, exist_ok=True)
    # Parallel synths (test workers, a synth beside `make up`) build the same package once.
    with open(build_root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not rendered.exists():
            _package_clean_copy(app_dir, target, region)
    document = json.loads(rendered.read_text())
    functions = {
        name: LambdaSpec(
            name=name,
            handler=spec["handler"],
            memory_size=int(spec["memory_size"]),
            timeout=int(spec["timeout"]),
        )
        for name, spec in document["resource"]["aws_lambda_function"].items()
    }
    if API_HANDLER not in functions:
        raise ChalicePackageError("the Chalice app defines no REST API handler")
    return ChalicePackage(
        zip_path=target / "deployment.zip",
        swagger=document["locals"]["chalice_api_swagger"],
        functions=functions,
    )
