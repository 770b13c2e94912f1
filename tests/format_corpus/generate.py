"""Build the conformance corpus (docs/format.md): every case's ``remote/`` tree.

    .venv/bin/python tests/format_corpus/generate.py            # all cases, into tests/format_corpus/
    .venv/bin/python tests/format_corpus/generate.py packs ...  # some cases

Valid remotes are written by artcli itself, through its command line, so their bytes are
real. Hostile ones start from a valid remote and are edited by the small, named functions
below — each edit writes what a damaged bucket or a hostile writer could hold, with the
same canonical JSON a writer uses, so only the documented flaw differs.

Reproducible bytes: everything runs in one fixed directory (``WORK``), with a fixed clock per
step (``ARTCLI_NOW``), user (``corpus``), host (``corpus-host``) and writer version
(``corpus``), and explicit run ids, so regenerating writes the same bytes;
``tests/test_golden.py`` regenerates every case and fails on any byte that differs (manifests
compared decompressed: gzip's output is not part of the format). ``expected.json`` files are
written by hand from the spec, never by this script.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import io
import json
import os
import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from artcli import canonical  # noqa: E402
from artcli.hashing import digest_bytes  # noqa: E402

#: a fixed place: command lines and run attributes record paths, and they must not vary
WORK = Path("/tmp/artcli-format-corpus")
REMOTE = WORK / "remote"
SOURCES = WORK / "src"  # location-only references point here (see the `location-file` case)
LOCK = Path("/tmp/artcli-format-corpus.lock")
USER = "corpus"
HOST = "corpus-host"
VERSION = "corpus"
D = "2026-03-01T"  # the day every case happens on


def t(hm: str, day: str = D) -> str:
    """``"10:05"`` -> ``2026-03-01T10:05:00.000000Z``."""
    return f"{day}{hm}:00.000000Z"


_UNSET = ("ARTCLI_REMOTE", "ARTCLI_PROJECT", "ARTCLI_RUN_ID", "ARTCLI_NOW", "GITHUB_ACTIONS", "GITLAB_CI",
          "JENKINS_URL", "CIRCLECI", "BUILDKITE", "TF_BUILD", "AWS_PROFILE")


@contextlib.contextmanager
def pinned_environment() -> Iterator[None]:
    """Fixed user, host and writer version; no CI or artcli variables from the caller."""
    import artcli.version

    saved_env = {k: os.environ.get(k) for k in (*_UNSET, "USER", "LOGNAME", "ARTCLI_CACHE_DIR",
                                                "ARTCLI_CONFIG_DIR", "ARTCLI_DATA_DIR")}
    saved = (socket.gethostname, artcli.version.__version__)
    try:
        for k in _UNSET:
            os.environ.pop(k, None)
        os.environ.update({"USER": USER, "LOGNAME": USER})
        socket.gethostname = lambda: HOST  # type: ignore[assignment]
        artcli.version.__version__ = VERSION  # what run records and sources read
        yield
    finally:
        socket.gethostname, artcli.version.__version__ = saved  # type: ignore[assignment]
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def one_command_tree() -> Iterator[None]:
    """Build Typer's click command tree once, not on every in-process call (0.1 s each): the
    same commands run, only faster."""
    import typer.main

    real = typer.main.get_command
    built: dict[tuple[int, ...], Any] = {}

    def cached(app: Any) -> Any:
        # keyed by the commands the app holds, not by id(app): the CLI runs a fresh copy of its
        # app narrowed to the one command it runs, and a freed copy's id is soon reused
        key = tuple(id(c) for c in [*app.registered_commands, *app.registered_groups])
        if key not in built:
            built[key] = real(app)
        return built[key]

    typer.main.get_command = cached  # type: ignore[assignment]
    try:
        yield
    finally:
        typer.main.get_command = real  # type: ignore[assignment]


@contextlib.contextmanager
def work_lock() -> Iterator[None]:
    """``WORK`` is one fixed directory: one generator (or golden test) at a time per machine."""
    with open(LOCK, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


CORPUS_STORE_ID = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"  # every generated store's marker id

class Gen:
    """One case being built in ``WORK``: artcli commands, then documented edits."""

    def __init__(self) -> None:
        if WORK.exists():
            shutil.rmtree(WORK)
        (WORK / "work").mkdir(parents=True)
        self.now = t("10:00")

    # -- artcli itself ---------------------------------------------------------------------
    def at(self, when: str) -> Gen:
        self.now = when
        return self

    def artcli(self, *args: str, run: str | None = "gen", expect: int = 0, project: str | None = None) -> str:
        """Run the real command line in-process at ``self.now``; returns stdout. A new store's
        marker gets the fixed id ``CORPUS_STORE_ID`` (a real one is random)."""
        from artcli import marker
        from artcli.cli.app import main

        env = {"ARTCLI_REMOTE": REMOTE.as_uri(), "ARTCLI_NOW": self.now,
               "ARTCLI_CACHE_DIR": str(WORK / "home" / "cache"), "ARTCLI_CONFIG_DIR": str(WORK / "home" / "config"),
               "ARTCLI_DATA_DIR": str(WORK / "home" / "data")}
        if run:
            env["ARTCLI_RUN_ID"] = run
        if project:
            env["ARTCLI_PROJECT"] = project
        old = {k: os.environ.get(k) for k in (*env, "ARTCLI_RUN_ID", "ARTCLI_PROJECT")}
        cwd = os.getcwd()
        out, err = io.StringIO(), io.StringIO()
        code = 0
        new_id = marker.new_id
        try:
            marker.new_id = lambda: CORPUS_STORE_ID
            os.environ.update(env)
            os.chdir(WORK / "work")
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main(list(args))
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            marker.new_id = new_id
            os.chdir(cwd)
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        if code != expect:
            raise RuntimeError(f"artcli {' '.join(args)}: exit {code}, expected {expect}\n{out.getvalue()}"
                               f"\n{err.getvalue()}")
        return out.getvalue()

    def files(self, rel: str, files: dict[str, bytes]) -> str:
        """A folder of input files under the work directory; its relative path."""
        for name, data in files.items():
            p = WORK / "work" / rel / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        return rel

    # -- edits: what a damaged bucket or a hostile writer leaves ------------------------------
    def path(self, key: str) -> Path:
        return REMOTE / key

    def remove(self, key: str) -> None:
        self.path(key).unlink()

    def write(self, key: str, data: bytes) -> None:
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    def events(self, log: str) -> list[tuple[str, dict[str, Any]]]:
        folder = self.path(log + "events")
        return [(f"{log}events/{p.name}", json.loads(p.read_bytes())) for p in sorted(folder.iterdir())]

    def next_seq(self, log: str) -> int:
        folder = self.path(log + "events")
        return len(list(folder.iterdir())) if folder.exists() else 0

    def append(self, log: str, body: dict[str, Any], *, seq: int | None = None, seq_field: int | None = None,
               when: str | None = None, raw: bytes | None = None) -> str:
        """Write an event the way a writer does (canonical JSON, common fields), at the next key
        or at ``seq``; ``seq_field`` puts a different number in the ``seq`` field; ``raw``
        writes those bytes instead. Returns the key."""
        n = self.next_seq(log) if seq is None else seq
        key = f"{log}events/{n:012d}.json"
        ev = {**body, "seq": n if seq_field is None else seq_field, "time": when or self.now,
              "actor": {"host": HOST, "run": None, "user": USER}}
        self.write(key, raw if raw is not None else canonical.dumps(ev))
        return key

    def edit_event(self, key: str, change: Callable[[dict[str, Any]], None]) -> None:
        ev = json.loads(self.path(key).read_bytes())
        change(ev)
        self.write(key, canonical.dumps(ev))

    def put_manifest(self, data: bytes) -> str:
        """Store manifest bytes as they are (canonical or not); returns their manifest digest."""
        d = digest_bytes(data)
        self.write(f"manifests/blake3/{d[:2]}/{d[2:]}.jsonl.gz", gzip.compress(data, 6, mtime=0))
        return d

    def manifest_bytes(self, digest: str) -> bytes:
        return gzip.decompress(self.path(f"manifests/blake3/{digest[:2]}/{digest[2:]}.jsonl.gz").read_bytes())

    def version_event(self, project: str, name: str, version: int) -> dict[str, Any]:
        log = f"projects/{project}/artifacts/{name}/"
        return next(ev for _, ev in self.events(log) if ev["type"] == "version_created" and ev["version"] == version)

    def save(self, out: Path) -> None:
        dest = out / "remote"
        if dest.exists():
            shutil.rmtree(dest)
        if REMOTE.exists():
            # The project catalogues (docs/format.md §5.10) the commands wrote are left out: the
            # edits below change artifact logs behind the catalogue's back, and these cases are
            # about what the logs themselves mean (a reader without a catalogue reads the logs).
            shutil.copytree(REMOTE, dest, symlinks=True,
                            ignore=lambda d, names: [n for n in names if n == "catalogue"
                                                     and Path(d).parent.name == "projects"])
        else:
            dest.mkdir(parents=True)
        (dest / ".keep").touch()  # git keeps empty trees only with a file in them


def content_digest(manifest: bytes) -> str:
    """§3.1 computed from manifest bytes: the header as it is, every entry without pack/offset."""
    lines = manifest.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    out = [lines[0] + b"\n"]
    for line in lines[1:]:
        obj = json.loads(line)
        obj.pop("pack", None)
        obj.pop("offset", None)
        out.append(canonical.dumps(obj) + b"\n")
    return digest_bytes(b"".join(out))


def created(g: Gen, project: str, name: str, version: int, manifest: bytes, *, when: str | None = None,
            **over: Any) -> str:
    """A truthful ``version_created`` for ``manifest`` (digest, size, files computed), with ``over``
    replacing fields; stores the manifest too. Returns the event key."""
    md = g.put_manifest(manifest)
    entries = [json.loads(x) for x in manifest.split(b"\n")[1:] if x]
    body = {"type": "version_created", "version": version, "digest": content_digest(manifest), "manifest": md,
            "size": sum(e["size"] for e in entries), "files": len(entries), "artifact_type": "dataset",
            "description": None, "aliases": [], "metadata": {}}
    body.update(over)
    return g.append(f"projects/{project}/artifacts/{name}/", body, when=when)


# -- valid remotes, written by artcli ---------------------------------------------------------
B2000 = bytes((i * 7) % 256 for i in range(2000))


def tiny(g: Gen) -> None:
    """One artifact, two versions, small files only: the base of most hostile cases."""
    g.files("d1", {"a.txt": b"alpha\n", "sub/b.bin": B2000})
    g.files("d2", {"a.txt": b"beta\n", "sub/b.bin": B2000})
    g.at(t("10:00")).artcli("log", "ds", "d1", "--alias", "raw")
    g.at(t("10:01")).artcli("log", "ds", "d2")


def basic(g: Gen) -> None:
    """Every event type artcli writes, in one realistic remote (also the golden bytes of each)."""
    g.files("d1", {"a.txt": b"alpha\n", "sub/b.bin": B2000, "empty.txt": b""})
    g.files("d2", {"a.txt": b"beta\n", "sub/b.bin": B2000, "empty.txt": b""})
    g.files("d3", {"a.txt": b"gamma\n", "sub/b.bin": B2000})
    g.files("d4", {"scratch.txt": b"scratch\n"})
    g.files("m", {"weights.bin": bytes(range(256)) * 12})
    g.files("o", {"other.txt": b"other project\n"})
    g.at(t("10:00")).artcli("log", "ds", "d1", "--alias", "raw", "-m", "rows=3", "-d", "first", run="gen-1")
    g.at(t("10:01")).artcli("log", "ds", "d2", "-m", "rows=4", run="gen-2")
    g.at(t("10:02")).artcli("alias", "add", "ds:v0", "best")
    g.at(t("10:03")).artcli("log", "ds", "d1", run="gen-3")  # identical content: version_reused, latest -> v0
    g.at(t("10:04")).artcli("log", "ds", "d3", "--ttl", "30d", "--input", "ds:v0", run="gen-4")
    g.at(t("10:05")).artcli("metadata", "set", "ds:v1", "acc=0.9", "card.x=1", "w:size=1KiB")
    g.at(t("10:06")).artcli("alias", "add", "ds:v1", "tmp")
    g.at(t("10:07")).artcli("alias", "rm", "ds", "tmp")
    g.at(t("10:08")).artcli("delete", "ds:v1")
    g.at(t("10:09")).artcli("log", "model", "m", "--type", "model", run="gen-5")
    g.at(t("10:10")).artcli("registry", "create", "shelf", "-t", "dataset", "-d", "a shelf")
    g.at(t("10:11")).artcli("link", "ds:v2", "registry/shelf/coll", "--alias", "candidate")
    g.at(t("10:12")).artcli("link", "ds:v0", "registry/shelf/coll")
    g.at(t("10:13")).artcli("alias", "add", "registry/shelf/coll:v0", "prod", "staging")
    g.at(t("10:14")).artcli("alias", "rm", "registry/shelf/coll", "staging")
    g.at(t("10:15")).artcli("unlink", "registry/shelf/coll:v1")
    g.at(t("10:16")).artcli("link", "model:v0", "registry/models/clf")
    g.at(t("10:17")).artcli("run", "start", "--id", "train-1", "--job-type", "train", "--name", "train", run=None)
    g.at(t("10:18")).artcli("use", "ds:v0", "--run", "train-1", run=None)
    g.at(t("10:19")).artcli("download", "ds:v2", "--root", "out", "--run", "train-1", run=None)
    g.at(t("10:20")).artcli("run", "finish", "train-1", "--status", "succeeded", run=None)
    g.at(t("10:21")).artcli("ttl", "set", "ds:v0", "60d")
    g.at(t("10:22")).artcli("ttl", "default", "30d")
    g.at(t("10:23")).artcli("log", "scratch", "d4", "--ttl", "1d", run="gen-6")
    g.at(t("10:24")).artcli("log", "ds", "o", project="other", run="gen-7")
    g.at(t("12:00", "2026-03-03T")).artcli("gc", "--grace", "0s")  # expires scratch:v0 (objects stay: young)


def curation(g: Gen) -> None:
    """What people curate (§5.1, §5.6): a description changed after logging (``description_set``)
    and by an unchanged re-log (``version_reused`` with ``description``); a composite version
    holding two others as components (``components``, their references in ``inputs``); a copy
    (``origin``) and an input on a remote named by URL (``remote_inputs``)."""
    g.files("d", {"a.txt": b"alpha\n", "sub/b.bin": B2000})
    g.files("m", {"weights.bin": bytes(range(256)) * 12})
    g.at(t("10:00")).artcli("log", "ds", "d", "-d", "first", run="cur-1")
    g.at(t("10:01")).artcli("log", "ds", "d", "-d", "second", run="cur-2")  # identical content, new words
    g.at(t("10:02")).artcli("describe", "ds:v0", "third")
    g.at(t("10:03")).artcli("log", "model", "m", "--type", "model", run="cur-3")
    g.at(t("10:04")).artcli("log", "bundle", "--component", "model", "--component", "data=ds:v0", run="cur-4")
    # a copy into another project of the same remote (origin), and an input named by its remote's URL
    g.at(t("10:05")).artcli("copy", "ds", "--to", REMOTE.as_uri(), "--project", "prod", "--alias", "live", run="cur-5")
    g.files("f", {"f.csv": b"1,2\n"})
    g.at(t("10:06")).artcli("log", "feat", "f", "--input", f"{REMOTE.as_uri()}#prod/ds:live", run="cur-6")
    g.at(t("10:07")).artcli("rename", "feat", "features")  # artifact_renamed in both logs


def packs(g: Gen) -> None:
    """§4: the 1 MiB boundary, empty files sharing a member, a file stored once in a pack."""
    g.files("p", {"exactly-1MiB.bin": bytes(range(256)) * 4096,  # 1,048,576 bytes: loose
                  "below-1MiB.bin": bytes(range(256)) * 4095 + bytes(255),  # 1,048,575 bytes: packed
                  "a.txt": b"aaa", "empty-1.txt": b"", "empty-2.txt": b"", "z.txt": b"zz",
                  "dup/a-again.txt": b"aaa"})
    g.at(t("10:00")).artcli("log", "packs", "p")


def latest_by_number(g: Gen) -> None:
    """§5.1/§5.3: the newest live version is the highest number, not the latest time (clocks
    moved backwards between writers)."""
    for i in range(3):
        g.files(f"d{i}", {"f.txt": f"version {i}\n".encode()})
    g.at(t("10:30")).artcli("log", "ds", "d0")
    g.at(t("10:10")).artcli("log", "ds", "d1")
    g.at(t("10:20")).artcli("log", "ds", "d2")
    g.at(t("10:40")).artcli("link", "ds:v0", "registry/datasets/coll")
    g.at(t("10:35")).artcli("link", "ds:v1", "registry/datasets/coll")
    g.at(t("10:38")).artcli("link", "ds:v2", "registry/datasets/coll")
    g.at(t("10:50")).artcli("delete", "ds:v2", "--force")  # unlinks coll:v2 too; latest falls back


def linked_expired(g: Gen) -> None:
    """§5.1: a version linked while its TTL passes stays live for every reader (the state a
    `ttl set` racing a `link` can leave)."""
    for i in range(3):
        g.files(f"d{i}", {"f.txt": f"expiring {i}\n".encode()})
    g.at(t("10:00")).artcli("log", "ds", "d0", "--ttl", "1d")
    g.at(t("10:01")).artcli("log", "ds", "d1", "--ttl", "1d")
    g.at(t("10:02")).artcli("log", "ds", "d2", "--ttl", "1d")
    g.at(t("10:03")).artcli("link", "ds:v0", "registry/datasets/keep")  # clears v0's TTL
    g.at(t("10:04")).artcli("link", "ds:v2", "registry/datasets/gone")
    g.at(t("10:05")).artcli("unlink", "registry/datasets/gone:v0")
    # the race: `ttl set ds:v0 1d` built its event before the link landed, and its writer died
    # before clearing it again; and v2's TTL comes back after its link went
    log = "projects/default/artifacts/ds/"
    g.at(t("10:06")).append(log, {"type": "ttl_set", "version": 0, "expires": t("10:06", "2026-03-02T")})
    g.append(log, {"type": "ttl_set", "version": 2, "expires": t("10:06", "2026-03-02T")})


def expiry_at_now(g: Gen) -> None:
    """§5.1: `expires` equal to the reader's now has expired; one microsecond later has not."""
    g.files("d0", {"f.txt": b"at now\n"})
    g.files("d1", {"f.txt": b"after now\n"})
    g.at(t("10:00")).artcli("log", "ds", "d0")
    g.at(t("10:01")).artcli("log", "ds", "d1")
    g.at(t("10:02")).artcli("ttl", "set", "ds:v0", "2026-03-05T00:00:00Z")
    g.at(t("10:03")).artcli("ttl", "set", "ds:v1", "2026-03-05T00:00:00.000001Z")


