"""Reference grammar, names and path safety (unit + property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from artcli.errors import IntegrityError, UsageError
from artcli.model import Entry, check_alias, parse_ref, safe_relpath

NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)


@pytest.mark.parametrize(
    ("text", "project", "name", "version", "alias"),
    [
        ("ds", "default", "ds", None, None),
        ("ds:v0", "default", "ds", 0, None),
        ("ds:v12", "default", "ds", 12, None),
        ("team/ds:best", "team", "ds", None, "best"),
        ("ds:latest", "default", "ds", None, None),
    ],
)
def test_parse_ref(text: str, project: str, name: str, version: int | None, alias: str | None) -> None:
    ref = parse_ref(text, "default")
    assert (ref.project, ref.name, ref.version, ref.alias) == (project, name, version, alias)


def test_registry_ref() -> None:
    ref = parse_ref("registry/models/churn:production", "default")
    assert (ref.registry, ref.name, ref.alias) == ("models", "churn", "production")
    assert str(ref) == "registry/models/churn:production"


@pytest.mark.parametrize("text", ["", " ds", "ds:", "a/b/c", "ds:v01", "../x", "ds:v1x:y", "-ds", "registry/x",
                                  "a:b:c", "x" * 129])
def test_bad_refs(text: str) -> None:
    with pytest.raises(UsageError):
        parse_ref(text, "default")


@pytest.mark.parametrize("alias", ["latest", "v3", "v0", "", "-x", "a b"])
def test_bad_aliases(alias: str) -> None:
    with pytest.raises(UsageError):
        check_alias(alias)


@given(project=NAMES, name=NAMES, tag=st.one_of(st.none(), st.integers(0, 10**6), NAMES))
def test_ref_round_trip(project: str, name: str, tag: int | str | None) -> None:
    if project == "registry" or (isinstance(tag, str) and (tag == "latest" or (tag[:1] == "v" and tag[1:].isdigit()))):
        return
    text = f"{project}/{name}" + ("" if tag is None else f":v{tag}" if isinstance(tag, int) else f":{tag}")
    ref = parse_ref(text, "other")
    assert parse_ref(str(ref), "other") == ref
    assert ref.project == project and ref.name == name


@given(st.text(max_size=60))
def test_parse_ref_never_crashes(text: str) -> None:
    try:
        parse_ref(text, "default")
    except UsageError:
        pass


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/./b", "C:/x", "c:x",
                                  "a\\..\\b", "a\x00b", "", "a/", "x/\n", "..", "a/..", "\x7f"])
def test_unsafe_paths(path: str) -> None:
    with pytest.raises(IntegrityError):
        safe_relpath(path)


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6))
def test_safe_paths_stay_inside(parts: list[str]) -> None:
    import posixpath

    path = "/".join(parts)
    try:
        safe_relpath(path)
    except IntegrityError:
        return
    norm = posixpath.normpath(path)
    # a name like "..0" is fine; only a ".." component (or an absolute path) leaves the root
    assert not norm.startswith("/") and norm.split("/")[0] != ".." and "\x00" not in path and "\\" not in path


def test_entry_validation() -> None:
    good = {"path": "a/b", "size": 3, "digest": "0" * 64}
    assert Entry.from_json(good).path == "a/b"
    for bad in [{**good, "size": -1}, {**good, "size": 2**60}, {**good, "digest": "xyz"},
                {**good, "pack": "0" * 64}, {"path": "a", "size": 1}, {**good, "path": "../a"},
                {**good, "size": True}, [], "x"]:
        with pytest.raises(IntegrityError):
            Entry.from_json(bad)


def test_paths_are_stored_in_nfc() -> None:
    """A name typed as 'e' + combining accent and one typed as 'é' are the same path."""
    from artcli.model import normalise_relpath

    assert normalise_relpath("d/cafe\u0301.txt") == "d/caf\u00e9.txt"
    assert normalise_relpath("d/caf\u00e9.txt") == "d/caf\u00e9.txt"
    with pytest.raises(IntegrityError):
        normalise_relpath("../x")


def test_a_bad_alias_is_called_an_alias() -> None:
    with pytest.raises(UsageError) as info:
        check_alias("not ok!")
    assert "invalid alias 'not ok!'" in str(info.value)
