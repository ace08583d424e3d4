"""How a verdict looks: the HTML a notebook shows (opened in a real headless Chromium), rich's
rendering in a terminal, and that both draw the one table ``bpcheck check`` prints.

The verdict is a real one: ``examples/buggy_layers.py`` (a mean where a sum is due, relu'(0) = 1,
an unshifted softmax), checked once for the module.
"""

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

import bpcheck
from bpcheck.battery import render
from bpcheck.cli.main import _table

ROOT = Path(__file__).resolve().parent.parent
BUGGY = ROOT / "examples" / "buggy_layers.py"

pytestmark = pytest.mark.xdist_group(name="verdict-render")

#: Text a user's code controls, written to run if it were not escaped: each would log to the
#: console (which the Chromium test reads) or add an element (which it counts).
HOSTILE = ("<script>console.error('xss: script')</script>"
           "<img src=x onerror=\"console.error('xss: img')\"><b id=planted>bold</b>")


@pytest.fixture(scope="module")
def verdict():
    return bpcheck.check(os.path.relpath(BUGGY), examples=10, progress=False)


@pytest.fixture(scope="module")
def hostile():
    """A pair whose backward raises an exception quoting markup, checked under a label holding
    markup."""

    def evil_forward(x):
        return x * 1.0, x

    def evil_backward(dout, cache):
        raise ValueError(HOSTILE)

    result = bpcheck.check_pair(evil_forward, evil_backward, reference=lambda x: x, examples=3,
                                progress=False)
    result.label = f"layers{HOSTILE}.py"
    return result


def test_html_shows_status_worst_errors_diagnosis_and_reproduce_line(verdict):
    page = verdict._repr_html_()
    row = re.search(r"<tr><td>affine_backward</td>(.*?)</tr>", page).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    table_row = next(r for r in render.table(verdict.rows).rows if r[0].text == "affine_backward")
    assert cells == [c.text for c in table_row[1:]]
    assert cells[0] == "FAILED" and 'class="status failed"' in row
    assert cells[1] == f"{verdict['affine_backward'].worst_vs_jax:.1e}"
    assert "likely cause: db is N = 5 times too small" in page
    assert "reproduce: bpcheck.rebuild(&#x27;affine&#x27;, Draw(" in page
    assert "relu_backward</b> <span class=\"warning\">warning</span>" in page
    assert "not defined (not checked): leaky_relu_forward" in page
    assert verdict.summary() in page


def test_html_escapes_everything_from_user_code(hostile):
    page = hostile._repr_html_()
    assert hostile["evil_backward"].status == "failed"
    assert "<script>console" not in page and "<img" not in page and "<b id=planted>" not in page
    assert "&lt;script&gt;console.error(&#x27;xss: script&#x27;)&lt;/script&gt;" in page
    assert page.count("&lt;img src=x") >= 2  # the label and the failure's message


def test_rich_rendering_is_the_cli_table(verdict):
    def draw(renderable):
        console = Console(record=True, width=200, color_system=None)
        console.print(renderable)
        return console.export_text()

    cli = Console(record=True, width=200, color_system=None, file=io.StringIO())
    _table(verdict.rows, None, cli)
    table = cli.export_text()
    shown = draw(verdict)
    assert table.strip() in shown
    assert "affine_backward FAILED" in shown and "reproduce: bpcheck.rebuild('affine'" in shown
    assert shown.rstrip().endswith(verdict.summary())
    for cells in render.table(verdict.rows).rows:
        assert re.search(r"[\s│]+".join(re.escape(c.text) for c in cells), table), cells


def test_tiers_get_a_column_each_in_both_renderings():
    def double_forward(x):
        return 2.0 * x, None

    def double_backward(dout, cache):
        return 2.0 * dout

    both = bpcheck.check_pair(double_forward, double_backward, reference=lambda x: 2.0 * x,
                              examples=3, tier="both", progress=False)
    data = render.table(both.rows)
    assert data.columns == ("function", "float64", "float32", "vs FD", "examples", "checks")
    assert data.rows[0][1].text.startswith("✓") and data.rows[0][2].text.startswith("✓")
    assert "<th>float32</th>" in both._repr_html_() and render.TIERS_CAPTION in both._repr_html_()