def time_forms(g: Gen) -> None:
    """§1: the time forms a reader admits, and some it must not."""
    tiny(g)
    log = "projects/default/artifacts/ds/"
    g.append(log, {"type": "ttl_set", "version": 0, "expires": "2026-03-05T12:00:00+02:00"}, when="2026-03-01T10:02:00Z")
    g.append(log, {"type": "ttl_set", "version": 1, "expires": "2026-03-05T12:00:00Z"},
             when="2026-03-01T11:03:00.123+01:00")
    g.append(log, {"type": "alias_set", "alias": "no-zone", "version": 0}, when="2026-03-01T10:04:00")
    g.append(log, {"type": "alias_set", "alias": "date-only", "version": 0}, when="2026-03-01")
    g.append(log, {"type": "alias_set", "alias": "basic-form", "version": 0}, when="20260301T100600Z")
    g.append(log, {"type": "alias_set", "alias": "seven-digits", "version": 0}, when="2026-03-01T10:07:00.1234567Z")
    g.append(log, {"type": "alias_set", "alias": "space", "version": 0}, when="2026-03-01 10:08:00Z")
    g.append(log, {"type": "alias_set", "alias": "offset-ok", "version": 1}, when="2026-03-01T10:09:00-05:30")


def markers(name: str, data: bytes | None) -> Callable[[Gen], None]:
    def build(g: Gen) -> None:
        tiny(g)
        if data is None:
            g.remove("artcli-store.json")
        else:
            g.write("artcli-store.json", data)
    build.__doc__ = f"§2.1: marker {data!r}"
    return build


