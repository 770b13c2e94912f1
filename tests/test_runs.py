"""Runs: id detection (CI environments), what a run records, and the records log/download/use leave."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from artcli import redact, runinfo

from clihelp import Cli, make_tree

CI_VARS = ("GITHUB_ACTIONS", "GITHUB_RUN_ID", "GITLAB_CI", "CI_JOB_ID", "JENKINS_URL", "BUILD_TAG", "CIRCLECI",
           "CIRCLE_WORKFLOW_JOB_ID", "BUILDKITE", "BUILDKITE_JOB_ID", "TF_BUILD", "BUILD_BUILDID", "ARTCLI_RUN_ID")

GITHUB = {
    "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "9876543210", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_JOB": "train",
    "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/churn", "GITHUB_WORKFLOW": "ci",
    "GITHUB_REF_NAME": "main", "GITHUB_SHA": "a" * 40, "GITHUB_TOKEN": "ghs_" + "x" * 36, "HOME": "/home/runner",
}
GITLAB = {
    "GITLAB_CI": "true", "CI_JOB_ID": "4242", "CI_JOB_NAME": "evaluate", "CI_PIPELINE_ID": "77",
    "CI_JOB_URL": "https://gitlab.example.com/acme/churn/-/jobs/4242", "CI_PROJECT_PATH": "acme/churn",
    "CI_COMMIT_REF_NAME": "feature/x", "CI_JOB_TOKEN": "glcbt-secretsecret", "CI_REGISTRY_PASSWORD": "pw",
}


@pytest.fixture(autouse=True)
def _no_ambient_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite itself may run in CI: its job id must not leak into these tests."""
    for var in CI_VARS:
        monkeypatch.delenv(var, raising=False)


def remote_dir(cli: Cli) -> Path:
    assert cli.remote is not None and cli.remote.startswith("file://")
    return Path(urlparse(cli.remote).path)


def run_events(cli: Cli, run_id: str) -> list[dict]:
    folder = remote_dir(cli) / "runs" / run_id / "events"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def artifact_events(cli: Cli, name: str, project: str = "default") -> list[dict]:
    folder = remote_dir(cli) / "projects" / project / "artifacts" / name / "events"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def run_ids(cli: Cli) -> list[str]:
    root = remote_dir(cli) / "runs"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


# -- detection -----------------------------------------------------------------------------------
def test_github_actions_run_id_and_job_url() -> None:
    assert runinfo.detect_ci_run_id(GITHUB) == "gh-9876543210-2-train"
    info = runinfo.ci_info(GITHUB)
    assert info is not None
    assert info["provider"] == "github" and info["job"] == "train" and info["workflow"] == "ci"
    assert info["url"] == "https://github.com/acme/churn/actions/runs/9876543210/attempts/2"
    assert info["sha"] == "a" * 40 and info["ref"] == "main"
    assert "ghs_" not in json.dumps(info) and "/home/runner" not in json.dumps(info)  # never the env wholesale


def test_gitlab_run_id_and_job_url() -> None:
    assert runinfo.detect_ci_run_id(GITLAB) == "gitlab-4242"
    info = runinfo.ci_info(GITLAB)
    assert info == {"provider": "gitlab", "url": "https://gitlab.example.com/acme/churn/-/jobs/4242",
                    "job": "evaluate", "job_id": "4242", "pipeline_id": "77", "project": "acme/churn",
                    "ref": "feature/x"}


