"""series.html of the 254 pharmaversesdtm subjects in a real browser (issue 19): headless
Chromium at 1280 px (desktop) and 420 px (phone). The findings come before the first
figure, the page never scrolls sideways, it is under 20,000 px tall at 1280 px, every
figure fits the screen and stays legible on the phone, and no table shows more than 60
rows. Screenshots are written beside the page for a person to look at.

The series is analysed by ``casekit series`` (tables only) and its figures drawn by
:func:`casekit.series.figures.save_all`, the code the series notebooks call. The page is
measured inside an iframe of the exact width (headless Chromium opens no window narrower
than 500 px for ``--dump-dom``), with ``--allow-file-access-from-files`` so that the probe
may read the framed page.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from casekit.series.figures import save_all
from casekit.series.report import MAX_ROWS, build_series_report
from casekit.series.run import run_series
from casekit.series.tables import SeriesTables

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    BROWSER is None, reason="no Chromium installed (apt-get install -y chromium); the series "
    "page's layout in a browser is not checked here")]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--allow-file-access-from-files"]
# In a wrapper page only (series.html itself has no scripts): measures the framed page.
PROBE = """<script>
window.addEventListener('load', () => {
  const f = document.getElementById('f'), d = f.contentDocument, w = f.contentWindow;
  const first = d.querySelector('figure'), findings = d.getElementById('findings');
  const out = {inner: w.innerWidth, page: d.documentElement.scrollWidth,
    height: d.documentElement.scrollHeight,
    findings_bottom: findings ? findings.getBoundingClientRect().bottom : null,
    first_figure_top: first ? first.getBoundingClientRect().top : null,
    images: [...d.querySelectorAll('figure img')].map(
      i => [i.getBoundingClientRect().width, i.naturalWidth]),
    rows: Math.max(0, ...[...d.querySelectorAll('tbody')].map(b => b.rows.length)),
    text: d.body.innerText.slice(0, 400)};
  const pre = document.createElement('pre'); pre.id = 'probe';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("series") / "out"
    result = run_series(out_dir=out, jobs=2, notebooks=False, echo=lambda _: None)
    save_all(SeriesTables.read(out / "tables"), out / "figures", "RECIST1.1")
    return build_series_report(out, result, {"primary_criteria": "RECIST1.1"})


def _chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=180)


def _measure(page: Path, width: int) -> dict:
    wrap = page.with_name(f"probe-{width}.html")
    wrap.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe id="f" '
                    f'src="{page.name}" style="width:{width}px;height:900px;border:0">'
                    f"</iframe>{PROBE}</body></html>", encoding="utf-8")
    done = _chromium("--window-size=1400,1000", "--virtual-time-budget=10000", "--dump-dom",
                     wrap.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width", [1280, 420])
def test_series_page_in_the_browser(page, width):
    layout = _measure(page, width)
    assert layout["inner"] == width
    assert "254 subjects analysed" in layout["text"]
    # findings first: the whole findings box ends above the first figure
    assert layout["findings_bottom"] < layout["first_figure_top"], layout
    assert layout["page"] <= layout["inner"], "the page scrolls sideways"
    assert layout["images"] and all(shown <= width for shown, _ in layout["images"])
    # legible: no figure is shrunk below 0.75 x its pixels (8 pt text stays >= 12 px)
    assert all(shown >= 0.75 * natural for shown, natural in layout["images"]), layout["images"]
    assert layout["rows"] <= MAX_ROWS
    if width == 1280:
        assert layout["height"] < 20000, layout["height"]
    shot = page.with_name(f"series-{width}.png")
    _chromium(f"--window-size={width},3000", f"--screenshot={shot}", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
