"""Run the real artcli command line, in-process (fast) or as a subprocess (real processes)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def check(self) -> Result:
        assert self.code == 0, f"exit {self.code}\nstdout: {self.out}\nstderr: {self.err}"
        return self


_CLICK_COMMAND: list[Any] = []


def _reuse_click_command() -> None:
    """Build the click command tree of artcli's whole Typer app once per test process.

    ``Typer.__call__`` rebuilds it from the command functions' signatures on every call: ~60 ms
    of CPU for the whole app (help, completion, an unknown name; a named command gets a
    narrowed copy, see ``artcli.cli.app._narrowed``, built as before), against ~2 ms for a
    whole in-process ``ls`` of a folder remote. A real ``artcli`` process builds it once. The
    commands are registered at import and click keeps no state in a command between runs
    (each gets a new Context), so reusing the tree runs exactly the same commands.
    """
    if _CLICK_COMMAND:
        return
    import typer.main

    from artcli.cli.app import app

    build = typer.main.get_command

    def cached(typer_instance: Any) -> Any:
        if typer_instance is not app:
            return build(typer_instance)
        if not _CLICK_COMMAND:
            _CLICK_COMMAND.append(build(app))
        return _CLICK_COMMAND[0]

    typer.main.get_command = cached
    cached(app)


class Cli:
    """The artcli CLI bound to one remote and an isolated config/cache/data directory."""

    def __init__(self, home: Path, remote: str | None, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.remote = remote
        self.env = {
            "ARTCLI_CACHE_DIR": str(home / "cache"),
            "ARTCLI_CONFIG_DIR": str(home / "config"),
            "ARTCLI_DATA_DIR": str(home / "data"),
            **(env or {}),
        }
        if remote:
            self.env["ARTCLI_REMOTE"] = remote

    def __call__(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        """In-process: the same entry point as the console script."""
        from artcli.cli.app import main

        _reuse_click_command()
        out, err = io.StringIO(), io.StringIO()
        saved = {k: os.environ.get(k) for k in {**self.env, **(env or {})}}
        old_cwd = os.getcwd()
        code = 0
        try:
            os.environ.update({**self.env, **(env or {})})
            if cwd:
                os.chdir(cwd)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main(list(args))
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.chdir(old_cwd)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return Result(code, out.getvalue(), err.getvalue())

    def ok(self, *args: str, **kw: Any) -> Result:
        return self(*args, **kw).check()

    def proc_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, **self.env, **(extra or {})}

    def spawn(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen[str]:
        """A real `python -m artcli` process (for concurrency, kills and TTY tests)."""
        return subprocess.Popen([sys.executable, "-m", "artcli", *args], env=self.proc_env(env), cwd=cwd,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        p = self.spawn(*args, env=env)
        out, err = p.communicate(timeout=timeout)
        return Result(p.returncode, out, err)


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