@pytest.mark.parametrize(("env", "expected", "provider"), [
    ({"JENKINS_URL": "https://ci/", "BUILD_TAG": "jenkins-churn-17", "BUILD_URL": "https://ci/job/churn/17/"},
     "jenkins-jenkins-churn-17", "jenkins"),
    ({"CIRCLECI": "true", "CIRCLE_WORKFLOW_JOB_ID": "abc-123", "CIRCLE_BUILD_URL": "https://circleci.com/x/1"},
     "circle-abc-123", "circleci"),
    ({"BUILDKITE": "true", "BUILDKITE_JOB_ID": "0190-aa", "BUILDKITE_BUILD_URL": "https://buildkite.com/a/b/builds/3"},
     "buildkite-0190-aa", "buildkite"),
    ({"TF_BUILD": "True", "BUILD_BUILDID": "55", "SYSTEM_JOBID": "j-1", "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
      "SYSTEM_TEAMPROJECT": "churn"}, "azure-55-j-1", "azure"),
])
def test_other_ci_providers(env: dict[str, str], expected: str, provider: str) -> None:
    assert runinfo.detect_ci_run_id(env) == expected
    info = runinfo.ci_info(env)
    assert info is not None and info["provider"] == provider and info["url"].startswith("https://")


def test_no_ci_and_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert runinfo.detect_ci_run_id({"PATH": "/bin", "CI": "true"}) is None and runinfo.ci_info({}) is None
    for k, v in GITLAB.items():
        monkeypatch.setenv(k, v)
    assert runinfo.current_run_id() == "gitlab-4242"
    monkeypatch.setenv("ARTCLI_RUN_ID", "nightly 42/a")
    assert runinfo.current_run_id() == "nightly-42-a"  # env beats CI; unsafe characters replaced
    assert runinfo.current_run_id("my-run") == "my-run"  # the flag beats both
    assert runinfo.current_run_id("../..") == "run" and runinfo.valid_run_id(runinfo.current_run_id("..x"))
    fresh = {runinfo.fresh_run_id() for _ in range(50)}
    assert len(fresh) == 50 and all(runinfo.valid_run_id(r) and r.startswith("r-") for r in fresh)


def test_scrub_argv_hides_secrets() -> None:
    argv = ["artcli", "log", "ds", "data/", "--token", "tok-123", "--api-key=k-456", "--password", "pw-789",
            "-m", "api_token=t-000", "-m", "src=https://alice:s3cr3t@example.com/d?X-Amz-Signature=sig-1&part=2",
            "-m", "key=AKIAABCDEFGHIJKLMNOP", "--description", "plain words", "data/token=file.txt"]
    out = redact.redact_argv(argv)
    text = " ".join(out)
    for secret in ("tok-123", "k-456", "pw-789", "t-000", "alice", "s3cr3t", "sig-1", "AKIAABCDEFGHIJKLMNOP"):
        assert secret not in text, secret
    assert out[:4] == ["artcli", "log", "ds", "data/"]
    assert "--token" in out and "--api-key=***" in out and "api_token=***" in out
    assert "src=https://***@example.com/d?X-Amz-Signature=***&part=2" in out
    assert "plain words" in out and "data/token=file.txt" in out  # paths and ordinary values stay
    assert len(redact.redact_argv(["x"] * 500)) == redact.MAX_ARGS + 1


