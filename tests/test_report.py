"""The class report over graded results.json documents: CSV rows, pass rates, diagnosis counts,
a complete report without matplotlib, and unreadable documents reported rather than raised."""

import csv
import sys

import pytest

from bpcheck.grading.report import text_bar, write_class_report

FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward")


def results_document(name, statuses, load_error=None):
    """A results.json as `bpcheck grade` writes it.

    statuses: {function: (status, score, diagnoses)}, each function worth 1 point.
    """
    functions = {function: {"status": status, "score": score, "max_score": 1.0,
                            "diagnoses": list(diagnoses)}
                 for function, (status, score, diagnoses) in statuses.items()}
    return {
        "score": sum(f["score"] for f in functions.values()),
        "execution_time": 1.5,
        "output": "",
        "visibility": "visible",
        "tests": [],
        "extra_data": {"bpcheck": {"version": "0.1.0", "submission": name, "seed": 1,
                                   "load_error": load_error, "isolation": "test",
                                   "functions": functions}},
    }


@pytest.fixture
def class_documents():
    """Alice is perfect; bob's affine_backward has dw transposed; carol's file does not load."""
    passed = ("passed", 1.0, ())
    return {
        "carol": results_document("carol", {f: ("error", 0.0, ()) for f in FUNCTIONS},
                                  load_error="SyntaxError: invalid syntax (line 3)\nTraceback ..."),
        "alice": results_document("alice", dict.fromkeys(FUNCTIONS, passed)),
        "bob": results_document("bob", {
            "affine_forward": passed,
            "affine_backward": ("failed", 0.5, ("dw is transposed",)),
            "relu_forward": ("warning", 1.0, ()),
        }),
    }


def read_rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def markdown_table_row(report, first_cell):
    """The cells of the Markdown table row that starts with first_cell."""
    for line in report.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row for {first_cell!r} in:\n{report}")


def test_summary_csv_has_one_row_per_submission_sorted(tmp_path, class_documents):
    written = write_class_report(tmp_path, class_documents)
    assert tmp_path / "summary.csv" in written and tmp_path / "report.md" in written
    rows = read_rows(tmp_path / "summary.csv")
    assert rows[0] == ["submission", *FUNCTIONS, "total", "max_total", "status"]
    assert rows[1:] == [
        ["alice", "1", "1", "1", "3", "3", "graded"],
        ["bob", "1", "0.5", "1", "2.5", "3", "graded"],
        ["carol", "0", "0", "0", "0", "3", "SyntaxError: invalid syntax (line 3)"],
    ]


def test_report_gives_pass_rates_totals_and_diagnoses(tmp_path, class_documents):
    write_class_report(tmp_path, class_documents)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "3 submissions: 2 graded, 1 could not be loaded, 0 unreadable." in report
    assert "mean 1.83, median 2.5 of 3" in report
    # columns: function, pass rate, passed, warning, failed, error, missing
    assert markdown_table_row(report, "affine_forward") == ["affine_forward", "67%",
                                                            "2", "0", "0", "1", "0"]
    assert markdown_table_row(report, "affine_backward") == ["affine_backward", "33%",
                                                             "1", "0", "1", "1", "0"]
    # a warning (relu'(0)) counts as passing
    assert markdown_table_row(report, "relu_forward") == ["relu_forward", "67%",
                                                          "1", "1", "0", "1", "0"]
    assert markdown_table_row(report, "dw is transposed") == ["dw is transposed", "1",
                                                              "affine_backward (1)"]
    assert "- carol: SyntaxError: invalid syntax (line 3)" in report