# ------------------------------------------------------------------------ a real browser

def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed: `apt-get install chromium` (Debian's package; "
                    ".ci/run installs it) to open the HTML verdict in a real browser")
    return found


#: Runs before the verdict's HTML: records every error event (scripts, resources) and every
#: console.error/warn, then writes them and the rendered table's size into the page's body.
PROBE = """<script>
window.__problems = [];
window.addEventListener('error', e => __problems.push('error: ' + (e.message || e.target.outerHTML)), true);
for (const level of ['error', 'warn']) {
  const original = console[level];
  console[level] = (...args) => { __problems.push(level + ': ' + args.join(' ')); original(...args); };
}
</script>"""
REPORT = """<script>
window.addEventListener('load', () => {
  const table = document.querySelector('.bpcheck-verdict table');
  const box = table ? table.getBoundingClientRect() : {width: 0, height: 0};
  document.body.dataset.report = JSON.stringify({
    problems: __problems, width: box.width, height: box.height,
    rows: document.querySelectorAll('.bpcheck-verdict tbody tr').length,
    planted: document.querySelectorAll('#planted, .bpcheck-verdict img, .bpcheck-verdict script').length,
    text: document.body.innerText.length});
});
</script>"""


def _open(chromium: str, body: str, folder: Path, name: str, screenshot: bool = False
          ) -> tuple[dict, str, Path | None]:
    """The page in headless Chromium: its report, Chromium's console log, and a screenshot when
    asked."""
    page = folder / f"{name}.html"
    page.write_text(f'<!doctype html><html><head><meta charset="utf-8"><title>{name}</title>'
                    f"</head><body>{PROBE}{body}{REPORT}</body></html>")
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
             "--v=0", "--window-size=1200,900", f"--user-data-dir={folder / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    if screenshot:
        screenshot = folder / f"{name}.png"
        subprocess.run([*flags, f"--screenshot={screenshot}", page.as_uri()], capture_output=True,
                       timeout=120)
    found = re.search(r'data-report="([^"]*)"', dom.stdout)
    assert found, f"Chromium rendered no report:\n{dom.stdout[:500]}\n{dom.stderr[-2000:]}"
    report = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&")
                        .replace("&lt;", "<").replace("&gt;", ">"))
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    return report, "\n".join(console), screenshot


def test_html_verdict_renders_in_headless_chromium(verdict, hostile, tmp_path):
    chromium = _chromium()
    report, console, screenshot = _open(chromium, verdict._repr_html_(), tmp_path, "verdict",
                                        screenshot=True)
    assert report["problems"] == [] and console == "", (report["problems"], console)
    assert report["rows"] == len(render.table(verdict.rows).rows) == 7
    assert report["width"] > 300 and report["height"] > 7 * 12, report
    assert report["text"] > 1000
    # A screenshot of a blank page at this size compresses to ~3 kB; the verdict's text, ~180 kB.
    assert screenshot.stat().st_size > 40_000, screenshot.stat().st_size
    if os.environ.get("BPCHECK_SCREENSHOTS"):
        shutil.copy(screenshot, Path(os.environ["BPCHECK_SCREENSHOTS"]) / "verdict.png")

    report, console, _ = _open(chromium, hostile._repr_html_(), tmp_path, "hostile")
    assert report["problems"] == [] and console == "" and report["planted"] == 0, report


def test_the_browser_probe_sees_a_console_error_and_planted_markup(tmp_path):
    """The check above can fail: unescaped markup is seen."""
    chromium = _chromium()
    planted = f'<div class="bpcheck-verdict"><table><tbody><tr><td>x</td></tr></tbody></table>{HOSTILE}</div>'
    report, console, _ = _open(chromium, planted, tmp_path, "planted")
    assert "error: xss: script" in report["problems"] and report["planted"] >= 2
    assert "xss: script" in console
