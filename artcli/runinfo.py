"""Which run a command belongs to, and what an auditor needs to know about it: run ids, the
CI job, git state and the command line (the fold of a run's log is ``artcli/state/run.py``).

Run id precedence: ``--run`` > ``ARTCLI_RUN_ID`` > the CI job (GitHub Actions, GitLab,
Jenkins, CircleCI, Buildkite, Azure Pipelines) > none. Commands that record lineage
(``log``) fall back to a fresh id for that one command, so every version names the command
that made it.

Nothing here ever copies environment variables wholesale: the CI block names a handful of
documented variables, and every string that could carry a credential (argv, URLs) goes
through :func:`artcli.redact.redact_argv` / :func:`artcli.redact.redact_text` first.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from artcli.errors import UsageError
from artcli.redact import redact_argv, redact_text

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
GIT_TIMEOUT = 2.0


def _clean(text: str) -> str:
    """A run id safe as one key component: [A-Za-z0-9._-], starting with a letter or digit."""
    out = _SAFE.sub("-", text).lstrip("-._")[:128].rstrip("-")
    return out or "run"


def valid_run_id(value: Any) -> bool:
    return isinstance(value, str) and RUN_ID_RE.fullmatch(value) is not None


def check_run_id(run_id: str) -> str:
    """``run_id`` when it is valid (safe as one key component), else a UsageError."""
    if not valid_run_id(run_id):
        raise UsageError(f"invalid run id {run_id!r}: use letters, digits, '.', '_' or '-' "
                         "(start with a letter or digit, at most 128 characters)")
    return run_id


def detect_ci_run_id(env: Mapping[str, str] | None = None) -> str | None:
    """A stable id for the current CI job (the same for every command of the job), or None."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_RUN_ID"):
        return _clean(f"gh-{env['GITHUB_RUN_ID']}-{env.get('GITHUB_RUN_ATTEMPT', '1')}-{env.get('GITHUB_JOB', 'job')}")
    if env.get("GITLAB_CI") and env.get("CI_JOB_ID"):
        return _clean(f"gitlab-{env['CI_JOB_ID']}")
    if env.get("BUILD_TAG") and env.get("JENKINS_URL"):
        return _clean(f"jenkins-{env['BUILD_TAG']}")
    if env.get("CIRCLECI") and env.get("CIRCLE_WORKFLOW_JOB_ID"):
        return _clean(f"circle-{env['CIRCLE_WORKFLOW_JOB_ID']}")
    if env.get("BUILDKITE") and env.get("BUILDKITE_JOB_ID"):
        return _clean(f"buildkite-{env['BUILDKITE_JOB_ID']}")
    if env.get("TF_BUILD") and env.get("BUILD_BUILDID"):
        return _clean(f"azure-{env['BUILD_BUILDID']}-{env.get('SYSTEM_JOBID', 'job')}")
    return None