def empty(g: Gen) -> None:
    """§2.1: nothing at all: an empty remote."""


def manifest_rules(g: Gen) -> None:
    """§3.3: what a reader does with manifests artcli never writes."""
    tiny(g)
    v0 = g.version_event("default", "ds", 0)
    lines = g.manifest_bytes(v0["manifest"]).split(b"\n")[:-1]
    head, entries = lines[0], [json.loads(x) for x in lines[1:]]

    def man(header: bytes, objs: list[dict[str, Any]]) -> bytes:
        return header + b"\n" + b"".join(canonical.dumps(o) + b"\n" for o in objs)

    with_mode = [{**entries[0], "mode": "0644"}, *entries[1:]]
    created(g, "default", "ds", 2, man(head, with_mode), when=t("10:02"))  # unknown entry field: fine
    created(g, "default", "ds", 3, man(b'{"artcli":"manifest","note":"later","version":1}', entries),
            when=t("10:03"))  # extra header field: fine
    created(g, "default", "ds", 4, man(b'{"artcli":"manifest","version":2}', entries), when=t("10:04"))
    loose = head + b"\n" + b"".join(json.dumps(o).encode() + b"\n" for o in entries)  # ", " and ": "
    created(g, "default", "ds", 5, loose, when=t("10:05"))
    created(g, "default", "ds", 6, man(b'{"artcli":"manifest","version":"1"}', entries), when=t("10:06"))
    created(g, "default", "ds", 7, man(head, entries)[:-1], when=t("10:07"))  # no final newline


