"""``rename``: give an artifact a new name, keeping every version, alias and its whole history.

The new name's log starts as a copy of the old log, event for event (the same bytes at the same
sequence numbers: who logged what and when stays true), so the versions keep their numbers and
digests. Then the old log gets an ``artifact_renamed`` event (only once it holds nothing the
copy lacks) and the new log one naming where it came from (docs/format.md §5.1, "Renames").

What keeps working through the old name: references (``old:v3``, ``old:production``) resolve to
the same version under the new name, with a warning; lineage recorded before the rename (run
records name the old name) follows it the same way. What is moved: the aliases (they are in the
copied events). What is refused: a rename while a live registry link names the artifact — a
link pins ``project/name:vN``, so unlink it, rename, and link the new name. Writing to the old
name afterwards (log, alias, ...) is refused or goes to the new name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from artcli import canonical
from artcli.errors import ConflictError, IntegrityError, UsageError
from artcli.eventlog import Events
from artcli.links import links_by_version
from artcli.model import Ref, check_name
from artcli.repo import Repo
from artcli.results import Result

MAX_ROUNDS = 50  # rounds of "copy what is new, then try to close the old log" under concurrent writers


@dataclass
class RenameResult(Result):
    old: str
    new: str
    copied_events: int
    renamed: bool  # False: it was already renamed to that name (a re-run finished nothing new)

    def to_json(self) -> dict[str, Any]:
        return {"from": self.old, "to": self.new, "copied_events": self.copied_events, "renamed": self.renamed}


def rename_artifact(repo: Repo, ref: Ref, new_name: str) -> RenameResult:
    """Rename the artifact ``ref`` names (untagged) to ``new_name`` in the same project."""
    if ref.registry is not None or ref.tagged:
        raise UsageError(f"rename takes an artifact, not a version or a registry reference: {ref}")
    check_name(new_name)
    project, name = ref.project, ref.name
    old, new = f"{project}/{name}", f"{project}/{new_name}"
    if new_name == name:
        raise UsageError(f"{old} already has that name")
    old_log, new_log = repo.artifact_log(project, name), repo.artifact_log(project, new_name)
    st = repo.artifact_state(project, name, follow=False)  # exists (raises otherwise)
    if st.renamed_to is not None and st.renamed_to != new:
        raise ConflictError(f"{old} was renamed to {st.renamed_to} already")
    linked = sorted(t for (p, n, _v), refs in links_by_version(repo).items() if (p, n) == (project, name) for t in refs)
    if linked and st.renamed_to is None:
        raise ConflictError(f"{old} is linked from {', '.join(linked)}; not renamed",
                            hint="links pin project/name:vN: unlink, rename, then link the new name")
    repo.check_format(for_write=True)
    target = repo.artifact_state(project, new_name, must_exist=False, follow=False)
    if target.versions and target.renamed_from != [old] and not _is_copy_of(repo, old_log.read(), new_log.read()):
        raise ConflictError(f"{new} already exists; not renamed", hint="choose another name or delete it first")
    copied = 0
    done = st.renamed_to == new
    for _ in range(MAX_ROUNDS):
        if done:
            break
        events = old_log.read()
        copied += _copy_events(repo, events, old_log.prefix, new_log.prefix)
        seen = len(events)

        def close(now: Events, seen: int = seen) -> dict[str, Any] | None:
            cur = repo.fold_artifact(project, name, now)
            if cur.renamed_to is not None:
                raise ConflictError(f"{old} was renamed to {cur.renamed_to} meanwhile")
            if len(now) != seen:  # a writer added an event since the copy: copy it first
                raise _Again()
            return {"type": "artifact_renamed", "from": old, "to": new}

        try:
            old_log.append(close)
            done = True
        except _Again:
            continue
    if not done:
        raise ConflictError(f"{old} kept changing while renaming; run it again")

    def mark(now: Events) -> dict[str, Any] | None:
        if old in repo.fold_artifact(project, new_name, now).renamed_from:
            return None
        return {"type": "artifact_renamed", "from": old, "to": new}

    copied += _copy_events(repo, old_log.read(), old_log.prefix, new_log.prefix, upto_rename=True)
    wrote = new_log.append(mark) is not None
    return RenameResult(old, new, copied, wrote or st.renamed_to is None, warnings=list(st.warnings))


class _Again(Exception):
    """The old log grew while it was being copied."""


def _copy_events(repo: Repo, events: Events, src_prefix: str, dst_prefix: str, *, upto_rename: bool = False) -> int:
    """Each event of the old log at the same sequence number in the new one (already there with
    the same bytes: a re-run); returns how many were written. The old log's own
    ``artifact_renamed`` is not copied."""
    written = 0
    for key, ev in events:
        if ev is None:
            raise IntegrityError(f"{key} is not a readable event: a rename would copy what nobody can read",
                                 hint="restore or remove it first (artcli debug fsck lists it)")
        if upto_rename and ev.get("type") == "artifact_renamed":
            break
        data = canonical.dumps(ev)
        new_key = dst_prefix + key[len(src_prefix):]
        there = repo.store.exists(new_key)  # (put_if_absent is also true for the same bytes: a retry)
        if not there and repo.store.put_if_absent(new_key, data):
            written += 1
        elif repo.store.get(new_key) != data:
            raise ConflictError(f"{new_key} exists with other content: another writer used the new name")
    return written


def _is_copy_of(repo: Repo, old: Events, new: Events) -> bool:
    """The new log is a prefix-copy of the old one (an interrupted rename being resumed)."""
    if not new or len(new) > len(old):
        return False
    return all(canonical.dumps(a) == canonical.dumps(b) for (_k, a), (_k2, b) in zip(old, new, strict=False))

