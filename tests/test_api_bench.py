"""benchmarks/: the start-up step measures `import artcli` beside bare Python in one run."""

from __future__ import annotations


def test_import_cost_note_compares_within_one_run() -> None:
    """benchmarks/: the start-up step's note gives `import artcli` over bare Python from one run's medians."""
    from benchmarks.steps import IMPORT_CASE, import_cost_note

    def case(art: float, bare: float) -> dict[str, object]:
        return {"cases": [{"case": IMPORT_CASE, "tools": [
            {"tool": "artcli", "summary": {"median_s": art, "user_s": 0.02, "sys_s": 0.01, "inner_s": 0.002}},
            {"tool": "python (bare)", "summary": {"median_s": bare, "user_s": 0.018, "sys_s": 0.01}}]}]}

    note = import_cost_note(case(0.040, 0.020))
    assert note is not None and "+20.0 ms wall" in note and "ratio 2.00" in note and "within" in note
    assert "+2.0 ms" in note and "2.0 ms." in note
    over = import_cost_note(case(0.060, 0.020))
    assert over is not None and "OVER the 30 ms budget" in over
    assert import_cost_note({"cases": []}) is None