def event_manifest(g: Gen) -> None:
    """§5.8: events whose digest, size or file count contradict their manifest."""
    tiny(g)
    v0 = g.version_event("default", "ds", 0)
    v1 = g.version_event("default", "ds", 1)
    data = g.manifest_bytes(v0["manifest"])
    created(g, "default", "ds", 2, data, when=t("10:02"), size=v0["size"] + 1)
    created(g, "default", "ds", 3, data, when=t("10:03"), files=v0["files"] + 1)
    created(g, "default", "ds", 4, data, when=t("10:04"), digest=v1["digest"])  # another version's identity


def log_numbers(g: Gen) -> None:
    """§5.7: duplicate, out-of-order, skipped and planted version numbers."""
    g.files("x", {"x.txt": b"x\n"})
    for name in ("dup", "gap", "order", "planted"):
        g.files(name, {"f.txt": f"{name} v0\n".encode()})
        g.at(t("10:00")).artcli("log", name, name)
    base = g.version_event("default", "dup", 0)
    data = g.manifest_bytes(base["manifest"])
    other = b'{"artcli":"manifest","version":1}\n' + canonical.dumps(
        {"digest": digest_bytes(b"other\n"), "path": "other.txt", "size": 6}) + b"\n"
    od = digest_bytes(b"other\n")
    g.write(f"blobs/blake3/{od[:2]}/{od[2:]}", b"other\n")
    created(g, "default", "dup", 1, other, when=t("10:01"))
    created(g, "default", "dup", 1, data, when=t("10:02"))  # the second v1: skipped
    created(g, "default", "gap", 5, other, when=t("10:01"))  # v1-v4 never existed
    created(g, "default", "order", 2, other, when=t("10:01"))
    created(g, "default", "order", 1, data, when=t("10:02"))  # lower than v2: skipped
    created(g, "default", "planted", 999_999_999, other, when=t("10:01"))  # the highest number there is


