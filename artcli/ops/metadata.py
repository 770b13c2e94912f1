"""``metadata set/get/ls`` and ``ls --where/--sort``: typed, grouped, versioned metadata.

Metadata is history, not state that gets overwritten: every ``set`` appends one
``metadata_set`` event (exclusive create, so concurrent writers never lose an entry) and
the fold keeps, per version, the latest entry of each key plus every entry ever written
with its time and run. Keys are flat; the part before the first dot names the card the key
is shown on (see artcli/mdvalues.py for values and types).
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from artcli import canonical, mdvalues
from artcli.errors import NotFoundError, UsageError
from artcli.model import Ref, check_name, parse_ref
from artcli.repo import Repo
from artcli.results import MetadataValue, Report, Result, VersionInfo
from artcli.state.artifact import ArtifactState, VersionState, version_summary
from artcli.state.metadata import latest_rows, metadata_row


@dataclass
class SetResult(Result):
    ref: str
    entries: dict[str, mdvalues.Entry]
    seq: int
    time: str
    run: str | None
    inferred: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "entries": self.entries, "seq": self.seq, "time": self.time,
                "run": self.run, "inferred": self.inferred}


# -- writing -----------------------------------------------------------------------------------
def set_metadata(repo: Repo, ref: Ref | None, entries: dict[str, mdvalues.Entry], *,
                 infer: bool = False, artifact: str | None = None) -> SetResult:
    """Append one ``metadata_set`` event with ``entries`` to the version ``ref`` names, or,
    with ``infer``, to the version the current run logged."""
    if not entries:
        raise UsageError("nothing to set", hint="give KEY=VALUE arguments or --file F.json")
    if infer:
        project, name, version = infer_target(repo, artifact)
    else:
        if ref is None:
            raise UsageError("name the version to annotate, or use --infer")
        st, vs = repo.resolve(ref)
        project, name, version = st.project, st.name, vs.version
    repo.check_format(for_write=True)
    where = f"{project}/{name}:v{version}"

    def build(cur: ArtifactState) -> dict[str, Any] | None:
        vs = cur.versions.get(version)
        if vs is None or not cur.is_live(vs):  # deleted or expired since we resolved it
            raise NotFoundError(f"{where} is no longer live; metadata not set")
        return {"type": "metadata_set", "version": version, "entries": entries}

    # the cached summary fold plus the new events: not every event parsed and folded again
    # (on a 100,000-event artifact that was 5 s of CPU and 480 MiB per metadata set)
    ev = repo.artifact_log(project, name).append_folded(repo.artifact_fold(project, name, history=False), build)
    assert ev is not None
    return SetResult(where, entries, ev["seq"], ev["time"], ev["actor"]["run"], infer)


def infer_target(repo: Repo, artifact: str | None = None) -> tuple[str, str, int]:
    """The one live version the current run logged (created or re-logged), like ZenML's
    ``infer_artifact``; ``artifact`` picks one when the run logged several."""
    run_id = repo.run_id
    if not run_id:
        raise UsageError("--infer needs a run id to find what the run logged",
                         hint="pass --run ID, set ARTCLI_RUN_ID, or run inside CI")
    only: tuple[str, str] | None = None
    if artifact is not None:
        aref = parse_ref(artifact, repo.project)
        if aref.registry is not None or aref.tagged:
            raise UsageError(f"--artifact takes [project/]name, not {artifact!r}",
                             hint="to name a version, give it as REF instead of --infer")
        only = (aref.project, aref.name)
    found = versions_logged_by(repo, run_id, only)
    if not found:
        scope = f"artifact {only[0]}/{only[1]}" if only else f"project {repo.project}"
        raise NotFoundError(f"run {run_id!r} logged no live version in {scope}",
                            hint="log first (same --run / ARTCLI_RUN_ID), or name the version: "
                                 "artcli metadata set NAME:vN KEY=VALUE")
    if len(found) > 1:
        refs = ", ".join(f"{p}/{n}:v{v}" for p, n, v in found)
        hint = ("name the version instead of --infer" if artifact or len({(p, n) for p, n, _ in found}) == 1
                else "pick one with --artifact NAME, or name the version instead of --infer")
        raise UsageError(f"run {run_id!r} logged {len(found)} versions ({refs}); --infer needs exactly one",
                         hint=hint)
    return found[0]


def versions_logged_by(repo: Repo, run_id: str, only: tuple[str, str] | None = None) -> list[tuple[str, str, int]]:
    """Live versions the run logged (created, or re-logged so that latest moved to them).

    The run's own log (``runs/<id>/events``, ``output`` records) answers with one LIST; a
    run without output records (logged by an older artcli) falls back to reading the logs of
    ``only``, or of every artifact of the current project.
    """
    outputs = [r.key for r in repo.run_state(run_id, must_exist=False).outputs]
    if outputs:
        out = []
        for project, name, n in outputs:
            if only in (None, (project, name)) and (project, name, n) not in out:
                st = repo.artifact_state(project, name, must_exist=False)
                vs = st.versions.get(n)
                if vs is not None and st.is_live(vs):
                    out.append((project, name, n))
        return out
    names = [only] if only else [(repo.project, n) for n in repo.artifact_names(repo.project)]
    return _scan_logged_by(repo, run_id, names)


def _scan_logged_by(repo: Repo, run_id: str, artifacts: list[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """Live versions the run created or re-logged, in log order."""
    out: list[tuple[str, str, int]] = []
    for project, name in artifacts:
        st = repo.artifact_state(project, name, must_exist=False)
        firsts = [(seq, vs.version) for vs in st.live_versions() if (seq := vs.logged_by(run_id)) is not None]
        out.extend((project, name, n) for _, n in sorted(firsts))
    return out


# -- reading -----------------------------------------------------------------------------------
def list_metadata(repo: Repo, ref: Ref, history: bool = False) -> Report:
    """``{"ref", "entries": [...]}``: latest per key, or with ``history`` every entry oldest first."""
    st, vs = repo.resolve(ref)
    rows = [metadata_row(item["key"], item) for item in vs.metadata_history] if history else latest_rows(vs)
    return Report({"ref": f"{st.project}/{st.name}:v{vs.version}", "entries": rows}, warnings=list(st.warnings))


def get_metadata(repo: Repo, ref: Ref, key: str) -> MetadataValue:
    """The latest entry of ``key``; a card name gives the card as an object of name -> value."""
    st, vs = repo.resolve(ref)
    where = f"{st.project}/{st.name}:v{vs.version}"
    rows = latest_rows(vs)
    for r in rows:
        if r["key"] == key:
            return MetadataValue(where, r["key"], r["card"], r["name"], r["value"], r["type"], r["display"],
                                 r["time"], r["run"], r["seq"])
    card = [r for r in rows if r["card"] == key]
    if card:
        value = {r["name"]: r["value"] for r in card}
        return MetadataValue(where, key, key, None, value, "card", mdvalues.raw(value),
                             max(r["time"] or "" for r in card) or None, None, max(r["seq"] or 0 for r in card))
    keys = [r["key"] for r in rows]
    close = difflib.get_close_matches(key, keys, n=3)
    hint = (f"did you mean: {', '.join(close)}?" if close else
            f"keys: {', '.join(keys[:20])}" if keys else "set one: artcli metadata set REF KEY=VALUE")
    raise NotFoundError(f"{where} has no metadata key {key!r}", hint=hint)


# -- filtering and sorting versions ------------------------------------------------------------
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "=": operator.eq, "!=": operator.ne,
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
}


@dataclass(frozen=True)
class Condition:
    key: str
    op: str
    rhs: str

    @classmethod
    def parse(cls, text: str) -> Condition:
        """``"model_metrics.accuracy>=0.9"`` -> key, operator, right-hand text."""
        i = next((i for i, c in enumerate(text) if c in "<>=!"), None)
        op = next((o for o in _OPS if i is not None and text.startswith(o, i)), None)
        if i is None or op is None or not text[:i].strip():
            raise UsageError(f"invalid --where {text!r}: expected KEY OP VALUE, OP one of = != < <= > >=",
                             hint="for example: --where 'model_metrics.accuracy>=0.9'")
        return cls(text[:i].strip(), op, text[i + len(op):].strip())

    def matches(self, entry: dict[str, Any] | None) -> bool:
        """The right-hand side picks the comparison: a number compares with numbers (a size
        also accepts units), text with text (quote it, "1.0", to compare digits as text).
        A value of the other kind matches only ``!=``; a version without the key never matches."""
        if entry is None:
            return False
        value, type_name, cmp = entry.get("value"), entry.get("type"), _OPS[self.op]
        other: Any
        if _is_number(value):
            other = _number_rhs(self.rhs, type_name)
        elif isinstance(value, str):
            other = _text_rhs(self.rhs, type_name)
        elif self.op in ("=", "==", "!="):  # booleans, null, lists, objects: type-exact equality only
            same = canonical.dumps(value) == canonical.dumps(mdvalues.parse_value(self.rhs))
            return same == (self.op != "!=")
        else:
            return False
        return self.op == "!=" if other is None else cmp(value, other)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _number_rhs(rhs: str, type_name: str | None) -> int | float | None:
    if type_name == "size":
        try:
            return mdvalues.parse_size(rhs)
        except UsageError:
            return None
    value = mdvalues.parse_value(rhs)
    return value if _is_number(value) else None


def _text_rhs(rhs: str, type_name: str | None) -> str | None:
    value = mdvalues.parse_value(rhs)  # 'tag=alpha' and 'tag="alpha"' are the same text
    if not isinstance(value, str):
        return None
    if type_name == "dtype":
        try:
            return mdvalues.check_dtype(value)
        except UsageError:
            return value
    return value


def _sort_value(entry: dict[str, Any]) -> tuple[int, Any]:
    value = entry.get("value")
    if _is_number(value):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, mdvalues.raw(value))


def filter_versions(st: ArtifactState, where: list[str], sort: str | None) -> list[VersionState]:
    """Live versions whose metadata satisfies every condition, optionally sorted by a key.

    ``sort`` is a key (ascending) or ``-key`` (descending); versions without the key come last.
    """
    return [vs for _st, vs in _filter([(st, vs) for vs in st.live_versions()], where, sort)]


def _sort_key(sort: str) -> tuple[str, bool]:
    desc = sort.startswith("-")
    key = sort[1:] if desc else sort
    if not key:
        raise UsageError("--sort needs a metadata key, e.g. --sort -model_metrics.accuracy")
    return key, desc


def _filter(items: list[tuple[ArtifactState, VersionState]], where: list[str],
            sort: str | None) -> list[tuple[ArtifactState, VersionState]]:
    conds = [Condition.parse(w) for w in where]
    keep = [(st, vs) for st, vs in items if all(c.matches(vs.metadata.get(c.key)) for c in conds)]
    if not sort:
        return keep
    key, desc = _sort_key(sort)
    have = [x for x in keep if key in x[1].metadata]
    have.sort(key=lambda x: _sort_value(x[1].metadata[key]), reverse=desc)
    return have + [x for x in keep if key not in x[1].metadata]


@dataclass
class Selection(Result):
    """``ls [NAME] --where/--sort/--type``: version summaries, filtered and sorted."""

    rows: list[VersionInfo]

    def to_json(self) -> list[dict[str, Any]]:
        return [v.to_json() for v in self.rows]


def select(repo: Repo, name: str | None, where: list[str] | None, sort: str | None,
           artifact_type: str | None = None) -> Selection:
    """The live versions of one artifact (``name``) or of every artifact of the project (of
    ``artifact_type``, when given) whose metadata matches ``where``, sorted by ``sort``.

    A ``--where``/``--sort`` key that no live version of these artifacts has is almost always a
    typo: it is reported in the warnings, with the keys that look like it, rather than left to
    look like an empty result.
    """
    conds = [Condition.parse(w) for w in where or []]
    if sort:
        _sort_key(sort)
    if name is not None:
        check_name(name)
        states = [repo.artifact_state(repo.project, name, history=False)]
    else:
        states = [st for n in repo.artifact_names(repo.project)
                  if (st := repo.artifact_state(repo.project, n, must_exist=False, history=False, follow=False)).versions
                  and st.renamed_to is None
                  and (artifact_type is None or st.type == artifact_type)]
    items = [(st, vs) for st in states for vs in st.live_versions()]
    warnings = [w for st in states for w in st.warnings]
    known = sorted({k for _st, vs in items for k in vs.metadata})
    asked = [c.key for c in conds] + ([_sort_key(sort)[0]] if sort else [])
    for key in dict.fromkeys(asked):
        if items and key not in known:
            close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
            where_ = f"{repo.project}/{name}" if name else f"the artifacts of {repo.project}"
            warnings.append(f"no live version of {where_} has the metadata key {key!r}"
                            + (f"; did you mean {', '.join(repr(c) for c in close)}?" if close else
                               f"; keys: {', '.join(known[:10]) or 'none'}"))
    rows = [VersionInfo.from_json(version_summary(st, vs)) for st, vs in _filter(items, where or [], sort)]
    return Selection(rows, warnings=warnings)


def select_versions(repo: Repo, name: str | None, where: list[str] | None, sort: str | None) -> list[VersionInfo]:
    """``ls [NAME] --where ... --sort ...``: the versions ``ls`` prints, filtered (no NAME: across
    every artifact of the project)."""
    return select(repo, name, where, sort).rows
