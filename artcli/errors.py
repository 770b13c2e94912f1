"""One exception hierarchy; each class carries the exit code the CLI returns for it."""

from __future__ import annotations


class ArtcliError(Exception):
    """Base of every error artcli reports to a user; the message is one line."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(ArtcliError):
    """Bad arguments: an unparsable reference, duration, option or path."""

    exit_code = 2


class NotFoundError(ArtcliError):
    """A reference, alias, version, file or object that does not exist."""

    exit_code = 3


class IntegrityError(ArtcliError):
    """Bytes that do not match their digest, a changed reference source, a corrupt object.

    ``kind`` names a format rule that was broken (a consistency finding of docs/format.md §8,
    e.g. ``manifest-not-canonical``) when the raiser knows it."""

    exit_code = 4

    def __init__(self, message: str, *, hint: str | None = None, kind: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind


class ConflictError(ArtcliError):
    """A rule about shared state was broken (alias rules, registry types) or a race was not resolved."""

    exit_code = 5


class RemoteError(ArtcliError):
    """The remote cannot be reached, refuses access, or cannot do what artcli needs."""

    exit_code = 6


class UnsafeRemoteError(RemoteError):
    """The backend cannot create objects exclusively, so concurrent writers would be unsafe."""

