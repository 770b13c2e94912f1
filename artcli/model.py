"""Plain data: references, names, manifest entries, and the rules that make them safe."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from artcli.errors import IntegrityError, UsageError

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
VERSION_RE = re.compile(r"v(0|[1-9][0-9]{0,8})")
DIGEST_RE = re.compile(r"[0-9a-f]{64}")
#: ``name@<digest prefix>``: a version by its content digest, at least this many hex digits
DIGEST_PREFIX_MIN = 6
DIGEST_PREFIX_RE = re.compile(rf"[0-9a-f]{{{DIGEST_PREFIX_MIN},64}}")
REGISTRY_PROJECT = "registry"
MAX_ENTRY_SIZE = 1 << 50  # 1 PiB: anything larger in a manifest is hostile


def check_name(value: str, what: str = "name") -> str:
    """Validate an artifact/project/type/registry name."""
    if not NAME_RE.fullmatch(value or ""):
        raise UsageError(
            f"invalid {what} {value!r}: use letters, digits, '.', '_' or '-' "
            "(start with a letter or digit, at most 128 characters)"
        )
    return value


def check_alias(value: str) -> str:
    """A custom alias: a name that is neither ``latest`` nor ``v<digits>``."""
    check_name(value, "alias")
    if value == "latest":
        raise UsageError("'latest' is kept by artcli: it always names the most recently logged version")
    if re.fullmatch(r"v[0-9]+", value):
        raise UsageError(f"alias {value!r} looks like a version number; v<N> names are reserved")
    return value


@dataclass(frozen=True)
class Ref:
    """``[project/]name[:vN|:alias]`` or ``registry/<registry>/<collection>[:vN|:alias]``."""

    project: str
    name: str
    version: int | None = None
    alias: str | None = None
    registry: str | None = None  # set for registry collection references
    digest: str | None = None  # ``name@<prefix>``: the live version whose content digest starts so

    @property
    def tag(self) -> str:
        if self.digest is not None:
            return f"@{self.digest}"
        if self.version is not None:
            return f"v{self.version}"
        return self.alias or "latest"

    @property
    def tagged(self) -> bool:
        """Names one version (vN, an alias, a digest prefix), not just the artifact or collection."""
        return self.version is not None or self.alias is not None or self.digest is not None

    @property
    def qualified(self) -> str:
        """The artifact (or collection) without a tag."""
        if self.registry is not None:
            return f"{REGISTRY_PROJECT}/{self.registry}/{self.name}"
        return f"{self.project}/{self.name}"

    def __str__(self) -> str:
        if self.digest is not None:
            return f"{self.qualified}@{self.digest}"
        return f"{self.qualified}:{self.tag}"


def closest(word: str, candidates: Any, n: int = 3) -> list[str]:
    """The few names a mistyped ``word`` probably meant (for not-found hints): close spellings,
    then names it is a case-insensitive prefix of; never the whole list."""
    import difflib

    names = sorted({str(c) for c in candidates})
    found = difflib.get_close_matches(word, names, n=n, cutoff=0.6)
    low = word.lower()
    for name in names:
        if len(found) >= n:
            break
        if low and name.lower().startswith(low) and name not in found:
            found.append(name)
    return found


def did_you_mean(word: str, candidates: Any, otherwise: str | None = None) -> str | None:
    """``did you mean 'mnist'?`` when a close name exists, else ``otherwise``."""
    near = closest(word, candidates)
    return f"did you mean {' or '.join(repr(x) for x in near)}?" if near else otherwise


def parse_ref(text: str, default_project: str) -> Ref:
    """Parse a reference; missing tag means ``latest``; ``name@<hex>`` names a version by a prefix
    (at least DIGEST_PREFIX_MIN hex digits) of its content digest (docs/format.md §3.1)."""
    if not isinstance(text, str) or not text or text != text.strip():
        raise UsageError(f"invalid reference {text!r}")
    if "@" in text:
        body, _at, prefix = text.partition("@")
        prefix = prefix.lower()
        if ":" in body or not DIGEST_PREFIX_RE.fullmatch(prefix):
            raise UsageError(f"invalid reference {text!r}: after '@' give {DIGEST_PREFIX_MIN} to 64 hex digits "
                             "of a content digest (and no :tag)")
        plain = parse_ref(body, default_project)
        return Ref(plain.project, plain.name, registry=plain.registry, digest=prefix)
    body, sep, tag = text.partition(":")
    if sep and not tag:
        raise UsageError(f"invalid reference {text!r}: empty version or alias after ':'")
    version: int | None = None
    alias: str | None = None
    if sep:
        if VERSION_RE.fullmatch(tag):
            version = int(tag[1:])
        elif tag == "latest":
            alias = None  # the same as no tag
        else:
            try:
                alias = check_alias(tag)
            except UsageError as exc:
                raise UsageError(f"invalid reference {text!r}: {exc}") from None
    parts = body.split("/")
    try:
        if parts[0] == REGISTRY_PROJECT and len(parts) == 3:
            return Ref(REGISTRY_PROJECT, check_name(parts[2], "collection"), version, alias,
                       registry=check_name(parts[1], "registry"))
        if len(parts) == 1:
            return Ref(check_name(default_project, "project"), check_name(parts[0]), version, alias)
        if len(parts) == 2:
            if parts[0] == REGISTRY_PROJECT:
                raise UsageError("registry references look like registry/<registry>/<collection>")
            return Ref(check_name(parts[0], "project"), check_name(parts[1]), version, alias)
    except UsageError as exc:
        raise UsageError(f"invalid reference {text!r}: {exc}") from None
    raise UsageError(
        f"invalid reference {text!r}: expected [project/]name[:vN|:alias] "
        "or registry/<registry>/<collection>[:vN|:alias]"
    )


_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\\ud800-\udfff]")  # controls, backslash, lone surrogates
_BAD_PARTS = re.compile(r"(?:^|/)(?:\.{1,2})?(?:/|$)")  # empty, "." or ".." components


def safe_relpath(path: str) -> str:
    """Validate a manifest path: relative, POSIX, normalised, no '..', NUL, drive or control chars.

    Raises IntegrityError because an unsafe path can only come from a crafted manifest.
    Written with regexes: it runs once per file on every log and download.
    """
    if not isinstance(path, str) or not path:
        raise IntegrityError(f"unsafe path in manifest: {path!r}")
    if path[0] == "/" or _BAD_CHARS.search(path) or _DRIVE_RE.match(path) or _BAD_PARTS.search(path):
        raise IntegrityError(f"unsafe path in manifest: {path!r}")
    encoded = path.encode("utf-8", "surrogatepass")
    if len(encoded) > 4096 or (len(encoded) > 255 and any(len(p.encode("utf-8", "surrogatepass")) > 255
                                                          for p in path.split("/"))):
        raise IntegrityError(f"unsafe path in manifest: {path!r} (too long)")
    if path.count("/") > 254:
        raise IntegrityError(f"unsafe path in manifest: {path!r} (too deep)")
    return path


def normalise_relpath(path: str) -> str:
    """A path as it goes into a manifest: POSIX separators, NFC, validated."""
    return safe_relpath(unicodedata.normalize("NFC", path))


@dataclass(slots=True)
class Entry:
    """One file of a version.

    A stored file has ``digest`` (BLAKE3 hex) and, when packed, ``pack`` + ``offset``.
    A reference has ``ref``: the source URI and what pins it (etag, version_id, generation, ...).
    """

    path: str
    size: int
    digest: str | None = None
    pack: str | None = None
    offset: int | None = None
    ref: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "size": self.size}
        if self.digest is not None:
            out["digest"] = self.digest
        if self.pack is not None:
            out["pack"] = self.pack
            out["offset"] = self.offset
        if self.ref is not None:
            out["ref"] = self.ref
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Entry:
        """Load and validate one entry; anything malformed is an IntegrityError."""
        if not isinstance(obj, dict):
            raise IntegrityError("manifest entry is not an object")
        path = safe_relpath(obj.get("path"))  # type: ignore[arg-type]
        size = obj.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_ENTRY_SIZE:
            raise IntegrityError(f"manifest entry {path!r} has an invalid size {size!r}")
        digest = obj.get("digest")
        if digest is not None and (not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest)):
            raise IntegrityError(f"manifest entry {path!r} has an invalid digest")
        pack = obj.get("pack")
        offset = obj.get("offset")
        if pack is not None:
            if not isinstance(pack, str) or not DIGEST_RE.fullmatch(pack):
                raise IntegrityError(f"manifest entry {path!r} has an invalid pack")
            if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_ENTRY_SIZE:
                raise IntegrityError(f"manifest entry {path!r} has an invalid pack offset")
            if digest is None:
                raise IntegrityError(f"manifest entry {path!r} is packed but has no digest")
        elif offset is not None:
            raise IntegrityError(f"manifest entry {path!r} has an offset but no pack")
        ref = obj.get("ref")
        if ref is not None and (not isinstance(ref, dict) or not isinstance(ref.get("uri"), str)):
            raise IntegrityError(f"manifest entry {path!r} has an invalid reference")
        if digest is None and ref is None:
            raise IntegrityError(f"manifest entry {path!r} has neither a digest nor a reference")
        return cls(path, size, digest, pack, offset if pack is not None else None, ref)


@dataclass
class Manifest:
    """A version's entries, sorted by path, with no duplicates."""

    entries: list[Entry] = field(default_factory=list)
    #: the content digest (docs/format.md §3.1), set when the manifest was read from its bytes
    content_digest: str | None = None

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    @property
    def count(self) -> int:
        return len(self.entries)
