"""`make lab`: headless JupyterLab on notebooks/ lists the collection and the kernel.

Standard library only for HTTP; the server listens on loopback with a random token.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from casekit.run.runner import collection_names

pytestmark = pytest.mark.slow  # starts a JupyterLab server (3-4 s): make test-slow / CI

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
START_TIMEOUT = 60.0
# Loopback only: never through an HTTP proxy the environment may name.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, base, token, get):
        self.base, self.token, self.get = base, token, get


@contextlib.contextmanager
def lab_server(root: Path, home: Path):
    """A JupyterLab server on loopback serving ``root``, with its config in ``home``."""
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_NO_CONFIG="1")
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> dict:
        request = urllib.request.Request(base + path,
                                         headers={"Authorization": f"token {token}"})
        with OPENER.open(request, timeout=10) as response:
            assert response.status == 200
            return json.load(response)

    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                log.flush()
                pytest.fail("jupyter server exited:\n"
                            + (home / "server.log").read_text(errors="replace")[-3000:])
            try:
                get("/api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter server not up after {START_TIMEOUT:.0f} s")
                time.sleep(0.25)
        yield Server(base, token, get)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with lab_server(NOTEBOOKS, tmp_path_factory.mktemp("jupyter")) as running:
        yield running


def test_server_lists_the_collection(server):
    listing = server.get("/api/contents")
    assert listing["type"] == "directory"
    listed = {item["name"] for item in listing["content"] if item["type"] == "notebook"}
    on_disk = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    assert on_disk <= listed  # every stored notebook is visible in the lab
    assert {n for n in collection_names() if (NOTEBOOKS / n).is_file()} <= listed


def test_server_has_the_python3_kernel(server):
    specs = server.get("/api/kernelspecs")
    assert "python3" in specs["kernelspecs"]


def test_requests_without_the_token_are_refused(server):
    assert server.base.startswith("http://127.0.0.1:")
    with pytest.raises(urllib.error.HTTPError) as refused:
        OPENER.open(server.base + "/api/contents", timeout=10)
    assert refused.value.code in (401, 403)


def test_the_lab_page_is_served(server):
    request = urllib.request.Request(server.base + "/lab",
                                     headers={"Authorization": f"token {server.token}"})
    with OPENER.open(request, timeout=10) as response:
        assert response.status == 200
        assert b"JupyterLab" in response.read()


BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
MONEY = "paid $5 or $6"


def _typeset(dom: str, marker: str) -> bool:
    """Whether MathJax typeset math in the output that starts with ``marker``."""
    at = dom.find(marker)
    assert at >= 0, f"{marker} not rendered"
    return "<mjx-container" in dom[at:dom.find("</div>", at)]


@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt-get install -y "
                    "chromium): JupyterLab's typesetting is not checked here")
def test_jupyterlab_typesets_no_case_text(tmp_path):
    """In JupyterLab (issue 20 item 2), MathJax typesets an output's DOM after rendering: a
    case value 'paid $5 or $6' became math in a Markdown sentence and a DataFrame. casekit's
    outputs (render.markdown, tables after render.notebook_tables) stay text; the same
    outputs without the no-math class are typeset here, so the check can fail."""
    import nbformat
    import pandas as pd
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from casekit import render

    def table(marker: str) -> str:
        return pd.DataFrame({"value": [f"{marker} {MONEY}"]})._repr_html_()

    before = pd.get_option("display.html.use_mathjax")
    try:
        plain_table = table("PLAIN-TABLE")
        render.notebook_tables()
        casekit_table = table("CASEKIT-TABLE")
    finally:
        pd.set_option("display.html.use_mathjax", before)
    shown = render.markdown(MONEY)
    outputs = [("text/markdown", "CASEKIT-MD " + shown),
               ("text/markdown", "PLAIN-MD " + shown.replace(f'<span class="{render.NO_MATH}">',
                                                             "").replace("</span>", "")),
               ("text/html", casekit_table), ("text/html", plain_table)]
    notebook = new_notebook(cells=[new_code_cell("", execution_count=1, outputs=[
        new_output("display_data", data={kind: text}) for kind, text in outputs])])
    (tmp_path / "lab").mkdir()
    (tmp_path / "home").mkdir()
    nbformat.write(notebook, tmp_path / "lab" / "money.ipynb")
    with lab_server(tmp_path / "lab", tmp_path / "home") as lab, \
            tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
             "--virtual-time-budget=40000", "--dump-dom",
             f"{lab.base}/lab/tree/money.ipynb?token={lab.token}"],
            capture_output=True, text=True, timeout=180).stdout
    assert _typeset(dom, "PLAIN-MD") and _typeset(dom, "PLAIN-TABLE")  # MathJax ran
    assert not _typeset(dom, "CASEKIT-MD") and not _typeset(dom, "CASEKIT-TABLE")
