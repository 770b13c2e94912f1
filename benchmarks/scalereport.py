"""Markdown for a scale-suite run (``benchmarks/scale.py``): one table per case, before | after."""

from __future__ import annotations

from typing import Any

TITLES = {
    "show_cold": "`show NAME:latest`, cold cache, S3 — N events",
    "download_cold": "`download NAME:vK`, cold cache, S3 — N events",
    "show_warm": "`show NAME:latest`, warm cache, S3 — N events (median CPU of 3 runs)",
    "show_warm_folder": "`show NAME:latest`, warm cache, folder remote — N events (median CPU of 3 runs)",
    "log_warm": "`log` a new version, warm cache, S3 — N events",
    "ulimit": "`show NAME:latest`, cold cache, folder remote, `ulimit -n 256` — N events",
    "ls_cold": "`ls`, cold cache, S3 — N artifacts",
    "ls_warm": "`ls`, warm cache, S3 — N artifacts",
    "files_log": "`log` of N × 1 KiB files, folder remote",
    "files_download": "`download` of N × 1 KiB files, empty cache, folder remote",
    "files_files": "`files --json` of a version of N files, folder remote",
    "files_diff": "`diff` of two versions of N files (one differs), empty cache, folder remote",
    "large_cold": "`download` of N MiB in 32 MiB files, empty cache, S3",
    "large_warm": "`download` of N MiB in 32 MiB files again (cache full, target removed), S3",
}


def _cell(row: dict[str, Any] | None, key: str, fmt: str) -> str:
    if row is None:
        return "—"
    if "skipped" in row:
        return "not run"
    if row.get("rc"):
        return f"exit {row['rc']}"
    return format(row[key], fmt)


#: the files case is skipped as a whole for the old code; its "not run" belongs in each of its tables
_FILES_CASES = ("files_log", "files_download", "files_files", "files_diff")


def render(results: dict[str, Any]) -> str:
    rows = [dict(r, case=c) for r in results["rows"]
            for c in (_FILES_CASES if r["case"] == "files" and "skipped" in r else (r["case"],))]
    m0, m1 = results["machine_start"], results["machine_end"]
    out = [
        f"# artcli scale suite — run {results['run']}",
        "",
        f"before = `{results['baseline']}` (git archive), after = `{results['head']}`"
        f"{' + uncommitted changes' if results.get('dirty') else ''}; "
        f"{m0['cpus']} CPUs, load average {m0['loadavg_1_5_15']} at start, {m1['loadavg_1_5_15']} at end; "
        f"whole run {results['wall_s']:.0f} s.",
        "Requests are counted at the S3 server. Times are wall seconds on a shared machine: read the "
        "requests and CPU first. `not run`: the size is above the cap for the old code. Both trees are "
        "byte-compiled before the first command (as `pip install` does). "
        f"Measured commands took {sum(r.get('wall_s') or 0 for r in rows):.0f} s of the run (warm reads "
        "counted once); the rest went to generating remotes, loading them into the server and warming caches.",
        "",
    ]
    cases = list(dict.fromkeys(r["case"] for r in rows if r["case"] != "writers"))
    for case in cases:
        out += [f"## {TITLES.get(case, case)}", "",
                "| N | requests before | requests after | wall s before | wall s after | CPU s before | "
                "CPU s after | peak RSS MiB before | peak RSS MiB after | server CPU s before | server CPU s after |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for n in sorted({r["n"] for r in rows if r["case"] == case}):
            pick = {r["variant"]: r for r in rows if r["case"] == case and r["n"] == n}
            b, a = pick.get("before"), pick.get("after")
            cells = [f"{n:,}"]
            for key, fmt in (("requests", ","), ("wall_s", ".2f"), ("cpu_s", ".2f"), ("rss_mib", ".0f"),
                             ("server_cpu_s", ".2f")):
                cells += [_cell(b, key, fmt), _cell(a, key, fmt)]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    for r in (r for r in rows if r["case"] == "writers"):
        out += [f"## {r['writers']} concurrent writers × {r['each']} versions each, one artifact, S3", "",
                f"{r['acknowledged']} of {r['n']} versions acknowledged; consecutive: {r['consecutive']}; "
                f"checkpoints written meanwhile: {', '.join(f'[{a}, {b})' for a, b in r['checkpoints']) or 'none'}, "
                f"each equal to the event objects: {r['checkpoints_equal_events']}; {r['requests']:,} requests "
                f"({', '.join(f'{k} {v:,}' for k, v in sorted(r['by_kind'].items()))}); "
                f"answers other than 2xx: {', '.join(f'{k} {v:,}' for k, v in sorted(r.get('answers', {}).items())) or 'none'}"
                f" (PUT 412: an event a writer lost to another); {r['wall_s']:.0f} s wall.", ""]
    errors = [r for r in rows if r.get("rc")]
    if errors:
        out += ["## Errors", ""]
        for r in errors:
            out.append(f"- {r['case']} n={r['n']} {r['variant']}: exit {r['rc']}: "
                       f"{(r.get('error') or '').strip().splitlines()[-1:] or ''}")
        out.append("")
    return "\n".join(out)
