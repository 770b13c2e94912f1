"""Where each page lives in the site, and relative links between pages (so the site works
from ``file://``, from a sub-folder of a web server and from a bucket alike).

Names, versions and run ids are restricted to ``[A-Za-z0-9._-]`` starting with a letter or
digit before they get here, so they are safe as path segments and need no quoting.
"""

from __future__ import annotations

INDEX = "index.html"
RUNS = "run/index.html"
CSS = "assets/site.css"
JS = "assets/site.js"
STATE = ".artcli-site.json"


def project(p: str) -> str:
    return f"p/{p}/index.html"


def artifact(p: str, n: str) -> str:
    return f"p/{p}/a/{n}/index.html"


def version(p: str, n: str, v: int) -> str:
    return f"p/{p}/a/{n}/v{v}.html"


def registry(r: str) -> str:
    return f"r/{r}/index.html"


def collection(r: str, c: str) -> str:
    return f"r/{r}/c/{c}.html"


def run(rid: str) -> str:
    return f"run/{rid}.html"


def rel(from_page: str, to_page: str) -> str:
    """The relative URL from one page to another (``to_page`` may carry a ``#fragment``).

    Both are clean site paths, so this is string work (``posixpath.relpath`` asks the
    operating system for the working directory twice per call: a fifth of a 12,000-page build).
    """
    path, sep, frag = to_page.partition("#")
    here = from_page.split("/")[:-1]
    there = path.split("/")
    common = 0
    while common < len(here) and common < len(there) - 1 and here[common] == there[common]:
        common += 1
    out = "/".join([".."] * (len(here) - common) + there[common:])
    return out + (sep + frag if sep else "")
