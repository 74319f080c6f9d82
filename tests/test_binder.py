"""The Binder/repo2docker configuration in .binder/ agrees with the project's own set-up.

The image cannot be built offline, so this checks what repo2docker would read: the Python
version (runtime.txt), the pins it installs (requirements.txt), the postBuild that installs
casekit and its kernel, and the README's launch badge.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from casekit.run.runner import KERNEL_NAME

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / ".binder"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def requirement_lines(path: Path) -> list[str]:
    """The non-comment, non-blank lines of a requirements file, in order."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8")
             .splitlines())
    return [line for line in lines if line]


def runtime_version() -> Version:
    text = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert match, f".binder/runtime.txt says {text!r}; repo2docker wants python-X.Y"
    return Version(match.group(1))


def test_binder_python_is_the_one_the_project_runs_on():
    version = runtime_version()
    # allowed by pyproject's requires-python (">=3.11")
    assert version in SpecifierSet(PYPROJECT["project"]["requires-python"])
    # and the interpreter of the venv that `make setup` built and this suite runs in
    assert (version.major, version.minor) == sys.version_info[:2], (
        f"Binder builds Python {version} but this venv runs {sys.version_info[0]}."
        f"{sys.version_info[1]}: the pins (and stored notebook outputs) are for one version")


def test_binder_installs_exactly_the_pinned_set():
    pinned = requirement_lines(REPO / "requirements.txt")
    binder = requirement_lines(BINDER / "requirements.txt")
    # requirements.txt = '-e .' + pins; .binder leaves out '-e .' (postBuild installs casekit)
    assert pinned[0] == "-e ."
    assert binder == pinned[1:], "regenerate .binder/requirements.txt with `make lock`"
    for line in binder:
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line), \
            f"{line!r}: an exact pin, and no local reference (-e, -r, path) that would " \
            "stop repo2docker installing the pins before it copies the repository"


def test_every_direct_dependency_is_pinned_for_binder():
    pins = {canonicalize_name(line.split("==")[0]) for line in
            requirement_lines(BINDER / "requirements.txt")}
    direct = {canonicalize_name(Requirement(d).name) for d in PYPROJECT["project"]["dependencies"]}
    assert direct <= pins, f"not pinned for Binder: {sorted(direct - pins)}"
    # what notebooks and tests need besides casekit's imports
    assert {"jupyterlab", "ipykernel", "papermill", "nbval"} <= pins


def test_post_build_installs_casekit_and_the_notebooks_kernel():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only if executable"
    mode = subprocess.run(["git", "ls-files", "-s", ".binder/postBuild"], cwd=REPO,
                          capture_output=True, text=True).stdout.split()
    if mode:  # tracked: the executable bit must be committed too
        assert mode[0] == "100755"
    text = post_build.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail" in text
    assert re.search(r"pip install .*--no-deps -e \.$", text, re.M)

    kernel = re.search(r"ipykernel install --sys-prefix --name (\S+) --display-name "
                       r"\"([^\"]+)\"", text)
    assert kernel, "postBuild installs a named kernel"
    # the same kernel `make setup` installs, the runner starts and the notebooks name
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert f"--name {kernel[1]} --display-name \"{kernel[2]}\"" in makefile
    assert kernel[1] == KERNEL_NAME
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        spec = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["kernelspec"]
        assert (spec["name"], spec["display_name"]) == (kernel[1], kernel[2]), notebook.name


def test_readme_has_a_launch_badge_for_this_repository():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    badge = re.search(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]"
                      r"\((https://mybinder\.org/v2/gh/([^/\s]+)/([^/\s]+)/([^?\s)]+)"
                      r"(\?[^)\s]*)?)\)", readme)
    assert badge, "README.md has no mybinder.org launch badge"
    owner, repo = badge[2], badge[3]
    assert repo == PYPROJECT["project"]["name"]
    if owner == "OWNER":  # placeholder until the repository is published: say so
        assert "`OWNER`" in readme
