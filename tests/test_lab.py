"""`make lab`: headless JupyterLab on notebooks/ lists the collection and the kernel.

Standard library only for HTTP; the server listens on loopback with a random token.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("jupyter")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_NO_CONFIG="1")
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={NOTEBOOKS}"]
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