# -- what a run records --------------------------------------------------------------------------
def test_run_start_and_show(cli: Cli, tmp_path: Path) -> None:
    rid = cli.ok("run", "start", "--job-type", "train", "--name", "sweep 3",
                 env={"ARTCLI_NOW": "2030-01-02T03:04:05Z"}).out.strip()
    assert runinfo.valid_run_id(rid) and rid.startswith("r-20300102T030405Z-")
    info = cli.ok("run", "show", rid, "--json").json()
    assert info["id"] == rid and info["job_type"] == "train" and info["name"] == "sweep 3"
    assert info["started"] == "2030-01-02T03:04:05.000000Z" and info["finished"] is None
    assert info["host"] and info["user"] and info["inputs"] == [] and info["outputs"] == []
    assert info["ci"] is None and info["events"] == 1
    # the current run is the default; finishing records the end once
    assert cli.ok("run", "show", "--json", env={"ARTCLI_RUN_ID": rid}).json()["id"] == rid
    cli.ok("run", "finish", rid, "--status", "succeeded", env={"ARTCLI_NOW": "2030-01-02T04:00:00Z"})
    cli.ok("run", "finish", rid, "--status", "failed")
    done = cli.ok("run", "show", rid, "--json").json()
    assert done["finished"] == "2030-01-02T04:00:00.000000Z" and done["status"] == "succeeded"
    assert len(run_events(cli, rid)) == 2
    # an explicit id: the first start writes, a retried one is a no-op
    assert cli.ok("run", "start", "--id", "ci-77-eval", "--json").json() == {"id": "ci-77-eval", "created": True}
    assert cli.ok("run", "start", "--id", "ci-77-eval", "--json").json() == {"id": "ci-77-eval", "created": False}
    assert cli("run", "start", "--id", "../x").code == 2
    assert cli("run", "show", "nope").code == 3
    assert cli("run", "show").code == 2  # no current run


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_run_records_git_state(cli: Cli, tmp_path: Path) -> None:
    work = make_tree(tmp_path / "work", {"train.py": b"print(1)\n"})
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "exp/one", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "remote", "add", "origin", "https://bot:ghp_secret@github.com/acme/x.git"],
                   check=True)
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-m", "one"], check=True)
    head = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    clean = cli.ok("run", "start", cwd=work).out.strip()
    g = cli.ok("run", "show", clean, "--json").json()["git"]
    assert g == {"commit": head, "branch": "exp/one", "dirty": False, "remote": "https://***@github.com/acme/x.git"}
    (work / "train.py").write_bytes(b"print(2)\n")
    dirty = cli.ok("run", "start", cwd=work).out.strip()
    assert cli.ok("run", "show", dirty, "--json").json()["git"]["dirty"] is True
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    plain = cli.ok("run", "start", cwd=outside).out.strip()
    assert cli.ok("run", "show", plain, "--json").json()["git"] is None


def test_ci_job_becomes_the_run_without_secrets(cli: Cli, tmp_path: Path) -> None:
    data = make_tree(tmp_path / "d", {"a.txt": b"a"})
    env = {**GITHUB, "MY_SERVICE_TOKEN": "very-secret-value-1"}
    # metadata holding a URL password is refused (it would be stored in the artifact's log)
    refused = cli.run("log", "ds", str(data), "-m", "note=https://u:very-secret-value-2@example.com/x", env=env)
    assert refused.code == 2 and "credentials" in refused.err and "very-secret-value-2" not in refused.err
    res = cli.run("log", "ds", str(data), "-m", "note=https://example.com/x", "--json", env=env).check().json()
    assert cli.ok("show", res["ref"], "--json").json()["run"] == "gh-9876543210-2-train"
    info = cli.ok("run", "show", "gh-9876543210-2-train", "--json").json()
    assert info["ci"]["url"] == "https://github.com/acme/churn/actions/runs/9876543210/attempts/2"
    assert [o["ref"] for o in info["outputs"]] == ["default/ds:v0"]
    raw = b"".join(p.read_bytes() for p in (remote_dir(cli) / "runs").rglob("*.json"))
    for secret in (b"very-secret-value-1", b"very-secret-value-2", b"ghs_", b"/home/runner"):
        assert secret not in raw
    gl = cli.ok("run", "start", "--json", env=GITLAB).json()  # run start makes a fresh id even in CI
    assert gl["id"].startswith("r-")
    assert cli.ok("run", "show", gl["id"], "--json").json()["ci"]["url"].endswith("/-/jobs/4242")