def test_diagnoses_are_counted_across_submissions_most_frequent_first(tmp_path):
    documents = {
        f"s{i}": results_document(f"s{i}", {
            "affine_backward": ("failed", 0.0,
                                ("dw is transposed",) if i < 3 else ("db is a mean",)),
            "relu_backward": ("failed", 0.0, ("upstream gradient not multiplied in",)
                              if i == 0 else ()),
            "tanh_backward": ("failed", 0.0, ("upstream gradient not multiplied in",)),
        })
        for i in range(4)
    }
    write_class_report(tmp_path, documents)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    table = [line for line in report.splitlines()
             if line.startswith("| ") and line.count("|") == 4 and "count" not in line]
    assert [row.split("|")[1].strip() for row in table] == [
        "upstream gradient not multiplied in", "dw is transposed", "db is a mean"]
    assert markdown_table_row(report, "upstream gradient not multiplied in") == [
        "upstream gradient not multiplied in", "5", "tanh_backward (4), relu_backward (1)"]
    assert markdown_table_row(report, "dw is transposed")[1] == "3"
    assert markdown_table_row(report, "db is a mean")[1] == "1"


def test_pass_rate_chart_is_a_png_when_matplotlib_is_there(tmp_path, class_documents):
    pytest.importorskip("matplotlib")
    written = write_class_report(tmp_path, class_documents)
    chart = tmp_path / "pass_rate.png"
    assert chart in written and chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "![pass rate per function](pass_rate.png)" in (tmp_path / "report.md").read_text()


def test_report_is_complete_without_matplotlib(tmp_path, class_documents, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    written = write_class_report(tmp_path, class_documents)
    assert written == [tmp_path / "summary.csv", tmp_path / "report.md", tmp_path / "report.html"]
    assert not (tmp_path / "pass_rate.png").exists()
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "pass_rate.png" not in report
    assert f"affine_backward  {'█' * 7}{'░' * 13}   33%" in report
    assert markdown_table_row(report, "affine_backward")[1] == "33%"
    assert "## Most frequent diagnoses" in report and "dw is transposed" in report


def test_text_bar_fills_in_proportion():
    assert text_bar(0.0) == "░" * 20
    assert text_bar(0.8, width=10) == "████████░░"
    assert text_bar(1.0) == "█" * 20


@pytest.mark.parametrize("breakage, reason", [
    (lambda doc: doc.pop("extra_data"), "missing key extra_data"),
    (lambda doc: doc["extra_data"]["bpcheck"].pop("functions"),
     "missing key extra_data.bpcheck.functions"),
    (lambda doc: doc["extra_data"]["bpcheck"]["functions"]["relu_forward"].pop("score"),
     "missing key extra_data.bpcheck.functions.relu_forward.score"),
    (lambda doc: doc.update(score="lots"), "score is not a finite number"),
    (lambda doc: doc["extra_data"]["bpcheck"]["functions"]["relu_forward"].update(status="ok"),
     "relu_forward.status is 'ok'"),
])
def test_a_document_missing_keys_is_reported_as_unreadable(tmp_path, class_documents,
                                                           breakage, reason):
    breakage(class_documents["bob"])
    class_documents["dave"] = ["not", "an", "object"]
    written = write_class_report(tmp_path, class_documents)
    assert written[:2] == [tmp_path / "summary.csv", tmp_path / "report.md"]
    rows = {row[0]: row for row in read_rows(tmp_path / "summary.csv")[1:]}
    assert list(rows) == ["alice", "bob", "carol", "dave"]
    assert rows["bob"][-1].startswith("unreadable: ") and reason in rows["bob"][-1]
    assert rows["dave"][-1] == "unreadable: the document is not a JSON object"
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "4 submissions: 1 graded, 1 could not be loaded, 2 unreadable." in report
    assert "## Unreadable results" in report and "- bob: " in report and reason in report
    # bob no longer counts: alice passes, carol's file did not load
    assert markdown_table_row(report, "affine_forward")[:2] == ["affine_forward", "50%"]


def test_no_documents_still_writes_a_report(tmp_path):
    written = write_class_report(tmp_path / "empty", {})
    assert written == [tmp_path / "empty" / name for name in
                       ("summary.csv", "report.md", "report.html")]
    assert read_rows(written[0]) == [["submission", "total", "max_total", "status"]]
    assert "0 submissions" in written[1].read_text(encoding="utf-8")