def log_events(g: Gen) -> None:
    """§5.6/§5.7: events that cannot be used, keys that are not events, unknown types."""
    for name in ("corrupt", "invalid", "seqmix", "seqgap", "stray", "future", "full", "badnum"):
        g.files(name, {"f.txt": f"{name} v0\n".encode()})
        g.at(t("10:00")).artcli("log", name, name)
    base = g.version_event("default", "corrupt", 0)
    data = g.manifest_bytes(base["manifest"])
    p = "projects/default/artifacts/"
    g.append(p + "corrupt/", {}, raw=b'{"type":"alias_set","alias":"best","vers')  # truncated
    g.append(p + "corrupt/", {"type": "alias_set", "alias": "after", "version": 0}, when=t("10:02"))
    # invalid: v1 lacks its manifest digest (skipped); v2 lacks `description` (optional: fine)
    key = created(g, "default", "invalid", 1, data, when=t("10:01"))
    g.edit_event(key, lambda ev: ev.pop("manifest"))
    key = created(g, "default", "invalid", 2, data, when=t("10:02"))
    g.edit_event(key, lambda ev: ev.pop("description"))
    g.append(p + "invalid/", {"type": "alias_set", "alias": "latest", "version": 2}, when=t("10:03"))
    g.append(p + "invalid/", {"type": "alias_set", "alias": "v1", "version": 2}, when=t("10:04"))
    g.append(p + "invalid/", {"type": "ttl_set", "version": 2, "expires": "soon"}, when=t("10:05"))
    g.append(p + "invalid/", {"type": "metadata_set", "version": "2", "entries": {"k": 1}}, when=t("10:06"))
    # seqmix: the event at key 1 says it is seq 5
    g.append(p + "seqmix/", {"type": "alias_set", "alias": "moved", "version": 0}, seq_field=5, when=t("10:01"))
    # seqgap: key 1 is missing
    g.append(p + "seqgap/", {"type": "alias_set", "alias": "after-gap", "version": 0}, seq=2, when=t("10:01"))
    # stray: a key that is not an event
    g.write(p + "stray/events/notes.txt", b"not an event\n")
    g.write(p + "stray/events/1.json", canonical.dumps({"type": "alias_set", "alias": "short-key", "version": 0}))
    # future: a type this revision does not know
    g.append(p + "future/", {"type": "checkpoint_hint", "upto": 0}, when=t("10:01"))
    # badnum: a version_created whose number is a string: nobody can tell which number it claims
    key = created(g, "default", "badnum", 1, data, when=t("10:01"))
    g.edit_event(key, lambda ev: ev.update(version="1"))
    # full: the last sequence number there is
    g.append(p + "full/", {"type": "alias_set", "alias": "last", "version": 0}, seq=999_999_999_999, when=t("10:01"))