def ci_info(env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The CI provider, job and job URL, from documented variables only (never the whole env)."""
    env = os.environ if env is None else env

    def pick(**keys: str) -> dict[str, Any]:
        return {k: env[v] for k, v in keys.items() if env.get(v)}

    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_RUN_ID"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        url = None
        if env.get("GITHUB_REPOSITORY"):
            url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
            if env.get("GITHUB_RUN_ATTEMPT"):
                url += f"/attempts/{env['GITHUB_RUN_ATTEMPT']}"
        out = {"provider": "github", "url": url, **pick(
            job="GITHUB_JOB", workflow="GITHUB_WORKFLOW", repository="GITHUB_REPOSITORY",
            run_id="GITHUB_RUN_ID", attempt="GITHUB_RUN_ATTEMPT", ref="GITHUB_REF_NAME", sha="GITHUB_SHA")}
    elif env.get("GITLAB_CI") and env.get("CI_JOB_ID"):
        out = {"provider": "gitlab", "url": env.get("CI_JOB_URL"), **pick(
            job="CI_JOB_NAME", job_id="CI_JOB_ID", pipeline_id="CI_PIPELINE_ID", project="CI_PROJECT_PATH",
            ref="CI_COMMIT_REF_NAME", sha="CI_COMMIT_SHA")}
    elif env.get("BUILD_TAG") and env.get("JENKINS_URL"):
        out = {"provider": "jenkins", "url": env.get("BUILD_URL"), **pick(
            job="JOB_NAME", build="BUILD_NUMBER", tag="BUILD_TAG", sha="GIT_COMMIT", ref="GIT_BRANCH")}
    elif env.get("CIRCLECI") and env.get("CIRCLE_WORKFLOW_JOB_ID"):
        out = {"provider": "circleci", "url": env.get("CIRCLE_BUILD_URL"), **pick(
            job="CIRCLE_JOB", job_id="CIRCLE_WORKFLOW_JOB_ID", workflow_id="CIRCLE_WORKFLOW_ID",
            ref="CIRCLE_BRANCH", sha="CIRCLE_SHA1")}
    elif env.get("BUILDKITE") and env.get("BUILDKITE_JOB_ID"):
        url = env.get("BUILDKITE_BUILD_URL")
        out = {"provider": "buildkite", "url": f"{url}#{env['BUILDKITE_JOB_ID']}" if url else None, **pick(
            job="BUILDKITE_LABEL", job_id="BUILDKITE_JOB_ID", pipeline="BUILDKITE_PIPELINE_SLUG",
            ref="BUILDKITE_BRANCH", sha="BUILDKITE_COMMIT")}
    elif env.get("TF_BUILD") and env.get("BUILD_BUILDID"):
        url = None
        if env.get("SYSTEM_COLLECTIONURI") and env.get("SYSTEM_TEAMPROJECT"):
            url = (f"{env['SYSTEM_COLLECTIONURI'].rstrip('/')}/{env['SYSTEM_TEAMPROJECT']}"
                   f"/_build/results?buildId={env['BUILD_BUILDID']}")
        out = {"provider": "azure", "url": url, **pick(
            job="SYSTEM_JOBDISPLAYNAME", job_id="SYSTEM_JOBID", build_id="BUILD_BUILDID",
            ref="BUILD_SOURCEBRANCHNAME", sha="BUILD_SOURCEVERSION")}
    else:
        return None
    return {k: (redact_text(v) if isinstance(v, str) else v) for k, v in out.items()}


def current_run_id(flag: str | None = None) -> str | None:
    if flag:
        return _clean(flag)
    if os.environ.get("ARTCLI_RUN_ID"):
        return _clean(os.environ["ARTCLI_RUN_ID"])
    return detect_ci_run_id()


def fresh_run_id() -> str:
    """A new, unique, time-sortable id: ``r-20240501T120000Z-3f9a1c2b``."""
    from artcli import clock

    return f"r-{clock.now().strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


#: the arguments the CLI entry point is running with (set by ``artcli.cli.app.main`` for the
#: length of one command); None outside the CLI: a Python caller, recorded as ``python <argv>``
ARGV: list[str] | None = None


def command_line(argv: Sequence[str] | None = None) -> list[str]:
    """This command's line, scrubbed, as ``artcli <args>``; outside the CLI (the Python API,
    ``ARGV`` unset) the program's own line as ``python <script> <args>``."""
    if argv is None and ARGV is None:
        return redact_argv(["python", *sys.argv])
    args = list(argv) if argv is not None else list(ARGV) if ARGV is not None else []
    return redact_argv(["artcli", *args])


# -- git -----------------------------------------------------------------------------------------
def git_info(cwd: str | None = None) -> dict[str, Any] | None:
    """Commit, branch, dirty flag and origin of the git work tree around ``cwd``; None when
    not in a work tree, git is missing or too slow (never an error: this is decoration)."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", "--no-optional-locks", *args], cwd=cwd, capture_output=True,
                                 text=True, timeout=GIT_TIMEOUT, stdin=subprocess.DEVNULL,
                                 env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout if res.returncode == 0 else None

    status = git("status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is None:
        return None
    info: dict[str, Any] = {"commit": None, "branch": None, "dirty": False}
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2]
            info["commit"] = oid if re.fullmatch(r"[0-9a-f]{40,64}", oid) else None
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            info["branch"] = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            info["dirty"] = True
    origin = git("config", "--get", "remote.origin.url")
    if origin and origin.strip():
        info["remote"] = redact_text(origin.strip())
    return info


def run_attributes(job_type: str | None = None, name: str | None = None,
                   env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What a run records once, in its first event: job type, name, command line, where and who,
    git state and the CI job. Everything is chosen field by field; nothing is copied wholesale."""
    from artcli.eventlog import actor
    from artcli.version import __version__

    who = actor(None)
    attrs: dict[str, Any] = {
        "job_type": redact_text(job_type) if job_type else job_type, "name": redact_text(name) if name else name, "command": command_line(), "host": who["host"],
        "user": who["user"], "cwd": redact_text(os.getcwd()), "artcli": __version__,
    }
    git = git_info()
    if git is not None:
        attrs["git"] = git
    ci = ci_info(env)
    if ci is not None:
        attrs["ci"] = ci
    return attrs
