"""Turn backend exceptions (OS, botocore, aiohttp, gcsfs, google-auth, Azure SDK) into :mod:`artcli.errors`.

Cloud libraries are never imported here: exceptions are recognised by the names of the classes
in their MRO, so this module costs nothing at start-up and works whichever backends are installed.
Messages are one line and never carry credentials, signed-URL query strings or URL user-info
(:func:`artcli.redact.one_line`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from artcli.errors import (
    DISK_FULL_ERRNOS,
    ArtcliError,
    ConflictError,
    DiskFullError,
    NotFoundError,
    RemoteError,
    disk_full,
)
from artcli.redact import one_line

__all__ = ["Failure", "downloading_into", "has_code", "to_artcli_error", "translate"]


class Failure:
    """An exception a batch's worker caught, kept in that call's result slot: the batch ends
    (starting nothing more), then raises the first one in call order, translated and naming its
    key (``FsspecStore.guard``), whichever worker failed first."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


# Errors that mean a bug in our code, not a remote problem: let them surface with a traceback.
_PROGRAMMING = (TypeError, AttributeError, NameError, AssertionError, NotImplementedError, RecursionError)

_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound", "NoSuchVersion", "BlobNotFound", "ResourceNotFound"}
#: a missing bucket / container hides behind a "not found" for the object: reported as such
_NO_BUCKET_CODES = {"NoSuchBucket", "ContainerNotFound"}
_DENIED_CODES = {
    "AccessDenied",
    "403",
    "401",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AccountProblem",
    "InvalidSecurity",
    "Forbidden",
    "Unauthorized",
    # Azure
    "AuthenticationFailed",
    "AuthorizationFailure",
    "AuthorizationPermissionMismatch",
    "AuthorizationSourceIPMismatch",
    "AuthorizationProtocolMismatch",
    "AuthorizationResourceTypeMismatch",
    "AuthorizationServiceMismatch",
    "InsufficientAccountPermissions",
    "NoAuthenticationInformation",
    "PublicAccessNotPermitted",
}
_NO_CREDENTIALS = {
    "NoCredentialsError",
    "PartialCredentialsError",
    "CredentialRetrievalError",
    "DefaultCredentialsError",
    "RefreshError",
    "ProfileNotFound",
    "TransportError",
    # azure-identity
    "CredentialUnavailableError",
}
_UNREACHABLE = {
    # botocore
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "ProxyConnectionError",
    "SSLError",
    "HTTPClientError",
    # aiohttp
    "ClientConnectorError",
    "ClientConnectionError",
    "ServerDisconnectedError",
    "ServerTimeoutError",
    "ClientOSError",
    "ClientConnectorDNSError",
    "ConnectionTimeoutError",
    "SocketTimeoutError",
    # fsspec / asyncio / builtins / requests
    "FSTimeoutError",
    "TimeoutError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "ConnectionAbortedError",
    "BrokenPipeError",
    "gaierror",
    "ConnectTimeout",
    "ReadTimeout",
    "ProxyError",
    # azure-core
    "ServiceRequestError",
    "ServiceResponseError",
    "ServiceRequestTimeoutError",
    "ServiceResponseTimeoutError",
    "IncompleteReadError",
}
_REMOTE_GENERIC = {
    "ClientError",
    "BotoCoreError",
    "HttpError",
    "ClientResponseError",
    "GoogleAuthError",
    "AzureError",
}

def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then its causes/contexts (s3fs keeps the botocore error as ``__cause__``)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen and len(seen) < 12:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ if cur.__cause__ is not None else cur.__context__


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _codes(exc: BaseException) -> set[str]:
    """S3 error codes / HTTP statuses carried by botocore, aiohttp and gcsfs exceptions."""
    out: set[str] = set()
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error") or {}
        if err.get("Code"):
            out.add(str(err["Code"]))
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if status:
            out.add(str(status))
    for attr in ("code", "status", "status_code", "error_code"):  # aiohttp, gcsfs, Azure SDK
        value = getattr(exc, attr, None)
        if isinstance(value, int | str) and not isinstance(value, bool) and value:
            out.add(str(value))
    return out