def log_references(g: Gen) -> None:
    """§5.7: events naming versions that do not exist (yet), or that were deleted."""
    g.files("d", {"f.txt": b"refs v0\n"})
    g.files("e", {"f.txt": b"refs v1\n"})
    g.at(t("10:00")).artcli("log", "refs", "d")
    g.at(t("10:01")).artcli("log", "refs", "e")
    g.at(t("10:02")).artcli("delete", "refs:v0")
    log = "projects/default/artifacts/refs/"
    g.append(log, {"type": "alias_set", "alias": "ghost", "version": 7}, when=t("10:03"))
    g.append(log, {"type": "metadata_set", "version": 7, "entries": {"k": {"type": None, "value": 1}}}, when=t("10:04"))
    g.append(log, {"type": "alias_set", "alias": "zombie", "version": 0}, when=t("10:05"))
    g.append(log, {"type": "version_deleted", "version": 0, "reason": "deleted"}, when=t("10:06"))
    g.append(log, {"type": "version_reused", "version": 0, "aliases": ["back"], "metadata": {}}, when=t("10:07"))
    # v2 is created after an alias_set that named it: that alias_set stays skipped
    g.append(log, {"type": "alias_set", "alias": "early", "version": 2}, when=t("10:08"))
    g.files("f", {"f.txt": b"refs v2\n"})
    g.at(t("10:09")).artcli("log", "refs", "f")


