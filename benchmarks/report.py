"""Render a results dict (schema ``artcli-bench/1``) as a Markdown report."""

from __future__ import annotations

from typing import Any

from benchmarks.steps import RSS_TARGET_MIB


def _num(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}" if x < 1 else f"{x:.2f}"


def _speed(ratio: float | None) -> str:
    if not ratio:
        return ""
    if ratio < 1:
        return f"{1 / ratio:.1f}× faster"
    if ratio > 1:
        return f"{ratio:.1f}× slower"
    return "same"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _first_line(text: str, n: int = 120) -> str:
    """The telling line of an error text: the exception line of a traceback, else the first line."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    line = lines[0]
    if any(ln.startswith("Traceback (most recent call last)") for ln in lines):
        prefix = line.split("Traceback (most recent call last)")[0]
        line = prefix + lines[-1]
    return line[:n] + ("…" if len(line) > n else "")


def _command(t: dict[str, Any]) -> str:
    s = t.get("summary", {})
    parts = s.get("parts")
    text = " + ".join(f"{k} {_num(v)}" for k, v in parts.items()) if parts else (t.get("label") or "")
    if s.get("inner_s") is not None:
        text += f" (in-process {_num(s['inner_s'])})"
    return text


def step_table(step: dict[str, Any]) -> list[str]:
    out = [f"## {step['number']}. {step['title']}", ""]
    if step.get("remote") and step["remote"] != "none":
        out += [f"Remote: {step['remote']}. Step time {step.get('seconds', 0):.0f} s.", ""]
    if step.get("error"):
        out += [f"**Step failed:** `{_cell(_first_line(step['error'], 300))}`", ""]
    if not step.get("cases"):
        return [*out, "(no results)", ""]
    out += [
        "| case | tool | command | median s | min–max s | peak RSS MiB | CPU user+sys s "
        "| S3 server CPU s | artcli / peer | artcli is |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for case in step["cases"]:
        for t in case["tools"]:
            s = t.get("summary", {})
            row = [case["case"], t["tool"], _cell(_command(t))]
            if t.get("unavailable"):
                row += [f"not available: {_cell(_first_line(t['unavailable'], 80))}", "", "", "", "", "", ""]
            elif not s.get("n_ok"):
                err = s.get("errors") or ["no run"]
                row += [f"**ERROR** `{_cell(_first_line(err[0], 100))}`", "", "", "", "", "", ""]
            else:
                rss = _num(s.get("maxrss_mib"), 1)
                if step["step"] == "large" and t["tool"] == "artcli":
                    rss += " ✓" if s["maxrss_mib"] < RSS_TARGET_MIB else f" ✗ (target < {RSS_TARGET_MIB})"
                med = _num(s["median_s"])
                if s["n_ok"] < s["n"]:
                    med += f" ({s['n_ok']}/{s['n']} ok)"
                row += [
                    med,
                    f"{_num(s['min_s'])}–{_num(s['max_s'])}",
                    rss,
                    _num(s["user_s"] + s["sys_s"]),
                    _num(s.get("server_cpu_s")),
                    _num(t.get("ratio")) if t.get("ratio") else "",
                    _speed(t.get("ratio")),
                ]
            out.append("| " + " | ".join(row) + " |")
    out.append("")
    out += [f"- {n}" for n in step.get("notes", [])]
    if step.get("notes"):
        out.append("")
    return out


def _median_of(steps: dict[str, dict[str, Any]], step: str, case: str, tool: str) -> float | None:
    st = steps.get(step)
    if not st:
        return None
    for c in st.get("cases", []):
        if c["case"] == case:
            for t in c["tools"]:
                if t["tool"] == tool:
                    return t.get("summary", {}).get("median_s")
    return None


def floor_table(results: dict[str, Any]) -> list[str]:
    steps = {s["step"]: s for s in results.get("steps", [])}
    if "floor" not in steps:
        return []
    rows = []
    for ds, (step, case) in {"A": ("ingest", "A"), "B": ("ingest", "B"), "C": ("large", "C upload")}.items():
        floor = _median_of(steps, "floor", ds, "floor")
        copy = _median_of(steps, "floor", ds, "floor + copy")
        art = _median_of(steps, step, case, "artcli")
        if floor is None and copy is None:
            continue
        ratio = f"{art / copy:.2f}" if art and copy else ""
        ratio0 = f"{art / floor:.2f}" if art and floor else ""
        rows.append(f"| {ds} | {_num(floor)} | {_num(copy)} | {_num(art)} ({step}) | {ratio0} | {ratio} |")
    if not rows:
        return []
    return [
        "## artcli against the floor",
        "",
        "| data set | floor: read + BLAKE3 s | floor + one copy s | artcli log s | artcli / floor "
        "| artcli / (floor + copy) |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]


def render(results: dict[str, Any]) -> str:
    m = results.get("machine", {})
    cfg = results.get("config", {})
    v = results.get("versions", {})
    lines = [
        f"# artcli benchmarks — size `{results['size']}`, {results['started']}",
        "",
        f"- machine: {m.get('cpus')} CPUs, {m.get('mem_gib')} GiB, {m.get('platform')}; load average "
        f"{results.get('loadavg_at_start', ['?'])[0]} at start, {m.get('loadavg_1_5_15', ['?'])[0]} at end "
        "(other load on the machine inflates every figure)",
        f"- repetitions: {cfg.get('reps')} (start-up: {cfg.get('startup_reps')}), medians shown; "
        f"OS caches dropped before each timed command: {'yes' if cfg.get('drop_caches') else 'no'}",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- artcli: `{' '.join(results.get('artcli', {}).get('cmd') or [])}` "
        f"({results.get('artcli', {}).get('note', '')})",
        "- data: " + "; ".join(f"{k} = {d['describe']}" for k, d in results.get("datasets", {}).items()),
        f"- total time: {results.get('seconds', 0):.0f} s",
        "",
        "`artcli / peer` < 1 means artcli is faster. Peak RSS is the largest process of the "
        "command's tree (max, not sum). S3 server CPU is the moto process's own CPU during the command.",
        "",
    ]
    for step in results.get("steps", []):
        lines += step_table(step)
    lines += floor_table(results)
    if results.get("unavailable"):
        lines += ["## Not available", ""] + [f"- {_cell(u)}" for u in results["unavailable"]] + [""]
    if results.get("errors"):
        lines += ["## Errors", ""]
        lines += [f"- `{_cell(_first_line(e, 400))}`" for e in results["errors"]]
        lines.append("")
    return "\n".join(lines)
