"""No credential ever lands anywhere artcli writes or prints.

Unique secrets are planted where credentials really come from — AWS environment variables,
an AWS profile file, Google tokens and a service-account key file, a CI server URL, user-info
in a URL on the command line — then every command (successes and failures, all with
``--debug``) runs as a real process, and every byte written is searched for them: the whole
remote (manifests decompressed), the cache, config and data directories, stdout and stderr.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from clihelp import make_tree


def _secrets() -> dict[str, str]:
    tag = uuid.uuid4().hex
    return {name: f"{name}{tag}" for name in ("AwsSecret", "AwsToken", "ProfileSecret", "ProfileToken", "GoogleToken",
                                              "GoogleKey", "CiSecret", "UrlSecret")}


class Runner:
    """Runs ``artcli --debug ...`` in a subprocess with a chosen environment, keeping all output."""

    def __init__(self, home: Path, remote: str, env: dict[str, str], unset: tuple[str, ...] = ()) -> None:
        self.home = home
        base = {k: v for k, v in os.environ.items() if k not in unset}
        self.env = {**base, "ARTCLI_CACHE_DIR": str(home / "cache"), "ARTCLI_CONFIG_DIR": str(home / "config"),
                    "ARTCLI_DATA_DIR": str(home / "data"), "ARTCLI_REMOTE": remote, **env}
        self.outputs: list[bytes] = []
        self.codes: list[tuple[str, int]] = []

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        return self.many([args], env=env)[0]

    def many(self, commands: list[tuple[str, ...]], env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess[bytes]]:
        """Run independent commands at once (reads, failures): same checks, less waiting."""
        procs = [(args, subprocess.Popen([sys.executable, "-m", "artcli", "--debug", *args],
                                         env={**self.env, **(env or {})}, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, cwd=self.home)) for args in commands]
        results = []
        for args, p in procs:
            out, err = p.communicate(timeout=180)
            self.outputs += [out, err]
            self.codes.append((args[0], p.returncode))
            results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        return results


def _every_byte(root: Path) -> list[tuple[str, bytes]]:
    """Every file under ``root``; gzip members decompressed too, so manifests are searched."""
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            data = p.read_bytes()
            out.append((str(p), data))
            if data[:2] == b"\x1f\x8b":
                try:
                    out.append((f"{p} (gunzipped)", gzip.decompress(data)))
                except (OSError, EOFError):
                    pass
    return out


def _bucket_bytes(bucket: str) -> list[tuple[str, bytes]]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            data = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            out.append((f"s3://{bucket}/{obj['Key']}", data))
            if obj["Key"].endswith(".gz"):
                out.append((f"s3://{bucket}/{obj['Key']} (gunzipped)", gzip.decompress(data)))
    return out


def _gcs_bytes(bucket: str) -> list[tuple[str, bytes]]:
    """Every object of a fake-gcs-server bucket, through its JSON API."""
    import urllib.parse
    import urllib.request

    host = os.environ["STORAGE_EMULATOR_HOST"].rstrip("/")
    out, token = [], ""
    while True:
        with urllib.request.urlopen(f"{host}/storage/v1/b/{bucket}/o?pageToken={token}", timeout=10) as r:
            page = json.loads(r.read())
        for item in page.get("items", []):
            name = urllib.parse.quote(item["name"], safe="")
            with urllib.request.urlopen(f"{host}/download/storage/v1/b/{bucket}/o/{name}?alt=media", timeout=10) as r:
                data = r.read()
            out.append((f"gs://{bucket}/{item['name']}", data))
            if item["name"].endswith(".gz"):
                out.append((f"gs://{bucket}/{item['name']} (gunzipped)", gzip.decompress(data)))
        token = page.get("nextPageToken") or ""
        if not token:
            return out


def assert_nowhere(secrets: dict[str, str], places: list[tuple[str, bytes]]) -> None:
    assert len(places) > 20, "nothing was searched"
    for name, secret in secrets.items():
        for where, data in places:
            assert secret.encode() not in data, f"{name} leaked into {where}"


def _exercise(run: Runner, data: Path, secrets: dict[str, str], *, refs: str | None, full: bool = True) -> None:
    """Every kind of write, read and failure, all with --debug (``full=False``: the writes and
    one failure, for the credential sources whose reads and errors the full run already covers)."""
    ci = {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "77", "GITHUB_REPOSITORY": "org/repo", "GITHUB_JOB": "train",
          "GITHUB_SERVER_URL": f"https://ci-bot:{secrets['CiSecret']}@ghe.example.com"}
    started = run("run", "start", "--id", "job-1", "--job-type", "train", "--json", env=ci)
    assert started.returncode == 0, started.stderr
    # a URL with user-info on the command line: the run records its command line and its name
    named = run("run", "start", "--id", "job-2", "--name", f"https://bot:{secrets['UrlSecret']}@ci.example/job/2")
    assert named.returncode == 0, named.stderr
    job = {"ARTCLI_RUN_ID": "job-1"}
    log = run("log", "ds", str(data), "--alias", "best", "--metadata", "acc=0.9", "--json", env=job)
    assert log.returncode == 0, log.stderr
    writes: list[tuple[str, ...]] = [("download", "ds", "--root", str(run.home / "out"), "--json"),
                                     ("alias", "add", "ds:v0", "prod"),
                                     ("metadata", "set", "ds:v0", "epochs=3", "weights:size=1KiB"),
                                     ("link", "ds:v0", "registry/datasets/c"), ("use", "ds:v0")]
    if refs:
        writes.append(("add-ref", "refs", refs))
    for args, r in zip(writes, run.many(writes, env=job), strict=True):
        assert r.returncode == 0, (args, r.stderr)
    reads: list[tuple[str, ...]] = [("show", "ds", "--json"), ("ls", "--json"), ("files", "ds", "--json"),
                                    ("history", "ds", "--json"), ("run", "show", "job-1", "--json"),
                                    ("metadata", "ls", "ds:v0", "--json")]
    failing: list[tuple[str, ...]] = [  # each prints an error (and with --debug a traceback)
        ("download", "no-such-artifact"),
        ("download", "bad::ref"),
        ("metadata", "set", "ds:v0", f"src:uri=https://user:{secrets['UrlSecret']}@host.example/x"),
        ("add-ref", "web", f"http://user:{secrets['UrlSecret']}@127.0.0.1:9/file.bin"),
        ("add-ref", "signed", f"https://127.0.0.1:9/f.bin?X-Amz-Signature={secrets['UrlSecret']}&X-Amz-Credential=x"),
    ]
    if not full:
        reads, failing = [("show", "ds", "--json")], failing[:1]
    results = run.many(reads + failing, env=job)
    for args, r in zip(reads, results, strict=False):
        assert r.returncode == 0, (args, r.stderr)
    for args, r in zip(failing, results[len(reads):], strict=True):
        assert r.returncode != 0, args


@pytest.fixture
def secrets() -> dict[str, str]:
    return _secrets()


def _google_env(tmp_path: Path, secrets: dict[str, str]) -> dict[str, str]:
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": "p", "private_key_id": "k",
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{secrets['GoogleKey']}\n-----END PRIVATE KEY-----\n",
        "client_email": "sa@p.iam.gserviceaccount.com", "token_uri": "https://127.0.0.1:9/token"}))
    return {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file), "GOOGLE_OAUTH_ACCESS_TOKEN": secrets["GoogleToken"],
            "CLOUDSDK_AUTH_ACCESS_TOKEN": secrets["GoogleToken"]}


def test_environment_credentials_never_leak_s3(tmp_path: Path, s3_bucket: str, secrets: dict[str, str]) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    for i in range(3):
        s3.put_object(Bucket=s3_bucket, Key=f"src/part-{i}.csv", Body=f"row {i}\n".encode())
    env = {"AWS_SECRET_ACCESS_KEY": secrets["AwsSecret"], "AWS_SESSION_TOKEN": secrets["AwsToken"],
           **_google_env(tmp_path, secrets)}
    home = tmp_path / "home"
    home.mkdir()
    run = Runner(home, f"s3://{s3_bucket}/artcli", env)
    data = make_tree(tmp_path / "data", {"a.txt": b"a\n", "big.bin": os.urandom((1 << 20) + 1)})
    _exercise(run, data, secrets, refs=f"s3://{s3_bucket}/src/")
    # remote errors too: a missing bucket, a dead endpoint
    assert run("ls", "-r", "s3://no-such-bucket-artcli/x").returncode != 0
    assert run("download", "ds", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}).returncode == 6
    places = [(f"output {i}", b) for i, b in enumerate(run.outputs)] + _every_byte(home) + _bucket_bytes(s3_bucket)
    assert_nowhere(secrets, places)
    assert any(b"Traceback" in b for b in run.outputs), "--debug tracebacks were searched too"


def test_profile_file_credentials_never_leak(tmp_path: Path, s3_bucket: str, secrets: dict[str, str]) -> None:
    creds = tmp_path / "aws-credentials"
    creds.write_text(f"[leaky]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {secrets['ProfileSecret']}\n"
                     f"aws_session_token = {secrets['ProfileToken']}\n")
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_PROFILE": "leaky"}
    home = tmp_path / "home"
    home.mkdir()
    # no credentials in the environment: the profile is what botocore must use
    run = Runner(home, f"s3://{s3_bucket}/artcli", env,
                 unset=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"))
    data = make_tree(tmp_path / "data", {"a.txt": b"profile\n"})
    _exercise(run, data, secrets, refs=None, full=False)
    assert run("download", "ds", env={"AWS_PROFILE": "no-such-profile"}).returncode == 6
    places = [(f"output {i}", b) for i, b in enumerate(run.outputs)] + _every_byte(home) + _bucket_bytes(s3_bucket)
    assert_nowhere(secrets, places)


def test_google_credentials_never_leak(tmp_path: Path, gcs_bucket: str, secrets: dict[str, str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    run = Runner(home, f"gs://{gcs_bucket}/artcli", _google_env(tmp_path, secrets))
    data = make_tree(tmp_path / "data", {"a.txt": b"gcs\n"})
    _exercise(run, data, secrets, refs=None, full=False)
    # a remote that must use the planted key file: its failure must not quote the key
    assert run("remote", "add", "adc", f"gs://{gcs_bucket}/artcli", "--option", "token=google_default").returncode == 0
    assert run("ls", "-r", "adc").returncode != 0
    places = [(f"output {i}", b) for i, b in enumerate(run.outputs)] + _every_byte(home) + _gcs_bytes(gcs_bucket)
    assert_nowhere(secrets, places)


def test_file_remote_tree_is_searched(tmp_path: Path, secrets: dict[str, str]) -> None:
    """On a folder remote the whole tree is plain files: search it byte for byte."""
    home = tmp_path / "home"
    home.mkdir()
    remote = tmp_path / "remote"
    run = Runner(home, remote.as_uri(), {"AWS_SECRET_ACCESS_KEY": secrets["AwsSecret"],
                                          "AWS_SESSION_TOKEN": secrets["AwsToken"], **_google_env(tmp_path, secrets)})
    data = make_tree(tmp_path / "data", {"a.txt": b"file\n", "b/c.txt": b"c\n"})
    src = make_tree(tmp_path / "src", {"ref.csv": b"1,2\n"})
    _exercise(run, data, secrets, refs=src.as_uri(), full=False)
    places = [(f"output {i}", b) for i, b in enumerate(run.outputs)] + _every_byte(home) + _every_byte(remote)
    assert any(w.endswith("(gunzipped)") for w, _ in places), "manifests were searched decompressed"
    assert_nowhere(secrets, places)