def test_command_line_is_recorded_scrubbed(cli: Cli, tmp_path: Path) -> None:
    """Real processes: the recorded command line is the process's argv, secrets removed."""
    data = make_tree(tmp_path / "d", {"a.txt": b"a"})
    rid = cli.run("run", "start", "--job-type", "train", "--name", "sweep 3").check().out.strip()
    assert cli.ok("run", "show", rid, "--json").json()["command"] == \
        ["artcli", "run", "start", "--job-type", "train", "--name", "sweep 3"]
    # a secret-named KEY=VALUE inside one option argument (--opt=KEY=VALUE) and as its own argument
    # (--name-as takes any folder name, so it carries the text into argv unchanged)
    cli.run("log", "ds", str(data), "--name-as=api_token=tok-abc-123", "--run", rid).check()
    cli.run("log", "ds2", str(data), "--name-as", "api_token=tok-abc-456", "--run", rid).check()
    info = cli.ok("run", "show", rid, "--json").json()
    assert [o["command"] for o in info["outputs"]] == [
        ["artcli", "log", "ds", str(data), "--name-as=api_token=***", "--run", rid],
        ["artcli", "log", "ds2", str(data), "--name-as", "api_token=***", "--run", rid]]
    raw = b"".join(p.read_bytes() for p in (remote_dir(cli) / "runs").rglob("*.json"))
    assert b"tok-abc-123" not in raw and b"tok-abc-456" not in raw
    # the same through --metadata: refused before anything is written or recorded
    r = cli.run("log", "ds3", str(data), "--metadata=token=tok-abc-789", "--run", rid)
    assert r.code == 2 and "tok-abc-789" not in r.err
    assert b"tok-abc-789" not in b"".join(p.read_bytes() for p in remote_dir(cli).rglob("*") if p.is_file())


# -- records left by log / download / use --------------------------------------------------------
def test_log_without_a_run_names_a_fresh_one(cli: Cli, tmp_path: Path) -> None:
    data = make_tree(tmp_path / "d", {"a.txt": b"a"})
    cli.ok("log", "ds", str(data))
    (rid,) = run_ids(cli)
    assert cli.ok("show", "ds:v0", "--json").json()["run"] == rid
    info = cli.ok("run", "show", rid, "--json").json()
    assert info["job_type"] is None and info["host"] and info["started"]
    assert [(o["ref"], o["created"]) for o in info["outputs"]] == [("default/ds:v0", True)]
    cli.ok("log", "ds", str(data))  # unchanged: nothing is written, no run appears
    assert run_ids(cli) == [rid] and len(artifact_events(cli, "ds")) == 1
    cli.ok("log", "ds", str(data), "--alias", "best")  # an alias move is a write: its run is recorded
    assert len(run_ids(cli)) == 2
    other = next(r for r in run_ids(cli) if r != rid)
    assert [(o["ref"], o["created"]) for o in cli.ok("run", "show", other, "--json").json()["outputs"]] == \
        [("default/ds:v0", False)]


def test_download_records_use_once_per_run(cli: Cli, tmp_path: Path) -> None:
    data = make_tree(tmp_path / "d", {"a.txt": b"a", "b.txt": b"b"})
    cli.ok("log", "ds", str(data), "--alias", "prod")
    rid = cli.ok("run", "start", "--job-type", "train").out.strip()
    before = len(artifact_events(cli, "ds"))
    cli.ok("download", "ds:prod", "--root", str(tmp_path / "o1"), "--run", rid)
    # one put_if_absent in each log: the artifact's `used`, the run's `input`
    assert len(artifact_events(cli, "ds")) == before + 1 and len(run_events(cli, rid)) == 2
    used = artifact_events(cli, "ds")[-1]
    assert used["type"] == "used" and used["version"] == 0 and used["run"] == rid and used["actor"]["run"] == rid
    ev = run_events(cli, rid)[-1]
    assert (ev["type"], ev["project"], ev["name"], ev["version"], ev["via"], ev["requested"]) == \
        ("input", "default", "ds", 0, "download", "default/ds:prod")
    assert "attributes" not in ev and ev["command"][0] == "artcli"
    # the same run downloading again writes nothing; --no-track and no run write nothing
    cli.ok("download", "ds", "--root", str(tmp_path / "o2"), env={"ARTCLI_RUN_ID": rid})
    cli.ok("download", "ds", "--root", str(tmp_path / "o3"), "--run", "other-run", "--no-track")
    cli.ok("download", "ds", "--root", str(tmp_path / "o4"))
    assert len(artifact_events(cli, "ds")) == before + 1 and len(run_events(cli, rid)) == 2
    assert "other-run" not in run_ids(cli)
    info = cli.ok("run", "show", rid, "--json").json()
    assert [(i["ref"], i["via"], i["requested"]) for i in info["inputs"]] == [("default/ds:v0", "download", "default/ds:prod")]


