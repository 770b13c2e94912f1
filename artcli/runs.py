"""Which run (job) a command belongs to: flag > ARTCLI_RUN_ID > CI environment > none."""

from __future__ import annotations

import os
import re

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _clean(text: str) -> str:
    return _SAFE.sub("-", text).strip("-")[:128] or "run"


def detect_ci_run_id(env: dict[str, str] | None = None) -> str | None:
    """A stable id for the current CI job, or None outside CI."""
    env = dict(os.environ) if env is None else env
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


def current_run_id(flag: str | None = None) -> str | None:
    if flag:
        return _clean(flag)
    if os.environ.get("ARTCLI_RUN_ID"):
        return _clean(os.environ["ARTCLI_RUN_ID"])
    return detect_ci_run_id()
