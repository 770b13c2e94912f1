"""The one secret detector: what looks like a credential, and text with it taken out.

Everything artcli writes to a remote, a log line, a run record, a config file or the screen
that could carry a credential goes through here first: error messages (``redact_text``), the
recorded command line (``redact_argv``), URLs recorded or shown (``redact_url``,
``split_signed_url``), and values a user asks to store (``check_no_secret``, which refuses).
Detection has two halves, used together:

* **names** (``secret_name``): an option, query parameter, metadata key or ``KEY=VALUE``
  whose name says it holds a secret (``password``, ``api_token``, ``AccountKey``,
  ``X-Amz-Signature``, ``sig``, ``sse_customer_key``...). Names are split into words
  (``_``, ``-``, ``.``, camelCase) so ``tokenizer`` or ``author`` are not secrets;
* **shapes** (``_SHAPES``): values that are credentials whatever they are called (AWS key
  ids, Google API keys, GitHub/GitLab/Slack/Hugging Face tokens, JWTs, private-key blocks,
  ``Bearer``/``Basic`` authorization values).

No third-party import; start-up stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

REDACTED = "***"
MAX_ARG_CHARS = 512
MAX_ARGS = 64

# -- names -------------------------------------------------------------------------------------
#: a word that alone makes a name secret (``api_token``, ``db_password``, ``X-Amz-Signature``)
_SECRET_WORDS = frozenset({
    "secret", "secrets", "password", "passwords", "passwd", "pwd", "passphrase", "credential", "credentials",
    "token", "apikey", "signature", "sig", "bearer", "cookie", "jwt", "privatekey", "accesskey", "secretkey",
    "accountkey", "sharedaccesskey", "sharedaccesssignature", "connectionstring", "authorization", "sas",
})
#: words that make a following ``key`` (or ``string``) secret: ``client_key``, ``sse_customer_key``
_KEY_QUALIFIERS = frozenset({
    "api", "access", "secret", "private", "account", "client", "customer", "master", "encryption", "signing",
    "auth", "subscription", "shared", "storage", "session", "sas", "service", "app", "consumer", "license",
})
#: a bare ``key`` is Google's ``?key=`` and s3fs's access key option, but also an ordinary
#: word (a metadata key named ``key``): see ``bare_key``
#: query parameters of signed URLs (S3/GCS pre-signed, Azure SAS, CloudFront): recorded URLs
#: drop them; shown URLs hide their values
_SIGNED_PARAMS = frozenset({
    "sig", "se", "sp", "sv", "sr", "st", "spr", "srt", "ss", "skoid", "sktid", "skt", "ske", "sks", "skv", "sdd",
    "expires", "googleaccessid", "key-pair-id", "policy", "signature", "id_token", "auth", "session", "key",
})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def secret_name(name: str, *, bare_key: bool = True) -> bool:
    """True when a name (option, query parameter, metadata key) says its value is a secret;
    ``bare_key``: the name ``key`` alone counts (not for metadata, where it is a plain word)."""
    if bare_key and name.strip().strip("-").lower() == "key":
        return True
    words = _words(name)
    for i, w in enumerate(words):
        if w in _SECRET_WORDS:
            return True
        if w in ("key", "keys") and i > 0 and words[i - 1] in _KEY_QUALIFIERS:
            return True
        if w == "string" and i > 0 and words[i - 1] == "connection":
            return True
    return "".join(words) in _SECRET_WORDS


def signed_param(name: str) -> bool:
    """True for a query parameter a recorded URL must not keep: secrets and signature parts."""
    low = name.strip().lower()
    return low in _SIGNED_PARAMS or low.startswith(("x-amz-", "x-goog-")) or secret_name(name)


# -- shapes ------------------------------------------------------------------------------------
_SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("a private key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----(?:.*?-----END [A-Z0-9 ]*"
                                 r"PRIVATE KEY( BLOCK)?-----|.*)", re.S)),
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("a Google API key", re.compile(r"AIza[0-9A-Za-z_\-]{30,}")),
    ("a Google OAuth token", re.compile(r"ya29\.[0-9A-Za-z_\-]{20,}")),
    ("a GitHub token", re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}")),
    ("a GitLab token", re.compile(r"gl(?:pat|cbt|dt|ptt|rt)-[A-Za-z0-9_\-]{16,}")),
    ("a Slack token", re.compile(r"xox[abposr]-[A-Za-z0-9\-]{10,}")),
    ("a Hugging Face token", re.compile(r"hf_[A-Za-z0-9]{30,}")),
    ("an API secret key", re.compile(r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}|sk-[A-Za-z0-9_\-]{32,}")),
    ("a JSON web token", re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
]
#: ``Authorization: Bearer X`` / ``Basic X``: the scheme word stays, the credential goes
_AUTH_VALUE = re.compile(r"\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/\-]{8,}=*)(?![A-Za-z0-9._~+/=\-])", re.I)
#: a URL: scheme, user-info, the rest, query, fragment
_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#\s@\"'<>]*@)?([^\s?#\"'<>]*)(\?[^\s#\"'<>]*)?(#[^\s\"'<>]*)?")
#: ``name=value`` / ``name: value`` in free text (``;``-separated connection strings too)
_PAIR = re.compile(r"(?<![A-Za-z0-9_.\-/\\])([A-Za-z][A-Za-z0-9_.\-]*)(\"?\s*[=:]\s*)(?!//)(\"[^\"]*\"|'[^']*'|[^\s&\"',;]+)")
#: values that name a credential source rather than being one (``token=anon``)
SAFE_VALUES = frozenset({"", "anon", "google_default", "cloud", "cache", "browser", "none", "null", "true",
                         "false", REDACTED})


def shape_of(text: str) -> str | None:
    """What kind of credential ``text`` contains by its shape alone, or None."""
    for what, pattern in _SHAPES:
        if pattern.search(text):
            return what
    if any(_tokenish(m.group(3)) for m in _AUTH_VALUE.finditer(text)):
        return "an authorization header value"
    return None


def _tokenish(token: str) -> bool:
    """A credential after ``Bearer``/``Basic`` rather than a word: digits, padding or case mixed
    inside (``dXNlcjpw``), which prose (``Basic authentication``) does not have."""
    return bool(re.search(r"[0-9+/=_~.\-]", token) or re.search(r"[a-z].*[A-Z]|[A-Z].+[A-Z]", token[1:]))


def find_secret(value: str, name: str | None = None, *, bare_key: bool = True) -> str | None:
    """Why ``value`` (stored under ``name``) looks like a credential, in words, or None.

    The answer never quotes the value, so it is safe in an error message.
    """
    text = str(value)
    if name is not None and secret_name(name, bare_key=bare_key) and text.strip().lower() not in SAFE_VALUES:
        return f"its name {name!r} says it is a secret"
    found = shape_of(text)
    if found:
        return found
    for m in _URL.finditer(text):
        if m.group(2) and _userinfo_secret(m.group(2)[:-1]):
            return "user-info (user:password@) in a URL"
        for param, value in _query_items(m.group(4) or ""):
            if signed_param(param) and value not in ("", REDACTED):
                return f"a signed or secret query parameter {param!r} in a URL"
    for m in _PAIR.finditer(_URL.sub(" ", text)):
        if secret_name(m.group(1), bare_key=bare_key) and m.group(3).strip("\"'").lower() not in SAFE_VALUES:
            return f"a {m.group(1)!r} value"
    return None


def _userinfo_secret(userinfo: str) -> bool:
    """``user:password``, or a lone user part long enough to be a token (``https://TOKEN@host``);
    a plain user name (``ssh://git@host``) is not a credential."""
    return ":" in userinfo or len(userinfo) >= 16 or shape_of(userinfo) is not None


def looks_secret(name: str | None, value: Any, *, bare_key: bool = True) -> bool:
    """True when ``value`` (any JSON-like value, under ``name``) holds something credential-like."""
    return any(find_secret(v, n, bare_key=bare_key) for n, v in _strings(name, value))


def _strings(name: str | None, value: Any) -> Iterable[tuple[str | None, str]]:
    """Every string inside a JSON-like value, with the name it sits under."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield None, str(k)
            yield from _strings(str(k), v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(name, v)


def check_no_secret(what: str, value: Any, *, name: str | None = None, hint: str | None = None,
                    bare_key: bool = True) -> None:
    """Refuse (UsageError, exit 2) to store ``value`` when it holds a credential.

    ``what`` names the thing in the message (``"metadata 'src'"``, ``"remote option 'x'"``).
    """
    from artcli.errors import UsageError

    for n, v in _strings(name, value):
        why = find_secret(v, n, bare_key=bare_key)
        if why:
            raise UsageError(
                f"{what} holds credentials ({why}); artcli never stores credentials",
                hint=hint or "credentials come from the environment, a profile or a token file; "
                             "store the value without user:password@, signatures, keys or tokens")


def _query_items(query: str) -> list[tuple[str, str]]:
    return [(k, v) for k, _eq, v in (item.partition("=") for item in query.lstrip("?").split("&") if item)]


# -- redaction ---------------------------------------------------------------------------------
def _redact_query(query: str) -> str:
    parts = []
    for item in query[1:].split("&"):
        key, eq, value = item.partition("=")
        if eq and (signed_param(key) or shape_of(value)):
            item = f"{key}={REDACTED}"
        parts.append(item)
    return "?" + "&".join(parts)


def redact_url(text: str, *, drop_query: bool = False) -> str:
    """Every URL in ``text`` with user-info as ``***@`` and secret query values as ``***``; with
    ``drop_query``, reduced to ``scheme://host/path`` (error messages need no query, fragment
    or user-info)."""
    def one(m: re.Match[str]) -> str:
        scheme, userinfo, rest, query, frag = m.groups()
        if drop_query:
            return scheme + rest
        if userinfo and _userinfo_secret(userinfo[:-1]):
            userinfo = f"{REDACTED}@"
        out = scheme + (userinfo or "") + rest
        return out + (_redact_query(query) if query else "") + (frag or "")

    return _URL.sub(one, text)


def _redact_pair(m: re.Match[str]) -> str:
    name, sep, value = m.groups()
    if secret_name(name) and value.strip("\"'").lower() not in SAFE_VALUES:
        return f"{name}{sep}{REDACTED}"
    return m.group(0)


def redact_text(text: str, *, drop_query: bool = False) -> str:
    """``text`` with every credential replaced by ``***``: URL user-info and secret query
    values, ``secret=value`` / ``password: value`` pairs, authorization values and known token
    shapes. Idempotent; never raises."""
    text = redact_url(str(text), drop_query=drop_query)
    for _what, pattern in _SHAPES:
        text = pattern.sub(REDACTED, text)
    text = _AUTH_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}" if _tokenish(m.group(3)) else m.group(0),
                           text)
    return _PAIR.sub(_redact_pair, text)


def one_line(text: str, *, limit: int | None = None) -> str:
    """Redacted, on one line (for error messages): queries dropped, whitespace collapsed."""
    out = " ".join(redact_text(str(text), drop_query=True).split())
    if limit is not None and len(out) > limit:
        out = out[: limit - 3] + "..."
    return out


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*(:[a-z]+)?")


def _redact_assignment(arg: str) -> str | None:
    """``KEY=VALUE`` / ``KEY:TYPE=VALUE`` with a secret-looking key, redacted; else None."""
    key, eq, _value = arg.partition("=")
    if eq and _NAME.fullmatch(key) and secret_name(key.partition(":")[0]):
        return f"{key}={REDACTED}"
    return None


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A command line fit for an audit log: values of secret-looking options (``--token X``,
    ``--api-key=X``), secret-looking ``KEY=VALUE`` arguments, also inside an option
    (``--metadata=token=X``), URL credentials and token shapes become ``***``; long arguments
    are cut and at most :data:`MAX_ARGS` are kept."""
    out: list[str] = []
    hide_next = False
    for raw in list(argv)[:MAX_ARGS]:
        arg = str(raw)
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if arg.startswith("-") and len(arg) > 1:
            name, eq, value = arg.partition("=")
            if secret_name(name.lstrip("-")):
                if eq:
                    out.append(f"{name}={REDACTED}")
                else:
                    out.append(name)
                    hide_next = True
                continue
            inner = _redact_assignment(value) if eq else None
            if inner is not None:
                out.append(f"{name}={inner}")
                continue
            glued = _redact_assignment(arg[2:]) if not arg.startswith("--") else None
            if glued is not None:  # -mKEY=VALUE
                out.append(arg[:2] + glued)
                continue
        else:
            inner = _redact_assignment(arg)
            if inner is not None:
                out.append(inner)
                continue
        arg = redact_text(arg)
        out.append(arg if len(arg) <= MAX_ARG_CHARS else arg[:MAX_ARG_CHARS] + "…")
    if len(argv) > MAX_ARGS:
        out.append(f"… ({len(argv) - MAX_ARGS} more arguments)")
    return out


def split_signed_url(query_items: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """A URL's query items split into those a recorded URL keeps and the names it drops."""
    kept: list[tuple[str, str]] = []
    dropped: list[str] = []
    for k, v in query_items:
        if signed_param(k) or shape_of(v):
            dropped.append(k)
        else:
            kept.append((k, v))
    return kept, dropped