def registry_rules(g: Gen) -> None:
    """§5.3: a collection under a registry that does not exist, links that disagree with their
    source, links to deleted versions, and collection numbering."""
    for i in range(4):
        g.files(f"d{i}", {"f.txt": f"linked {i}\n".encode()})
        g.at(t(f"10:0{i}")).artcli("log", "ds", f"d{i}", *(["--ttl", "1d"] if i == 0 else []))
    g.at(t("10:05")).artcli("registry", "create", "shelf", "-t", "dataset")
    g.at(t("10:06")).artcli("link", "ds:v1", "registry/shelf/good")
    g.at(t("10:07")).artcli("link", "ds:v2", "registry/shelf/dangling")
    g.at(t("10:08")).artcli("delete", "ds:v2", "--force")  # writes unlinked first: re-link by hand below
    v0 = g.version_event("default", "ds", 0)
    v1 = g.version_event("default", "ds", 1)
    v2 = g.version_event("default", "ds", 2)
    v3 = g.version_event("default", "ds", 3)

    def src(v: dict[str, Any], **over: Any) -> dict[str, Any]:
        return {"project": "default", "name": "ds", "version": v["version"], "digest": v["digest"],
                "manifest": v["manifest"], "artifact_type": "dataset", **over}

    # a link to the deleted v2, as a link racing a delete can leave it
    g.append("registries/shelf/collections/dangling/", {"type": "linked", "version": 1, "source": src(v2),
                                                        "aliases": []}, when=t("10:09"))
    # a registry nobody created: its collection links v0, whose TTL has passed
    g.append("registries/ghost/collections/orphan/", {"type": "linked", "version": 0, "source": src(v0),
                                                      "aliases": []}, when=t("10:10"))
    # links whose recorded digests are not their source's
    g.append("registries/shelf/collections/liar/", {"type": "linked", "version": 0,
                                                    "source": src(v3, digest=v1["digest"]), "aliases": []},
             when=t("10:11"))
    g.append("registries/shelf/collections/liar/", {"type": "linked", "version": 1,
                                                    "source": src(v3, manifest=v1["manifest"]), "aliases": []},
             when=t("10:12"))
    # collection numbering: a duplicate v0 and an alias on an unknown collection version
    g.append("registries/shelf/collections/good/", {"type": "linked", "version": 0, "source": src(v3),
                                                    "aliases": []}, when=t("10:13"))
    g.append("registries/shelf/collections/good/", {"type": "alias_set", "alias": "nowhere", "version": 4},
             when=t("10:14"))
    g.at(t("10:15")).artcli("link", "ds:v3", "registry/shelf/good", "--alias", "prod")


