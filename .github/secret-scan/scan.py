"""Scan what run-agent.yml is about to publish; withhold each part the scanner matches.

    python scan.py DIR

DIR holds what the run job fetched from the API: `final_message.md` (the agent's final
message) and, when the run left one for this repository, `change.patch`. Both are written by
the agent, which a prompt can steer, so neither is published unscanned: the job summary, the
pull request's body and the pushed branch are made only from what this leaves in DIR.

detect-secrets (pinned with hashes in requirements.txt beside this file) scans the final
message as one file and the patch file by file - only the lines the patch adds, each under
its own path, so detect-secrets' filters for lock files and the like apply - with all its
plugins, its default filters and the project's own detectors (the file the API's own scan
loads: chalice_api/chalicelib/runs/secret_detectors.py). A part with a finding
is replaced by `withheld.md`'s one-line reason (the final message) or removed (the patch);
nothing of a finding but its type and place is ever printed.

Writes `scanned=true`, `final_message=clean|withheld` and `patch=none|clean|withheld` to
$GITHUB_OUTPUT, and exits 1 when it withheld anything (the job fails), 0 otherwise; any other
failure exits 2 without `scanned`, so nothing is published.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.settings import transient_settings

HERE = Path(__file__).resolve().parent
# The project's detectors, shared with the control API's scan of a run's final message.
DETECTORS = HERE.parents[1] / "chalice_api" / "chalicelib" / "runs" / "secret_detectors.py"
FINAL = "final_message.md"
PATCH = "change.patch"
WITHHELD = "withheld.md"
DIFF_HEADER = re.compile(r"^diff --git a/(.+) b/(.+)$")


def _settings() -> dict:
    """Every built-in plugin, plus the project's provider-key plugins."""
    built_in = [{"name": cls.__name__} for cls in get_mapping_from_secret_type_to_class().values()]
    custom = {"path": f"file://{DETECTORS}"}
    module = _custom_module()
    names = [
        name
        for name in dir(module)
        if name.endswith("Detector") and getattr(module, name).__module__ == module.__name__
    ]
    return {"plugins_used": built_in + [{"name": n, **custom} for n in names]}


def _custom_module():
    from detect_secrets.util.importlib import import_file_as_module

    return import_file_as_module(str(DETECTORS))


def findings(files: dict[str, str]) -> list[tuple[str, str, int]]:
    """(type, path, line) of each secret detect-secrets finds in `files` (path -> text)."""
    with tempfile.TemporaryDirectory() as tmp, transient_settings(_settings()):
        get_mapping_from_secret_type_to_class.cache_clear()
        found = SecretsCollection(root=tmp)
        for name, text in files.items():
            relative = os.path.normpath(name.lstrip("/")).lstrip("./") or "file"
            path = Path(tmp, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            found.scan_file(relative)
        return sorted({(s.type, f, s.line_number) for f, s in found})


def added_lines(patch: str) -> dict[str, str]:
    """The lines a unified diff adds, per file it touches (its paths scanned too)."""
    files: dict[str, list[str]] = {"(paths)": []}
    current = None
    for line in patch.splitlines():
        header = DIFF_HEADER.match(line)
        if header:
            current = header.group(2)
            files["(paths)"] += [header.group(1), header.group(2)]
            files.setdefault(current, [])
        elif current and line.startswith("+") and not line.startswith("+++"):
            files[current].append(line[1:])
    return {name: "\n".join(lines) + "\n" for name, lines in files.items() if lines}


def _reason(part: str, hits: list[tuple[str, str, int]]) -> str:
    for kind, where, line in hits:  # the type and place only, never the value
        print(f"secret scanner: {kind} in {where}:{line}")
    kinds = ", ".join(sorted({kind for kind, _, _ in hits}))
    return f"[withheld: the secret scanner matched {kinds} in the {part}]"


def scan(directory: Path) -> dict[str, str]:
    """Withhold what matches; the outputs for $GITHUB_OUTPUT."""
    out = {"final_message": "clean", "patch": "none"}
    reasons = []
    directory.mkdir(parents=True, exist_ok=True)  # the run may have failed before writing
    final = directory / FINAL
    hits = findings({FINAL: final.read_text()}) if final.exists() else []
    if hits:
        reasons.append(_reason("final message", hits))
        final.write_text(reasons[-1] + "\n")
        out["final_message"] = "withheld"
    patch = directory / PATCH
    if patch.exists():
        hits = findings(added_lines(patch.read_text(errors="replace")))
        out["patch"] = "withheld" if hits else "clean"
        if hits:
            patch.unlink()
            reasons.append(_reason("patch (no branch is pushed, no pull request opened)", hits))
    (directory / WITHHELD).write_text("".join(f"{r}\n" for r in reasons))
    for reason in reasons:
        print(f"::error::{reason}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    out = scan(Path(argv[0]))
    with open(os.environ.get("GITHUB_OUTPUT", os.devnull), "a") as github:
        github.write("scanned=true\n" + "".join(f"{k}={v}\n" for k, v in out.items()))
    return 1 if "withheld" in out.values() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
