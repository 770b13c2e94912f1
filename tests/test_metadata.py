"""metadata set/get/ls, log --metadata-file, --infer, ls --where/--sort, and the value parsers."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artcli import canonical, mdvalues, redact
from artcli.errors import UsageError

from clihelp import Cli, make_tree


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "data", {"a.txt": b"alpha\n", "b.txt": b"beta\n"})


def _log(cli: Cli, name: str, root: Path, content: str, *args: str) -> str:
    (root / "content.txt").write_text(content)
    return cli.ok("log", name, str(root), *args).out.strip()


def _entries(cli: Cli, ref: str, *args: str) -> dict[str, dict]:
    return {e["key"]: e for e in cli.ok("metadata", "ls", ref, "--json", *args).json()["entries"]}


# -- round trips -------------------------------------------------------------------------------
def test_every_type_round_trips(cli: Cli, data: Path) -> None:
    cli.ok("log", "model", str(data))
    ref = cli.ok("metadata", "set", "model:v0", "epochs=10", "lr=0.001", "ok=true", "none=null", "name=resnet",
                 "tags=[\"a\",\"b\"]", 'params={"depth":50}', "code:str=007", "zip:str=10", "raw:json=\"1\"",
                 "weights:size=1.5GiB", "shard:size=300MB", "src:uri=s3://bucket/raw/", "ckpt:path=/mnt/ckpt/last.pt",
                 "input:dtype=torch.float32", "out:dtype=<f8", "empty=", "spaced=hello world").out.strip()
    assert ref == "default/model:v0"
    e = _entries(cli, "model:v0")
    expect = {
        "epochs": (10, None, "10"), "lr": (0.001, None, "0.001"), "ok": (True, None, "true"),
        "none": (None, None, "null"), "name": ("resnet", None, "resnet"), "tags": (["a", "b"], None, '["a", "b"]'),
        "params": ({"depth": 50}, None, '{"depth": 50}'), "code": ("007", None, "007"), "zip": ("10", None, "10"),
        "raw": ("1", None, "1"), "weights": (1610612736, "size", "1.5 GiB"), "shard": (300_000_000, "size", "286.1 MiB"),
        "src": ("s3://bucket/raw/", "uri", "s3://bucket/raw/"), "ckpt": ("/mnt/ckpt/last.pt", "path", "/mnt/ckpt/last.pt"),
        "input": ("float32", "dtype", "float32"), "out": ("float64", "dtype", "float64"), "empty": ("", None, ""),
        "spaced": ("hello world", None, "hello world"),
    }
    assert {k: (v["value"], v["type"], v["display"]) for k, v in e.items()} == expect
    assert all(type(e[k]["value"]) is type(v[0]) for k, v in expect.items())  # 10 stays int, "10" stays str
    # get: strings bare, everything else JSON, sizes in bytes
    assert cli.ok("metadata", "get", "model:v0", "name").out == "resnet\n"
    assert cli.ok("metadata", "get", "model:v0", "zip").out == "10\n"
    assert cli.ok("metadata", "get", "model:v0", "tags").out == '["a", "b"]\n'
    assert cli.ok("metadata", "get", "model:v0", "weights").out == "1610612736\n"
    assert cli.ok("metadata", "get", "model:v0", "none").out == "null\n"
    got = cli.ok("metadata", "get", "model", "weights", "--json").json()
    assert (got["ref"], got["value"], got["type"], got["display"]) == ("default/model:v0", 1610612736, "size", "1.5 GiB")
    assert cli.ok("show", "model", "--json").json()["metadata"]["epochs"] == 10
    plain = cli.ok("metadata", "ls", "model:v0").out.splitlines()  # not a TTY: key<TAB>value<TAB>type
    assert "weights\t1.5 GiB\tsize" in plain and "epochs\t10\t-" in plain


def test_grouping_from_file_dotted_keys_and_stdin(cli: Cli, data: Path, tmp_path: Path) -> None:
    cli.ok("log", "model", str(data))
    spec = {"model_metrics": {"accuracy": 0.95, "loss": 0.1},
            "data_details": {"rows": 1000, "bytes:size": "2KiB", "nested": {"kept": "as a value"}},
            "epochs": 3, "blob:json": {"not": "a card"}}
    f = tmp_path / "md.json"
    f.write_text(json.dumps(spec))
    cli.ok("metadata", "set", "model", "--file", str(f), "extra.k=1")
    e = _entries(cli, "model")
    assert {k: (v["card"], v["name"]) for k, v in e.items()} == {
        "model_metrics.accuracy": ("model_metrics", "accuracy"), "model_metrics.loss": ("model_metrics", "loss"),
        "data_details.rows": ("data_details", "rows"), "data_details.bytes": ("data_details", "bytes"),
        "data_details.nested": ("data_details", "nested"), "epochs": (None, "epochs"),
        "blob": (None, "blob"), "extra.k": ("extra", "k")}
    assert e["data_details.bytes"]["value"] == 2048 and e["data_details.bytes"]["type"] == "size"
    assert e["data_details.nested"]["value"] == {"kept": "as a value"} and e["blob"]["value"] == {"not": "a card"}
    assert list(e)[:2] == ["blob", "epochs"]  # ungrouped first, then cards by name
    # a card name gives the whole card
    assert cli.ok("metadata", "get", "model", "model_metrics").json() == {"accuracy": 0.95, "loss": 0.1}
    card = cli.ok("metadata", "get", "model", "model_metrics", "--json").json()
    assert card["type"] == "card" and card["value"] == {"accuracy": 0.95, "loss": 0.1}
    # dotted keys and a card object store the same thing; --file - reads stdin
    proc = subprocess.run([sys.executable, "-m", "artcli", "metadata", "set", "model", "--file", "-", "--json"],
                          input=json.dumps({"model_metrics": {"accuracy": 0.97}}), env=cli.proc_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["entries"] == {"model_metrics.accuracy": {"value": 0.97, "type": None}}
    cli.ok("metadata", "set", "model", "model_metrics.accuracy=0.99")
    hist = [r for r in cli.ok("metadata", "ls", "model", "--history", "--json").json()["entries"]
            if r["key"] == "model_metrics.accuracy"]
    assert [r["value"] for r in hist] == [0.95, 0.97, 0.99]


def test_latest_wins_and_history_keeps_every_value(cli: Cli, data: Path) -> None:
    cli.ok("log", "model", str(data), "-m", "acc=0.5", "--run", "train-1",
           env={"ARTCLI_NOW": "2026-01-01T00:00:00Z"})
    cli.ok("metadata", "set", "model:v0", "acc=0.7", "note=first", "--run", "eval-1",
           env={"ARTCLI_NOW": "2026-01-02T00:00:00Z"})
    res = cli.ok("metadata", "set", "model:latest", "acc=0.9", "--run", "eval-2", "--json",
                 env={"ARTCLI_NOW": "2026-01-03T00:00:00Z"}).json()
    assert res["ref"] == "default/model:v0" and res["run"] == "eval-2" and res["entries"] == {
        "acc": {"value": 0.9, "type": None}}
    assert cli.ok("metadata", "get", "model", "acc").out == "0.9\n"
    latest = _entries(cli, "model")
    assert latest["acc"]["run"] == "eval-2" and latest["acc"]["time"] == "2026-01-03T00:00:00.000000Z"
    assert latest["note"]["value"] == "first" and latest["note"]["run"] == "eval-1"
    hist = cli.ok("metadata", "ls", "model", "--history", "--json").json()["entries"]
    assert [(r["key"], r["value"], r["run"], r["time"][:10]) for r in hist] == [
        ("acc", 0.5, "train-1", "2026-01-01"), ("acc", 0.7, "eval-1", "2026-01-02"),
        ("note", "first", "eval-1", "2026-01-02"), ("acc", 0.9, "eval-2", "2026-01-03")]
    assert cli.ok("metadata", "ls", "model", "--history").out.count("\tacc\t") == 3


@pytest.mark.parametrize(("args", "message"), [
    (["k=" + json.dumps("x" * (1 << 20))], "over the 1 MiB limit"),
    (["=1"], "invalid metadata key"),
    (["a\x01b=1"], "control characters"),
    (["a..b=1"], "empty parts"),
    (["acc:flaot=1"], "unknown metadata type"),
    (["w:size=1G"], "not a storage size"),
    (["w:size=-5"], "not a storage size"),
    (["u:uri=https://user:secret@host/x"], "credentials"),
    (["u:uri=https://h/x?X-Amz-Signature=abc"], "credentials"),
    (["u:uri=not a uri"], "not a URI"),
    (["d:dtype=flaot32"], "unknown dtype"),
    (["x:json=nope"], "not JSON"),
    (["novalue"], "KEY=VALUE"),
    ([], "nothing to set"),
])
def test_limits_are_usage_errors(cli: Cli, data: Path, args: list[str], message: str) -> None:
    cli.ok("log", "model", str(data))
    r = cli("metadata", "set", "model", *args)
    assert r.code == 2 and message in r.err, r.err
    assert "Traceback" not in r.err
    assert _entries(cli, "model") == {}  # nothing was written


def test_file_errors(cli: Cli, data: Path, tmp_path: Path) -> None:
    cli.ok("log", "model", str(data))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = cli("metadata", "set", "model", "--file", str(bad))
    assert r.code == 2 and "not valid JSON" in r.err
    bad.write_text("[1, 2]")
    assert cli("metadata", "set", "model", "--file", str(bad)).code == 2
    bad.write_text('{"a": NaN}')
    assert cli("metadata", "set", "model", "--file", str(bad)).code == 2
    assert cli("metadata", "set", "model", "--file", str(tmp_path / "missing.json")).code == 2
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"card": {"k": "x" * (1 << 20)}}))
    r = cli("log", "other", str(data), "--metadata-file", str(big))
    assert r.code == 2 and "card.k" in r.err
    assert [a["name"] for a in cli.ok("ls", "--json").json()] == ["model"]


def test_get_and_ls_errors(cli: Cli, data: Path) -> None:
    cli.ok("log", "model", str(data), "-m", "accuracy=1")
    r = cli("metadata", "get", "model", "acuracy")
    assert r.code == 3 and "did you mean: accuracy" in r.err
    assert cli("metadata", "get", "nope", "x").code == 3
    assert cli("metadata", "set", "model:v7", "a=1").code == 3
    r = cli("metadata", "set", "a=1")
    assert r.code == 2 and "reference first" in r.err
    assert cli("metadata", "set", "model", "a=1", "--artifact", "model").code == 2


def test_log_metadata_file_and_typed_metadata(cli: Cli, data: Path, tmp_path: Path) -> None:
    f = tmp_path / "md.json"
    f.write_text(json.dumps({"model_metrics": {"accuracy": 0.9}, "weights:size": "2MiB", "epochs": 1}))
    cli.ok("log", "model", str(data), "--metadata-file", str(f), "-m", "epochs=5", "-m", "dt:dtype=np.int64",
           "-m", "home:path=~/x")
    e = _entries(cli, "model:v0")
    assert {k: (v["value"], v["type"]) for k, v in e.items()} == {
        "model_metrics.accuracy": (0.9, None), "weights": (2 << 20, "size"), "epochs": (5, None),
        "dt": ("int64", "dtype"), "home": ("~/x", "path")}
    assert cli("log", "model", str(data), "-m", "w:size=lots").code == 2


# -- concurrency -------------------------------------------------------------------------------
WRITERS = 8


def test_concurrent_sets_lose_nothing(shared_cli: Cli, data: Path) -> None:
    cli = shared_cli
    cli.ok("log", "model", str(data))
    procs = [cli.spawn("metadata", "set", "model:v0", f"k{i}={i}", f"shared={i}", f"card.w{i}:size={i}KiB")
             for i in range(WRITERS)]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        assert out.strip() == "default/model:v0"
    e = _entries(cli, "model:v0")
    assert {f"k{i}" for i in range(WRITERS)} <= set(e)
    assert all(e[f"k{i}"]["value"] == i and e[f"card.w{i}"]["value"] == i * 1024 for i in range(WRITERS))
    hist = cli.ok("metadata", "ls", "model:v0", "--history", "--json").json()["entries"]
    shared = [r["value"] for r in hist if r["key"] == "shared"]
    assert sorted(shared) == list(range(WRITERS))
    assert e["shared"]["value"] == shared[-1]  # the latest is the last one in the log
    assert len({r["seq"] for r in hist}) == WRITERS  # one event per set, each its own sequence number


# -- --infer -----------------------------------------------------------------------------------
NO_CI = {k: "" for k in ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "CIRCLECI", "BUILDKITE", "TF_BUILD")}


def test_infer_zero_one_two(cli: Cli, data: Path) -> None:
    r = cli("metadata", "set", "--infer", "a=1", env=NO_CI)
    assert r.code == 2 and "run id" in r.err
    r = cli("metadata", "set", "--infer", "a=1", "--run", "nothing-logged")
    assert r.code == 3 and "logged no live version" in r.err

    _log(cli, "ds", data, "one", "--run", "job-1")
    assert cli.ok("metadata", "set", "--infer", "a=1", "--run", "job-1").out.strip() == "default/ds:v0"
    res = cli.ok("metadata", "set", "--infer", "b=2", "--json", env={"ARTCLI_RUN_ID": "job-1"}).json()
    assert res["ref"] == "default/ds:v0" and res["inferred"] is True and res["run"] == "job-1"
    assert {"a", "b"} <= set(_entries(cli, "ds:v0"))

    _log(cli, "ds", data, "two", "--run", "job-2")
    _log(cli, "model", data, "three", "--run", "job-2")
    r = cli("metadata", "set", "--infer", "c=3", "--run", "job-2")
    assert r.code == 2 and "default/ds:v1" in r.err and "default/model:v0" in r.err and "--artifact" in r.err
    assert cli.ok("metadata", "set", "--infer", "c=3", "--run", "job-2", "--artifact", "model").out.strip() \
        == "default/model:v0"
    assert "c" not in _entries(cli, "ds:v1") and _entries(cli, "model:v0")["c"]["value"] == 3
    assert cli("metadata", "set", "--infer", "c=3", "--run", "job-2", "--artifact", "other").code == 3
    assert cli("metadata", "set", "--infer", "c=3", "--run", "job-2", "--artifact", "ds:v1").code == 2

    # re-logging identical content in a later run counts as that run's output too
    _log(cli, "ds", data, "one", "--run", "job-3")
    assert cli.ok("metadata", "set", "--infer", "d=4", "--run", "job-3").out.strip() == "default/ds:v0"
    # the same run logging two versions of one artifact is ambiguous even with --artifact
    _log(cli, "ds", data, "four", "--run", "job-4")
    _log(cli, "ds", data, "five", "--run", "job-4")
    r = cli("metadata", "set", "--infer", "e=5", "--run", "job-4", "--artifact", "ds")
    assert r.code == 2 and "name the version" in r.err


def test_infer_without_run_records_reads_artifact_logs(cli: Cli, data: Path, tmp_path: Path) -> None:
    """A run whose log has no output records (an older artcli logged it): scan the artifacts."""
    import shutil

    _log(cli, "ds", data, "old", "--run", "old-1")
    _log(cli, "other", data, "x", "--run", "old-2")
    remote = Path(cli.remote.removeprefix("file://"))  # type: ignore[union-attr]
    shutil.rmtree(remote / "runs" / "old-1")  # the run log exists (so the first path is the run log)
    fresh = Cli(tmp_path / "fresh-home", cli.remote)  # no cached events of the removed run log
    assert fresh.ok("metadata", "set", "--infer", "a=1", "--run", "old-1").out.strip() == "default/ds:v0"
    assert fresh.ok("metadata", "get", "ds", "a").out == "1\n"
    assert fresh("metadata", "set", "--infer", "a=1", "--run", "old-3").code == 3


# -- ls --where / --sort -----------------------------------------------------------------------
def _versions(cli: Cli, *args: str) -> list[str]:
    return [r["version"] for r in cli.ok("ls", "model", "--json", *args).json()]


def test_where_and_sort(cli: Cli, data: Path) -> None:
    rows = [("0.81", "beta", "9", "1GB"), ("0.95", "alpha", "10", "2GiB"), ("0.9", "gamma", "abc", "500MB")]
    for i, (acc, tag, mixed, size) in enumerate(rows):
        _log(cli, "model", data, str(i), "-m", f"m.accuracy={acc}", "-m", f"tag={tag}", "-m", f"mixed={mixed}",
             "-m", f"w:size={size}")
    _log(cli, "model", data, "bare")  # v3 has no metadata
    assert _versions(cli, "--where", "m.accuracy>=0.9") == ["v1", "v2"]
    assert _versions(cli, "--where", "m.accuracy>0.9") == ["v1"]
    assert _versions(cli, "--where", "m.accuracy<0.9") == ["v0"]
    assert _versions(cli, "--where", "m.accuracy = 0.9") == ["v2"]  # 0.9 == 0.90: numeric
    assert _versions(cli, "--where", "m.accuracy!=0.9") == ["v0", "v1"]  # v3 lacks the key: never matches
    assert _versions(cli, "--where", "tag>=beta") == ["v0", "v2"]  # text comparison
    assert _versions(cli, "--where", 'tag="alpha"') == ["v1"]
    # numbers compare as numbers (9 < 10), text as text; a number never equals a word
    assert _versions(cli, "--where", "mixed<10") == ["v0"]
    assert _versions(cli, "--where", "mixed=abc") == ["v2"]
    assert _versions(cli, "--where", "mixed>=0") == ["v0", "v1"]
    # sizes compare in bytes, with units on the right-hand side
    assert _versions(cli, "--where", "w>1GB") == ["v1"]
    assert _versions(cli, "--where", "w<=1GB") == ["v0", "v2"]
    # repeatable --where is AND
    assert _versions(cli, "--where", "m.accuracy>=0.8", "--where", "tag<gamma") == ["v0", "v1"]
    # sort ascending / descending; versions without the key last
    assert _versions(cli, "--sort", "m.accuracy") == ["v0", "v2", "v1", "v3"]
    assert _versions(cli, "--sort", "-m.accuracy") == ["v1", "v2", "v0", "v3"]
    assert _versions(cli, "--sort=-tag") == ["v2", "v0", "v1", "v3"]
    assert _versions(cli, "--sort", "mixed") == ["v0", "v1", "v2", "v3"]  # numbers before text
    assert _versions(cli, "--where", "m.accuracy>0", "--sort", "-w") == ["v1", "v0", "v2"]
    plain = cli.ok("ls", "model", "--where", "tag=alpha").out.splitlines()
    assert len(plain) == 1 and plain[0].startswith("v1\t")
    for bad in (["--where", "m.accuracy"], ["--where", ">=1"], ["--where", "a!1"], ["--sort", "-"]):
        assert cli("ls", "model", *bad).code == 2, bad
    assert cli.ok("ls", "--where", "a=1", "--json").json() == []  # without NAME: across the project (issue #19)


# -- the parsers -------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parse_value_reads_back_any_non_string_json(value: object) -> None:
    text = mdvalues.raw(value)
    parsed = mdvalues.parse_value(text)
    if isinstance(value, str):
        # strings are printed bare: they read back as themselves unless they happen to be JSON
        assert parsed == value or canonical.dumps(parsed) == canonical.dumps(canonical.loads(value))
    else:
        assert canonical.dumps(parsed) == canonical.dumps(value)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_value_is_json_or_the_text(text: str) -> None:
    parsed = mdvalues.parse_value(text)
    try:
        canonical.dumps(expected := canonical.loads(text))
    except (ValueError, RecursionError):
        expected = text
    assert canonical.dumps(parsed) == canonical.dumps(expected)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda k: "=" not in k), st.text(max_size=40))
def test_assignment_round_trip(key: str, text: str) -> None:
    key = key.strip(" ")  # spaces around a key are dropped; nothing else is
    try:
        mdvalues.check_key(key)
    except UsageError:
        with pytest.raises(UsageError):
            mdvalues.parse_assignment(f"{key}:str={text}")
        return
    if redact.looks_secret(key, text, bare_key=False):  # credentials are refused (docs/metadata.md)
        with pytest.raises(UsageError, match="credentials"):
            mdvalues.parse_assignment(f"{key}:str={text}")
    else:
        k, entry = mdvalues.parse_assignment(f" {key}:str={text}")
        assert (k, entry) == (key, {"value": text, "type": None})
    value = mdvalues.parse_value(text)
    if redact.looks_secret(key, value, bare_key=False):
        with pytest.raises(UsageError, match="credentials"):
            mdvalues.parse_assignment(f"{key}={text}")
        return
    k, entry = mdvalues.parse_assignment(f"{key}={text}")
    assert k == key and canonical.dumps(entry["value"]) == canonical.dumps(value)


UNITS = sorted(mdvalues.SIZE_UNITS.items())


@settings(max_examples=500, deadline=None)
@given(st.integers(0, mdvalues.MAX_SIZE))
def test_size_round_trips(n: int) -> None:
    assert mdvalues.parse_size(n) == n
    assert mdvalues.parse_size(str(n)) == n
    assert mdvalues.parse_size(f"{n} B") == n
    if n > 1 << 62:  # "8 EiB" would round past the largest size
        return
    shown = mdvalues.format_size(n)
    back = mdvalues.parse_size(shown)
    assert abs(back - n) <= max(n * 0.005, 0), (n, shown, back)  # two decimals of the unit shown


@settings(max_examples=500, deadline=None)
@given(st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
       st.sampled_from(UNITS), st.sampled_from([str.lower, str.upper, lambda s: s]), st.sampled_from(["", " "]))
def test_size_units_are_exact(number: Decimal, unit: tuple[str, int], case: object, space: str) -> None:
    name, factor = unit
    number = abs(number)  # no "-0"
    text = f"{number}{space}{case(name)}"  # type: ignore[operator]
    expected = int((number * factor).to_integral_value(ROUND_HALF_UP))
    if expected > mdvalues.MAX_SIZE:
        with pytest.raises(UsageError):
            mdvalues.parse_size(text)
    else:
        assert mdvalues.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "G", "1G", "1 gigabyte", "-1", "1e", "1..5GB", "1.5 G B", "nan", "inf"])
def test_size_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        mdvalues.parse_size(text)


@pytest.mark.parametrize(("text", "name"), [
    ("float32", "float32"), ("torch.float32", "float32"), ("np.int64", "int64"), ("<f4", "float32"),
    ("i8", "int64"), ("u1", "uint8"), ("?", None), ("Float64", "float64"), ("half", "float16"),
    ("bfloat16", "bfloat16"), ("datetime64[ns]", "datetime64[ns]"), ("b1", "bool"), ("floot", None),
])
def test_dtypes(text: str, name: str | None) -> None:
    if name is None:
        with pytest.raises(UsageError):
            mdvalues.check_dtype(text)
    else:
        assert mdvalues.check_dtype(text) == name
        assert mdvalues.check_dtype(name) == name  # normalising is idempotent


def test_ls_shows_cards_on_a_tty(cli: Cli, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from artcli.cli import output

    cli.ok("log", "model", str(data), "-m", "model_metrics.accuracy=0.95", "-m", "weights:size=1.5GiB",
           "-m", "[red]card.x=[bold]y")
    monkeypatch.setattr(output, "stdout_tty", lambda: True)
    out = cli.ok("metadata", "ls", "model", env={"COLUMNS": "80"}).out
    lines = out.splitlines()
    assert lines[0] == "default/model:v0"
    assert any(ln.startswith("╭─ metadata ") for ln in lines) and any(ln.startswith("╭─ model_metrics ") for ln in lines)
    assert any("weights" in ln and "1.5 GiB  (size)" in ln for ln in lines)
    assert any("╭─ [red]card " in ln for ln in lines) and any("[bold]y" in ln for ln in lines)  # no markup injection
    history = cli.ok("metadata", "ls", "model", "--history", env={"COLUMNS": "200"}).out
    assert any("[red]card.x" in ln and "[bold]y" in ln for ln in history.splitlines())  # a table is text too
