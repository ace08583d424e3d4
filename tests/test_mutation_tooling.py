"""The mutation run's list of known equivalents (mutation/equivalents.toml) is well formed, and a
broken one is a clear error before any run starts."""

from __future__ import annotations

from mutation import equivalents
from mutation.__main__ import main


def test_every_known_equivalent_has_a_reason_and_a_place():
    known = equivalents.load()
    assert known, "mutation/equivalents.toml lists no equivalents"
    for item in known.values():
        assert item.file.startswith("manual/") and item.function and item.line and item.mutated
        assert len(item.reason) > 20 and "TODO" not in item.reason


def test_a_broken_equivalents_file_is_a_clear_error(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "equivalents.toml"
    broken.write_text("[[equivalent]]\nreason = 'the mean's own'\n")
    monkeypatch.setattr(equivalents, "FILE", broken)
    monkeypatch.setattr(equivalents.load, "__defaults__", (broken,))
    assert main(["report"]) == 2
    assert "equivalents.toml is not valid TOML" in capsys.readouterr().err
