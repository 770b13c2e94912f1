"""The one shape of what ops return: a result object whose ``warnings`` are lines for people.

Ops never print or log. What a person should know that is not an error (a skipped event, a
location-only reference, a use not recorded, a setting kept) goes into ``warnings``; the face
prints each as ``warning: ...`` on stderr. Whether the warnings are also part of a command's
JSON is the command's schema's business (``to_json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    warnings: list[str] = field(default_factory=list, kw_only=True)


@dataclass
class Report(Result):
    """A read op's JSON-shaped answer plus its warnings (``show``, ``metadata ls``, ``registry show``)."""

    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data


@dataclass
class Previewable(Result):
    """A result of an op that can dry-run (``artcli.repo.dry_runnable``): ``would_write`` is
    set in a dry run, to the events it would have written ({log, event})."""

    would_write: list[dict[str, Any]] | None = field(default=None, kw_only=True)

    def with_preview(self, out: dict[str, Any]) -> dict[str, Any]:
        """``out`` (a ``to_json``) plus ``dry_run`` and ``would_write`` in a dry run."""
        if self.would_write is not None:
            out.update(dry_run=True, would_write=self.would_write)
        return out
# -- typed read results: what ``ls``/``show``/``files``/``metadata get``/``ttl show`` return --------
# Each is the object the command's ``--json`` prints (``to_json``), so docs/schemas/ describe both
# the command line and the Python API (docs/python.md).
@dataclass
class ArtifactSummary(Result):
    """One artifact of a project (``ls`` without a name)."""

    project: str
    name: str
    type: str | None
    versions: int
    latest: int | None
    updated: str | None
    size: int | None = None  # bytes of the latest live version; None when none is live

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "name": self.name, "type": self.type, "versions": self.versions,
                "latest": None if self.latest is None else f"v{self.latest}", "updated": self.updated,
                "size": self.size}


@dataclass
class VersionInfo(Result):
    """One version (``show``, and a row of ``ls NAME``)."""

    project: str
    name: str
    type: str | None
    version: int
    digest: str
    manifest: str
    size: int
    files: int
    created: str
    aliases: list[str]
    description: str | None
    run: str | None
    expires: str | None
    metadata: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.project}/{self.name}:v{self.version}"

    @classmethod
    def from_json(cls, d: dict[str, Any], warnings: list[str] | None = None) -> VersionInfo:
        return cls(d["project"], d["name"], d["type"], int(str(d["version"]).lstrip("v")), d["digest"],
                   d["manifest"], d["size"], d["files"], d["created"], list(d["aliases"]), d["description"],
                   d["run"], d["expires"], dict(d["metadata"]), warnings=list(warnings or []))

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "name": self.name, "type": self.type, "version": f"v{self.version}",
                "ref": self.ref, "digest": self.digest, "manifest": self.manifest, "size": self.size,
                "files": self.files, "created": self.created, "aliases": list(self.aliases),
                "description": self.description, "run": self.run, "expires": self.expires,
                "metadata": dict(self.metadata)}


@dataclass
class VersionDetail(VersionInfo):
    """One version as ``show`` gives it: a :class:`VersionInfo` plus what it holds and where it
    came from — its components (``log --component``), the version it was copied from
    (``origin``) and versions on other remotes it was made from (``remote_inputs``)."""

    components: list[dict[str, Any]] = field(default_factory=list)  # {"path", "ref", "digest"}
    origin: dict[str, Any] | None = None
    remote_inputs: list[dict[str, Any]] = field(default_factory=list)

    def detail(self, vs: Any) -> VersionDetail:
        """Fill the extra fields from the folded version state."""
        self.components = [{"path": c["path"], "ref": f"{c['project']}/{c['name']}:v{c['version']}",
                            "digest": c["digest"]} for c in vs.components]
        self.origin = dict(vs.origin) if vs.origin else None
        self.remote_inputs = [dict(r) for r in vs.remote_inputs]
        return self

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "components": [dict(c) for c in self.components],
                "origin": None if self.origin is None else dict(self.origin),
                "remote_inputs": [dict(r) for r in self.remote_inputs]}