def pack_index_rules(g: Gen) -> None:
    """§4: an index whose member lines carry a field this revision does not know is still used
    for deduplication; an index of another version is not (its pack is as if it had none)."""
    g.files("d", {"a.txt": b"alpha\n", "b.txt": b"bravo\n"})
    g.files("e", {"c.txt": b"charlie\n"})
    g.at(t("10:00")).artcli("log", "ds", "d")
    g.at(t("10:01")).artcli("log", "other", "e")
    for name, change in (("ds", "member"), ("other", "header")):
        entry = json.loads(g.manifest_bytes(g.version_event("default", name, 0)["manifest"]).split(b"\n")[1])
        key = f"packs/blake3/{entry['pack'][:2]}/{entry['pack'][2:]}.idx"
        lines = [json.loads(x) for x in g.path(key).read_bytes().split(b"\n")[:-1]]
        if change == "member":
            lines[1:] = [{**m, "zone": 1} for m in lines[1:]]
        else:
            lines[0]["version"] = 2
        g.write(key, b"".join(canonical.dumps(x) + b"\n" for x in lines))


def location_file(g: Gen) -> None:
    """§3.2: location-only `file://` references expanded when downloaded (the folders are made
    by the harness from expected.json's `sources`, at these fixed paths)."""
    make_sources(json.loads((HERE / "location-file" / "expected.json").read_text())["sources"])
    make_sources({"loc/temporary/gone.txt": "here while logged\n"})
    g.at(t("10:00")).artcli("add-ref", "loc", (SOURCES / "loc" / "tree").as_uri(), "--no-checksum")
    g.at(t("10:01")).artcli("add-ref", "single", (SOURCES / "loc" / "one.txt").as_uri(), "--no-checksum")
    g.at(t("10:02")).artcli("add-ref", "badname", (SOURCES / "loc" / "bad").as_uri(), "--no-checksum")
    g.at(t("10:03")).artcli("add-ref", "emptydir", (SOURCES / "loc" / "nothing").as_uri(), "--no-checksum")
    g.at(t("10:04")).artcli("add-ref", "vanished", (SOURCES / "loc" / "temporary").as_uri(), "--no-checksum")
    shutil.rmtree(SOURCES / "loc" / "temporary")


def make_sources(spec: dict[str, Any]) -> None:
    """Create source files under ``SOURCES`` from a case's ``sources``: a string is a file's
    text, ``{"symlink": target}`` a symbolic link, ``{"fifo": true}`` a FIFO, ``{"dir": true}``
    an empty folder. Existing entries are replaced."""
    for rel, what in spec.items():
        p = SOURCES / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.is_symlink() or p.is_file() or (p.exists() and not p.is_dir()):
            p.unlink()
        if isinstance(what, str):
            p.write_bytes(what.encode())
        elif what.get("symlink") is not None:
            p.symlink_to(what["symlink"])
        elif what.get("fifo"):
            os.mkfifo(p)
        elif what.get("dir"):
            p.mkdir(exist_ok=True)


CASES: dict[str, Callable[[Gen], None]] = {
    "basic": basic,
    "packs": packs,
    "curation": curation,
    "latest-by-number": latest_by_number,
    "linked-expired": linked_expired,
    "expiry-at-now": expiry_at_now,
    "time-forms": time_forms,
    "empty-remote": empty,
    "marker-missing": markers("marker-missing", None),
    "marker-format-1": markers("marker-format-1", b'{"format":1,"hash":"blake3"}'),
    "marker-extra-field": markers("marker-extra-field", b'{"format":2,"hash":"blake3","id":"0f3a"}'),
    "marker-newer-format": markers("marker-newer-format", b'{"format":3,"hash":"blake3"}'),
    "marker-sha256": markers("marker-sha256", b'{"format":2,"hash":"sha256"}'),
    "marker-format-string": markers("marker-format-string", b'{"format":"two","hash":"blake3"}'),
    "marker-list": markers("marker-list", b"[2]"),
    "marker-null": markers("marker-null", b"null"),
    "marker-not-json": markers("marker-not-json", b'{"format":2,'),
    "marker-format-bool": markers("marker-format-bool", b'{"format":true,"hash":"blake3"}'),
    "manifest-rules": manifest_rules,
    "event-manifest": event_manifest,
    "log-numbers": log_numbers,
    "log-events": log_events,
    "log-references": log_references,
    "registry-rules": registry_rules,
    "pack-index-rules": pack_index_rules,
    "location-file": location_file,
}


def generate(names: list[str], out: Path) -> None:
    with work_lock(), pinned_environment(), one_command_tree():
        for name in names:
            g = Gen()
            CASES[name](g)
            g.save(out / name)
        if WORK.exists():
            shutil.rmtree(WORK)


def main(argv: list[str]) -> int:
    names = argv or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    generate(names, HERE)
    for n in names:
        print(f"{n}: {sum(1 for p in (HERE / n / 'remote').rglob('*') if p.is_file()) - 1} objects")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