def test_use_records_without_downloading(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "d", {"a.txt": b"a"})))
    r = cli("use", "ds")
    assert r.code == 2 and "ARTCLI_RUN_ID" in r.err  # no run: says how to start one
    assert cli.ok("use", "ds:latest", "--run", "job-1").out.strip() == "default/ds:v0"
    res = cli.ok("use", "ds", "--run", "job-1", "--json").json()
    assert res == {"ref": "default/ds:v0", "requested": "default/ds:latest", "run": "job-1", "recorded": False}
    info = cli.ok("run", "show", "job-1", "--json").json()
    assert [(i["ref"], i["via"]) for i in info["inputs"]] == [("default/ds:v0", "use")]
    assert info["host"] and info["command"]  # a run nobody started gets its attributes from its first record
    assert [e["type"] for e in artifact_events(cli, "ds")] == ["version_created", "used"]
    assert cli("use", "nope", "--run", "job-1").code == 3


def test_log_input_pins_and_records(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "raw", str(make_tree(tmp_path / "r0", {"r.txt": b"0"})), "--alias", "golden")
    cli.ok("log", "raw", str(make_tree(tmp_path / "r1", {"r.txt": b"1"})))
    assert cli("log", "clean", str(tmp_path / "r0"), "--input", "missing:v0").code == 3  # checked before any work
    res = cli.ok("log", "clean", str(make_tree(tmp_path / "c", {"c.txt": b"c"})), "--input", "raw:golden",
                 "--input", "raw", "--input", "raw:v1", "--run", "clean-1", "--json").json()
    created = artifact_events(cli, "clean")[0]
    assert created["inputs"] == ["default/raw:v0", "default/raw:v1"]  # pinned, deduplicated
    assert created["actor"]["run"] == "clean-1"
    info = cli.ok("run", "show", "clean-1", "--json").json()
    assert [(i["ref"], i["via"]) for i in info["inputs"]] == [("default/raw:v0", "log"), ("default/raw:v1", "log")]
    assert [o["ref"] for o in info["outputs"]] == [res["ref"]]
    used = [(e["version"], e["run"]) for e in artifact_events(cli, "raw") if e["type"] == "used"]
    assert sorted(used) == [(0, "clean-1"), (1, "clean-1")]  # written in parallel: any order


@pytest.mark.s3
@pytest.mark.slow
def test_records_on_s3(s3_cli: Cli, tmp_path: Path) -> None:
    cli = s3_cli
    cli.ok("log", "ds", str(make_tree(tmp_path / "d", {"a.txt": b"a"})), "--run", "ingest-1")
    cli.ok("download", "ds", "--root", str(tmp_path / "o"), "--run", "train-1")
    cli.ok("use", "ds", "--run", "train-1")
    assert [o["ref"] for o in cli.ok("run", "show", "ingest-1", "--json").json()["outputs"]] == ["default/ds:v0"]
    assert [i["via"] for i in cli.ok("run", "show", "train-1", "--json").json()["inputs"]] == ["download"]
    g = cli.ok("lineage", "ds", "--format", "json").json()
    assert {(e["from"], e["to"], e["kind"]) for e in g["edges"]} == {
        ("run:ingest-1", "default/ds:v0", "produced"), ("default/ds:v0", "run:train-1", "used")}


def test_a_remote_refusing_the_record_never_fails_a_download(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "d", {"a.txt": b"a"})))
    runs_dir = remote_dir(cli) / "runs"
    shutil.rmtree(runs_dir)
    runs_dir.write_bytes(b"")  # nothing can be created under runs/ any more (root ignores permissions)
    r = cli("download", "ds", "--root", str(tmp_path / "o"), "--run", "job-1")
    assert r.code == 0 and (tmp_path / "o" / "a.txt").read_bytes() == b"a"
    assert "could not record default/ds:v0 as used by run job-1" in r.err and "--no-track" in r.err
    assert cli("use", "ds", "--run", "job-1").code != 0  # an explicit `use` does fail
