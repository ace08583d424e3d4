"""``OUT/report.html``: the class report as a page, opened in a real headless Chromium.

The documents are made here (as ``bpcheck grade`` writes them): a small class with a perfect
submission, two with the same diagnosis (one quoting its own name in the message), an unloadable
one, and one whose name is markup written to run if it were not escaped. The page must draw its
two charts, list the diagnoses with an example that names no submission, sort its table when a
heading is clicked, and log no error in the browser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bpcheck.grading.html_report import histogram_svg
from bpcheck.grading.report import write_class_report

pytestmark = pytest.mark.xdist_group(name="html-report")
FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward")
HOSTILE = "<img src=x onerror=\"console.error('xss')\"><b id=planted>b</b>"
DIAGNOSIS = "dw is transposed"


def _document(name: str, scores: dict[str, float], load_error: str | None = None) -> dict:
    functions, tests = {}, []
    for function in FUNCTIONS:
        score = scores.get(function, 0.0)
        failed = score < 1.0
        diagnoses = [DIAGNOSIS] if failed and function == "affine_backward" else []
        functions[function] = {"status": "error" if load_error else "failed" if failed else
                               "passed", "score": score, "max_score": 1.0, "diagnoses": diagnoses}
        test = {"name": f"{function}: backward matches jax.vjp", "score": score, "max_score": 1.0,
                "status": "failed" if failed else "passed", "visibility": "visible",
                "output": f"dw differs in {name}/layers.py\nexample: affine((2, 3))"}
        if diagnoses:
            test["extra_data"] = {"diagnosis": DIAGNOSIS}
        tests.append(test)
    return {"score": sum(scores.values()), "output": "", "tests": tests,
            "extra_data": {"bpcheck": {"load_error": load_error, "functions": functions}}}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    full = dict.fromkeys(FUNCTIONS, 1.0)
    documents = {
        "alice": _document("alice", full),
        "bob": _document("bob", {**full, "affine_backward": 0.25}),
        "dora": _document("dora", {**full, "affine_backward": 0.5}),
        "carol": _document("carol", {}, load_error="SyntaxError: invalid syntax"),
        HOSTILE: _document(HOSTILE, {"relu_forward": 1.0}),
    }
    write_class_report(out, documents)
    return out / "report.html"


def test_the_page_holds_both_charts_the_diagnoses_and_every_submission(page):
    text = page.read_text()
    assert text.count("<svg") == 2 and "http" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched from the network
    assert DIAGNOSIS in text
    example = re.search(r"<pre>(dw differs in [^<]*)</pre>", text).group(1)
    assert "bob" not in example and "&lt;submission&gt;/layers.py" in example
    assert HOSTILE not in text and "&lt;img src=x" in text


def test_the_histogram_counts_each_score_band():
    svg = histogram_svg([0.0, 0.05, 0.55, 1.0, 1.0])
    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert titles[0].endswith(": 2") and titles[5].endswith(": 1") and titles[9].endswith(": 2")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed: `apt-get install chromium` (Debian's package; "
                    ".ci/run installs it) to open the HTML report in a real browser")
    return found


#: Put before the page's own scripts: records every error event and console error or warning.
PROBE = """<script>
window.__problems = [];
window.addEventListener('error', e => __problems.push('error: ' + (e.message || e.target.outerHTML)), true);
for (const level of ['error', 'warn']) {
  const original = console[level];
  console[level] = (...args) => { __problems.push(level + ': ' + args.join(' ')); original(...args); };
}
</script>"""
#: Put after them: sorts by total (one click: ascending) and writes what it saw into the body.
REPORT = """<script>
window.addEventListener('load', () => {
  const table = document.querySelector('table.sortable');
  const names = () => Array.from(table.tBodies[0].rows).map(r => r.cells[0].textContent);
  const before = names();
  table.querySelectorAll('th')[1].click();
  const ascending = names();
  table.querySelectorAll('th')[1].click();
  document.body.dataset.report = JSON.stringify({
    problems: __problems, svgs: document.querySelectorAll('svg').length,
    bins: document.querySelectorAll('rect.bin').length,
    bars: document.querySelectorAll('rect.rate').length, before, ascending,
    descending: names(), planted: document.querySelectorAll('#planted, td img').length});
});
</script>"""


def test_the_report_renders_in_headless_chromium_and_sorts(page, tmp_path):
    chromium = _chromium()
    probed = tmp_path / "probed.html"
    text = page.read_text()
    probed.write_text(text.replace("<head>", "<head>" + PROBE, 1)
                      .replace("</body>", REPORT + "</body>", 1))
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
             "--v=0", "--window-size=1200,1600", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", probed.as_uri()], capture_output=True, text=True,
                         timeout=120)
    found = re.search(r'data-report="([^"]*)"', dom.stdout)
    assert found, f"Chromium rendered no report:\n{dom.stdout[:500]}\n{dom.stderr[-2000:]}"
    report = json.loads(found.group(1).replace("&quot;", '"').replace("&lt;", "<")
                        .replace("&gt;", ">").replace("&amp;", "&"))
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert report["problems"] == [] and console == [], (report["problems"], console)
    assert report["svgs"] == 2 and report["bins"] == 10 and report["bars"] == len(FUNCTIONS)
    assert report["planted"] == 0
    assert sorted(report["before"]) == sorted(report["ascending"]) and len(report["before"]) == 5
    assert report["ascending"][-1] == "alice" and report["descending"][0] == "alice"
    assert report["ascending"][0] == "carol"  # 0 points, its file did not load
    screenshot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={screenshot}", page.as_uri()], capture_output=True,
                   timeout=120)
    assert screenshot.stat().st_size > 20_000, screenshot.stat().st_size  # not a blank page
    if os.environ.get("BPCHECK_SCREENSHOTS"):
        shutil.copy(screenshot, Path(os.environ["BPCHECK_SCREENSHOTS"]) / "class-report.png")