def has_code(exc: BaseException, *codes: str) -> bool:
    """True when ``exc`` or an exception it came from carries one of these error codes/statuses."""
    wanted = set(codes)
    return any(wanted & _codes(e) for e in _chain(exc))


def _reason(exc: BaseException) -> str:
    # OSError(errno, strerror, filename): keep the strerror, the filename is ours to name
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    text = text.strip()
    return one_line(text.splitlines()[0] if text else type(exc).__name__, limit=200)


def _bucket_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"):
        return None
    return parts.netloc.rsplit("@", 1)[-1] or None


def _local_path(where: str) -> str:
    """The file-system path of a ``file://`` URL (a local-folder remote's object)."""
    if not where.startswith("file://"):
        return where
    from urllib.parse import unquote

    return unquote(urlsplit(where).path) or where


def _classify(exc: BaseException, where: str) -> ArtcliError | None:
    names, codes = _names(exc), _codes(exc)
    reason = _reason(exc)
    # azure-identity raises ClientAuthenticationError with no HTTP status when no credential in
    # DefaultAzureCredential's chain works; the service's own 401/403 carry a status
    no_azure_token = "ClientAuthenticationError" in names and not codes & _DENIED_CODES
    if names & _NO_CREDENTIALS or no_azure_token:
        return RemoteError(
            f"no usable credentials for {where}: {reason}",
            hint="configure credentials for this remote (environment, profile) or set the 'anon' option",
        )
    if isinstance(exc, PermissionError) or codes & _DENIED_CODES or reason.startswith("Forbidden"):
        return RemoteError(f"access denied to {where}: {reason}")
    if names & _UNREACHABLE:
        return RemoteError(f"cannot reach {where}: {reason}")
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError) or codes & _NOT_FOUND_CODES:
        return NotFoundError(f"not found: {where}")
    if isinstance(exc, FileExistsError) or codes & {"PreconditionFailed", "412", "BlobAlreadyExists", "ConditionNotMet"}:
        return ConflictError(f"already exists: {where}")
    if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:  # a local-folder remote's disk
        return disk_full(exc, _local_path(where), "the remote")
    if isinstance(exc, OSError) or names & _REMOTE_GENERIC:
        return RemoteError(f"remote error on {where}: {reason}")
    return None


def to_artcli_error(exc: BaseException, url_or_key: str) -> ArtcliError | None:
    """The :mod:`artcli.errors` equivalent of ``exc``, or None for programming errors.

    ``url_or_key`` names the object in the message (sanitised here, so callers may pass any URL).
    """
    if isinstance(exc, ArtcliError):
        return exc
    if not isinstance(exc, Exception) or isinstance(exc, _PROGRAMMING):
        return None
    where = one_line(url_or_key)
    chain = list(_chain(exc))
    for e in chain:  # a missing bucket hides behind FileNotFoundError: look at the whole chain
        if _NO_BUCKET_CODES & _codes(e):
            response = getattr(e, "response", None)
            named = response.get("Error", {}).get("BucketName") if isinstance(response, dict) else None
            bucket = _bucket_of(url_or_key) or named
            what = "container" if "ContainerNotFound" in _codes(e) else "bucket"
            return RemoteError(f"{what} {bucket!r} does not exist ({where})")
    for e in chain:
        found = _classify(e, where)
        if found is not None:
            return found
    # Anything else (ValueError from a backend, RuntimeError, ...) is still the remote's doing.
    return RemoteError(f"remote error on {where}: {type(exc).__name__}: {_reason(exc)}")


@contextmanager
def translate(url_or_key: str) -> Iterator[None]:
    """Re-raise backend exceptions raised in the block as :mod:`artcli.errors` classes.

    The original exception stays as ``__cause__`` so ``--debug`` can still show it.
    """
    try:
        yield
    except ArtcliError:
        raise
    except Exception as exc:
        err = to_artcli_error(exc, url_or_key)
        if err is None:
            raise
        raise err from exc


@contextmanager
def downloading_into(dest: str) -> Iterator[None]:
    """For ``get_files``: a full disk met while writing the local copies is reported against
    ``dest`` (their folder), not against the remote object being read."""
    try:
        yield
    except DiskFullError as exc:
        if exc.os_error is None:
            raise
        raise disk_full(exc.os_error, dest, "downloaded objects") from None