@dataclass
class FileInfo(Result):
    """One file of a version (``files``): where its bytes live. ``range`` is set for a file
    stored in a pack, ``ref`` (the recorded source and its pins) for a reference."""

    path: str
    size: int
    digest: str | None
    url: str | None
    range: list[int] | None = None
    ref: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "size": self.size, "digest": self.digest, "url": self.url}
        if self.ref is not None:
            out["ref"] = self.ref
        if self.range is not None:
            out["range"] = list(self.range)
        return out


@dataclass
class MetadataValue(Result):
    """The latest value of one metadata key, or a whole card (``metadata get``)."""

    ref: str
    key: str
    card: str | None
    name: str | None
    value: Any
    type: str | None
    display: str
    time: str | None
    run: str | None
    seq: int | None

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "key": self.key, "card": self.card, "name": self.name, "value": self.value,
                "type": self.type, "display": self.display, "time": self.time, "run": self.run, "seq": self.seq}


@dataclass
class TtlInfo(Result):
    """When a version expires, the time left, the links that keep it, the project default (``ttl show``)."""

    ref: str
    expires: str | None
    remaining_seconds: int | None
    remaining: str | None
    linked: list[str]
    project_default: str | None

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "expires": self.expires, "remaining_seconds": self.remaining_seconds,
                "remaining": self.remaining, "linked": list(self.linked), "project_default": self.project_default}


def _vtag(n: int | None) -> str | None:
    return None if n is None else f"v{n}"


@dataclass
class AliasInfo(Result):
    """One alias of an artifact or collection (``alias ls``); ``source`` is the artifact version
    a collection version links."""

    alias: str
    version: int
    ref: str
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alias": self.alias, "version": f"v{self.version}", "ref": self.ref}
        if self.source is not None:
            out["source"] = self.source
        return out


@dataclass
class AliasMove(Result):
    """One move of an alias, oldest first (``history``, ``alias ls --history``): from and to
    version numbers (None: it did not name one before / it was removed)."""

    alias: str
    from_version: int | None
    to_version: int | None
    time: str | None
    seq: int | None
    user: str | None
    host: str | None
    run: str | None

    def to_json(self) -> dict[str, Any]:
        return {"alias": self.alias, "from": _vtag(self.from_version), "to": _vtag(self.to_version),
                "time": self.time, "seq": self.seq, "user": self.user, "host": self.host, "run": self.run}


@dataclass
class RegistryInfo(Result):
    """One registry and its number of collections (``registry ls``)."""

    name: str
    ref: str
    accept_types: list[str] | None
    description: str | None
    core: bool
    created: str | None
    collections: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ref": self.ref, "accept_types": self.accept_types,
                "description": self.description, "core": self.core, "created": self.created,
                "collections": self.collections}


@dataclass
class LogResult(Result):
    project: str
    name: str
    version: int
    digest: str
    created: bool
    files: int
    size: int
    type: str | None
    aliases: list[str] = field(default_factory=list)
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    #: nothing was written: ``created``/``version``/``uploaded_*`` say what a real run would do
    dry_run: bool = False
    #: ``--from``: the version this one was made from, and how many of its files were removed
    base: str | None = None
    removed: int = 0
    #: files the ignore rules (defaults, .artcliignore) left out of the folders
    ignored: int = 0

    @property
    def ref(self) -> str:
        return f"{self.project}/{self.name}:v{self.version}"

    def to_json(self) -> dict[str, Any]:
        out = {"ref": self.ref, "project": self.project, "name": self.name, "version": f"v{self.version}",
               "digest": self.digest, "created": self.created, "files": self.files, "size": self.size,
               "type": self.type, "aliases": self.aliases, "uploaded_files": self.uploaded_files,
               "uploaded_bytes": self.uploaded_bytes}
        if self.dry_run:
            out["dry_run"] = True
        if self.base is not None:
            out.update(base=self.base, removed=self.removed)
        if self.ignored:
            out["ignored"] = self.ignored
        return out


@dataclass
class AddRefResult(Result):
    """What ``add-ref`` / ``log --ref`` did: the log result plus how many entries are references."""

    log: LogResult
    references: int

    @property
    def ref(self) -> str:
        return self.log.ref

    def to_json(self) -> dict[str, Any]:
        out = self.log.to_json()
        out["references"] = self.references
        return out
