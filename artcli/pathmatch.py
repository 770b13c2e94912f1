"""Gitignore-style path patterns: ``--include`` / ``--exclude`` on a version's paths, and the
rules of ``.artcliignore`` files (docs/ignore.md).

A pattern follows gitignore's rules: ``*`` and ``?`` stay inside one path segment, ``**``
crosses segments (``**/x``, ``x/**``, ``a/**/b``), ``[abc]`` is a class; a pattern with no
``/`` except a trailing one matches a name at any depth, any other is anchored to where it
is given; a trailing ``/`` matches folders only; a pattern that matches a folder matches
everything under it. In an ignore file, ``!`` re-includes and the last matching rule wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

GLOB_CHARS = frozenset("*?[")


def has_glob(text: str) -> bool:
    return any(c in GLOB_CHARS for c in text)


def _translate(body: str) -> str:
    """The regex for a pattern body (no leading ``/``, no trailing ``/``)."""
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if body.startswith("**", i):
            before = i == 0 or body[i - 1] == "/"
            after = i + 2 == n or body[i + 2] == "/"
            if before and after:
                if i + 2 == n:  # trailing "/**" or a lone "**": anything below
                    out.append(".*")
                    i += 2
                else:  # "**/" : zero or more whole segments
                    out.append("(?:.*/)?")
                    i += 3
                continue
            out.append("[^/]*")  # "a**b": no special meaning, as git
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and body[j] in "!^":
                j += 1
            if j < n and body[j] == "]":
                j += 1
            while j < n and body[j] != "]":
                j += 1
            if j >= n:  # no closing bracket: a literal "["
                out.append(re.escape(c))
            else:
                inner = body[i + 1 : j]
                if inner[:1] in ("!", "^"):
                    inner = "^" + inner[1:]
                out.append("[" + inner.replace("\\", "\\\\") + "]")
                i = j
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(body[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern; ``negated`` is an ignore file's ``!``."""

    text: str
    regex: re.Pattern[str]
    dir_only: bool
    negated: bool = False
    #: no "/" in it: it matches a path's last name, at any depth (``core`` is that name's regex)
    basename: bool = False
    core: str = ""

    @classmethod
    def parse(cls, text: str, *, allow_negation: bool = False) -> Pattern:
        body = text
        negated = False
        if allow_negation and body.startswith("!"):
            negated, body = True, body[1:]
        elif allow_negation and body.startswith("\\!"):
            body = body[1:]
        dir_only = body.endswith("/")
        body = body.rstrip("/")
        anchored = "/" in body
        body = body.lstrip("/")
        if body.startswith("./"):
            body = body[2:]
        if not body:
            raise ValueError(f"empty pattern {text!r}")
        core = _translate(body)
        basename = not anchored and not body.startswith("**")
        rx = "(?:.*/)?" + core if basename else core
        return cls(text, re.compile(rx, re.DOTALL), dir_only, negated, basename, core)

    def matches(self, path: str, is_dir: bool) -> bool:
        """Whether this one path (not its parents) matches."""
        if self.dir_only and not is_dir:
            return False
        return self.regex.fullmatch(path) is not None

    def matches_file(self, path: str) -> bool:
        """A file matches when it or any folder above it does."""
        if self.matches(path, False):
            return True
        parts = path.split("/")
        return any(self.matches("/".join(parts[:i]), True) for i in range(1, len(parts)))


def compile_patterns(patterns: Iterable[str] | None, what: str = "pattern") -> list[Pattern]:
    from artcli.errors import UsageError

    out = []
    for p in patterns or ():
        try:
            out.append(Pattern.parse(p.replace("\\", "/") if "\\" in p and "/" in p else p))
        except (ValueError, re.error) as exc:
            raise UsageError(f"invalid {what} {p!r}: {exc}") from None
    return out


@dataclass(frozen=True)
class PathFilter:
    """``--include`` (any of them; none: everything) minus ``--exclude`` (any of them), on the
    paths inside a version."""

    include: tuple[Pattern, ...] = ()
    exclude: tuple[Pattern, ...] = ()

    @classmethod
    def of(cls, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None) -> PathFilter:
        return cls(tuple(compile_patterns(include, "--include pattern")),
                   tuple(compile_patterns(exclude, "--exclude pattern")))

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def accepts(self, path: str) -> bool:
        if self.include and not any(p.matches_file(path) for p in self.include):
            return False
        return not any(p.matches_file(path) for p in self.exclude)

    def describe(self) -> str:
        parts = [f"--include {p.text}" for p in self.include] + [f"--exclude {p.text}" for p in self.exclude]
        return " ".join(parts)


def parse_ignore_text(text: str) -> list[Pattern]:
    """The rules of one ignore file (gitignore syntax: ``#`` comments, blank lines, ``!``)."""
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line or line.startswith("#"):
            continue
        stripped = line.rstrip(" ")
        if stripped.endswith("\\"):  # "\ " keeps one trailing space
            stripped += " "
        if not stripped:
            continue
        try:
            rules.append(Pattern.parse(stripped, allow_negation=True))
        except (ValueError, re.error):
            continue  # git ignores a line it cannot use; so do we
    return rules


@dataclass(frozen=True)
class RuleSet:
    """Ignore rules that apply below ``base`` (a folder path, '' or ending in '/'), matched on
    the part of a path after it."""

    base: str
    rules: tuple[Pattern, ...]

    def __post_init__(self) -> None:
        """With no ``!`` rule any match ignores: the rules are joined into a few regexes, the
        name-only ones matched on the last name (a folder walk asks this of every entry)."""
        fast = None
        if not any(r.negated for r in self.rules):
            def join(rules: list[Pattern], name: bool) -> re.Pattern[str] | None:
                parts = [r.core if name else r.regex.pattern for r in rules if r.basename is name]
                return re.compile("|".join(f"(?:{p})" for p in parts), re.DOTALL) if parts else None

            files = [r for r in self.rules if not r.dir_only]
            fast = (join(files, True), join(files, False), join(list(self.rules), True), join(list(self.rules), False))
        object.__setattr__(self, "_fast", fast)

    def verdict(self, path: str, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included, None: no rule here matches."""
        if self.base and not path.startswith(self.base):
            return None
        rel = path[len(self.base):]
        fast = self.__dict__["_fast"]
        if fast is not None:
            by_name, by_path = (fast[2], fast[3]) if is_dir else (fast[0], fast[1])
            if by_name is not None and by_name.fullmatch(rel.rpartition("/")[2]):
                return True
            if by_path is not None and by_path.fullmatch(rel):
                return True
            return None
        out = None
        for r in self.rules:
            if r.matches(rel, is_dir):
                out = not r.negated
        return out


def ignored(rule_sets: Iterable[RuleSet], path: str, is_dir: bool) -> bool:
    """Last matching rule over all sets (outermost first) wins. Callers prune ignored folders,
    so, as in git, nothing below an ignored folder comes back."""
    out = False
    for rs in rule_sets:
        v = rs.verdict(path, is_dir)
        if v is not None:
            out = v
    return out
