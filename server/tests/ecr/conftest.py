"""Shared fixtures and helpers for the ECR API tests.

These tests drive a real `berth serve` with the real AWS CLI (v1) and boto3,
the way an operator's scripts would: `POST /` with
`X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>`, signed with SigV4
for the service `ecr`. Images are pushed without docker through the OCI
registry API under /v2/ (HTTP Basic as the admin user).

Fixtures:
  server   the running Berth (session): url, host, port, data_dir,
           admin_password, admin(*args) to run `berth …` admin commands
  keys     an access key of the admin user (session)
  ecr      a boto3 ECR client signed with `keys` (session)
  aws      the AWS CLI: aws("ecr", "list-images", …) -> parsed JSON
  registry the /v2/ API as admin: push_image, push_index, push_referrer, …
  repo     a new, empty, MUTABLE repository named after the test
  new_repo a factory: new_repo(**CreateRepository arguments) -> name

Environment: BERTH_BIN (default <repo>/target/debug/berth).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[3]
ADMIN_PASSWORD = "ecr-test-admin-password-1"
REGION = "us-east-1"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ALL_MANIFEST_TYPES = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST])

ARN_RE = re.compile(r"^arn:aws:ecr:us-east-1:(\d{12}):repository/(.+)$")
REGISTRY_ID_RE = re.compile(r"^\d{12}$")
UPLOAD_ID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# How long any one request or command may take before the test fails.
TIMEOUT = 120


# --------------------------------------------------------------------------
# small helpers


def record_secret(value: str) -> None:
    """Notes a secret the tests know, when BERTH_TEST_LOG_DIR asks for them:
    .ci/secrets-grep.sh fails the run if any appears in a server's log."""
    folder = os.environ.get("BERTH_TEST_LOG_DIR")
    if folder and value:
        with open(Path(folder) / "secrets", "a", encoding="utf-8") as f:
            f.write(value + "\n")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def absent_digest() -> str:
    """A well-formed digest of content no test uploads."""
    return sha256_digest(os.urandom(32))


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def assert_recent(when: dt.datetime, slack_seconds: float = 300) -> None:
    """`when` (a timestamp botocore parsed) is within a few minutes of now."""
    assert isinstance(when, dt.datetime), f"not a timestamp: {when!r}"
    delta = abs((when - now()).total_seconds())
    assert delta < slack_seconds, f"{when} is {delta:.0f} s away from now"


def expect_error(code: str, call, *args, status: int = 400, **kwargs) -> ClientError:
    """Calls `call(*args, **kwargs)`, asserts it fails with the ECR error `code`
    and HTTP `status` (AWS answers client faults with 400), returns the error."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    error = info.value
    got = error.response["Error"]["Code"]
    assert got == code, f"expected {code}, got {got}: {error.response}"
    got_status = error.response["ResponseMetadata"]["HTTPStatusCode"]
    assert got_status == status, f"{code} came with HTTP {got_status}, expected {status}"
    assert error.response["Error"].get("Message"), f"{code} has no message: {error.response}"
    return error


def slug(text: str, limit: int = 40) -> str:
    """A repository-name-safe form of `text`."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].strip("-") or "t"


def unique_name(prefix: str) -> str:
    return f"{slug(prefix)}-{uuid.uuid4().hex[:8]}"


def clean_env(**extra: str) -> dict:
    """The environment for child processes: no BERTH_* or AWS_* from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BERTH_", "AWS_"))}
    env.update(extra)
    return env


# --------------------------------------------------------------------------
# the server


def berth_binary() -> Path:
    path = Path(os.environ.get("BERTH_BIN") or REPO_ROOT / "target" / "debug" / "berth")
    if not path.is_file():
        pytest.exit(
            f"Berth binary {path} not found: build it (cargo build -p berth) or set BERTH_BIN",
            returncode=2,
        )
    return path


class Server:
    """A running `berth serve` on a free loopback port with its own data dir."""

    def __init__(self, workdir: Path, env: dict | None = None):
        self.bin = berth_binary()
        self.data_dir = workdir / "data"
        # An existing data dir is a restart of the same installation.
        self.data_dir.mkdir(exist_ok=True)
        # With BERTH_TEST_LOG_DIR (make test), the log is kept there for the secrets grep.
        log_dir = os.environ.get("BERTH_TEST_LOG_DIR")
        self.log_path = Path(log_dir) / f"ecr-{uuid.uuid4().hex}.log" if log_dir else workdir / "berth.log"
        self.admin_password = ADMIN_PASSWORD
        record_secret(ADMIN_PASSWORD)
        self._log = open(self.log_path, "ab", buffering=0)
        self.proc = subprocess.Popen(
            [str(self.bin), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            # No test server downloads the vulnerability database from the internet.
            env=clean_env(
                BERTH_ADMIN_PASSWORD=ADMIN_PASSWORD,
                RUST_LOG="berth=info,warn",
                **{"BERTH_VULNDB_INTERVAL": "0", **(env or {})},
            ),
            cwd=REPO_ROOT,
        )
        found: queue.Queue = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(found,), daemon=True).start()
        try:
            self.url = found.get(timeout=60)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"berth did not print its address within 60 s:\n{self.log_tail()}")
        if self.url is None:
            self.stop()
            raise RuntimeError(f"berth exited before listening:\n{self.log_tail()}")
        assert self.url.startswith("http://127.0.0.1:"), self.url
        self.host = self.url[len("http://"):]
        self.port = int(self.host.rsplit(":", 1)[1])

    def _read_stdout(self, found: queue.Queue) -> None:
        sent = False
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            self._log.write(b"[stdout] " + raw)
            prefix = "Berth is listening on "
            if not sent and line.startswith(prefix):
                found.put(line[len(prefix):].strip())
                sent = True
        if not sent:
            found.put(None)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def admin(self, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Runs `berth ARGS… --data-dir DATA` against this server's data dir."""
        result = subprocess.run(
            [str(self.bin), *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            env=clean_env(**(env or {})),
            timeout=TIMEOUT,
            cwd=REPO_ROOT,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"`berth {' '.join(args)}` exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def create_access_key(self, user: str = "admin") -> dict:
        out = self.admin("access-key", "create", user, "--json").stdout
        key = json.loads(out)
        assert key["accessKeyId"].startswith("AKIA"), key
        assert key["secretAccessKey"], key
        assert key["userName"] == user, key
        record_secret(key["secretAccessKey"])
        return key

    def list_access_keys(self, user: str = "admin") -> list:
        return json.loads(self.admin("access-key", "list", user, "--json").stdout)

    def delete_access_key(self, access_key_id: str, user: str = "admin") -> None:
        self.admin("access-key", "delete", user, access_key_id)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()


@pytest.fixture(scope="session")
def aws_home(tmp_path_factory) -> Path:
    """Empty AWS config and credentials files, so nothing from ~/.aws leaks in."""
    home = tmp_path_factory.mktemp("aws-home")
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    return home


@pytest.fixture(scope="session", autouse=True)
def isolated_aws_environment(aws_home):
    """boto3 in this process sees only what the tests give it."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("AWS_"):
                mp.delenv(key)
        mp.setenv("AWS_CONFIG_FILE", str(aws_home / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_home / "credentials"))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        yield


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    # Tests save lifecycle policies and then look at the images; the server must
    # not apply those policies under them (test_lifecycle_applied.py covers that).
    # The suite makes calls as fast as boto3 goes, without retries; the rate
    # limit has tests of its own (test_throttling.py), on servers of their own.
    srv = Server(
        tmp_path_factory.mktemp("berth"),
        env={"BERTH_LIFECYCLE_DELAY_AFTER_SAVE": "86400", "BERTH_RATE_LIMIT": "0"},
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def keys(server) -> dict:
    """An access key of the admin user: {"accessKeyId", "secretAccessKey", …}."""
    return server.create_access_key()


# --------------------------------------------------------------------------
# clients


def make_ecr(
    server: Server,
    access_key_id: str | None = None,
    secret: str | None = None,
    unsigned: bool = False,
    validate: bool = True,
):
    """A boto3 ECR client for `server`: signed with the given key, or unsigned.
    With `validate=False` botocore sends parameters it would refuse itself
    (maxResults 0, an empty list), so the server's own checks are tested."""
    config = Config(
        region_name=REGION,
        retries={"total_max_attempts": 1},
        connect_timeout=10,
        read_timeout=TIMEOUT,
        signature_version=UNSIGNED if unsigned else None,
        parameter_validation=validate,
    )
    session = boto3.session.Session(
        aws_access_key_id=None if unsigned else access_key_id,
        aws_secret_access_key=None if unsigned else secret,
        region_name=REGION,
    )
    return session.client("ecr", endpoint_url=server.url, config=config)


@pytest.fixture(scope="session")
def ecr(server, keys):
    return make_ecr(server, keys["accessKeyId"], keys["secretAccessKey"])


class AwsCliError(AssertionError):
    def __init__(self, args, result):
        self.result = result
        self.stderr = result.stderr
        super().__init__(f"`aws {' '.join(args)}` exited {result.returncode}:\n{result.stderr}")


def aws_binary() -> str:
    beside = Path(sys.executable).parent / "aws"
    if beside.is_file():
        return str(beside)
    found = shutil.which("aws")
    if not found:
        pytest.exit("the AWS CLI is not installed: run .ci/python.sh and use its venv's pytest", returncode=2)
    return found


class AwsCli:
    """The AWS CLI pointed at the server, with a throwaway config.

    aws("ecr", "describe-repositories") -> parsed JSON (None for no output)
    aws.text("ecr", "get-login-password") -> stdout as text
    aws.fail("ecr", …) -> stderr of a command that must fail
    aws.run(…, access_key_id=…, secret=…) -> CompletedProcess, whatever happened
    """

    def __init__(self, server: Server, keys: dict, home: Path):
        self.server = server
        self.keys = keys
        self.home = home
        self.bin = aws_binary()

    def env(self, access_key_id: str | None = None, secret: str | None = None) -> dict:
        return clean_env(
            AWS_ACCESS_KEY_ID=access_key_id or self.keys["accessKeyId"],
            AWS_SECRET_ACCESS_KEY=secret or self.keys["secretAccessKey"],
            AWS_DEFAULT_REGION=REGION,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=str(self.home / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.home / "credentials"),
            AWS_MAX_ATTEMPTS="1",
            AWS_RETRY_MODE="standard",
        )

    def run(self, *args: str, input: str | None = None, access_key_id=None, secret=None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.bin, *args, "--endpoint-url", self.server.url, "--output", "json"],
            capture_output=True,
            text=True,
            input=input,
            env=self.env(access_key_id, secret),
            timeout=TIMEOUT,
        )

    def text(self, *args: str, **kwargs) -> str:
        result = self.run(*args, **kwargs)
        if result.returncode != 0:
            raise AwsCliError(args, result)
        return result.stdout

    def __call__(self, *args: str, **kwargs):
        out = self.text(*args, **kwargs)
        return json.loads(out) if out.strip() else None

    def fail(self, *args: str, **kwargs) -> str:
        result = self.run(*args, **kwargs)
        assert result.returncode != 0, f"`aws {' '.join(args)}` succeeded but should fail:\n{result.stdout}"
        return result.stderr


@pytest.fixture(scope="session")
def aws(server, keys, aws_home) -> AwsCli:
    return AwsCli(server, keys, aws_home)


# --------------------------------------------------------------------------
# repositories


@pytest.fixture
def new_repo(ecr, request):
    """new_repo(**CreateRepository args) -> the name of a fresh repository.
    Names start with the test's name, so a failure points at its test."""

    def create(prefix: str | None = None, **kwargs) -> str:
        name = unique_name(prefix or request.node.name)
        ecr.create_repository(repositoryName=name, **kwargs)
        return name

    return create


@pytest.fixture
def repo(new_repo) -> str:
    """A fresh, empty, MUTABLE repository."""
    return new_repo()


# --------------------------------------------------------------------------
# the registry API (/v2/) for pushing and pulling test images


@dataclass
class Image:
    """An image (or index, or artifact) pushed through /v2/."""

    repository: str
    tag: str | None
    digest: str
    manifest: bytes
    media_type: str
    config: dict | None = None
    layers: list = field(default_factory=list)

    @property
    def manifest_text(self) -> str:
        return self.manifest.decode("utf-8")

    @property
    def size(self) -> int:
        """What ECR reports as imageSizeInBytes: the sum of the layer sizes."""
        return sum(layer["size"] for layer in self.layers)

    @property
    def descriptor(self) -> dict:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest)}


def files_layer(files: dict) -> bytes:
    """A gzip tar of `files` ({path: bytes}), with their parent directories,
    as an image layer holds them."""
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = sorted({"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def machine_os_files() -> dict:
    """This machine's own os-release files and dpkg database: real package
    data for an image's layer."""
    files = {}
    for path in ["etc/os-release", "usr/lib/os-release", "var/lib/dpkg/status"]:
        source = Path("/") / path
        # /etc/os-release is usually a link to ../usr/lib/os-release.
        files[path] = source.resolve().read_bytes()
    return files


# The apk database of a real Alpine 3.18 image (see the README beside it).
ALPINE_INSTALLED = Path(__file__).parents[2] / "src/scan/packages/testdata/alpine-3.18-aarch64.installed"
# /etc/os-release of the alpine:3.18.4 image.
ALPINE_OS_RELEASE = (
    b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME="Alpine Linux v3.18"\n'
    b'HOME_URL="https://alpinelinux.org/"\nBUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"\n'
)


def alpine_files() -> dict:
    """A real Alpine 3.18 image's os-release and apk database: real package
    data for an image's layer."""
    return {"etc/os-release": ALPINE_OS_RELEASE, "lib/apk/db/installed": ALPINE_INSTALLED.read_bytes()}


def apk_packages(installed: bytes) -> list[tuple[str, str, str]]:
    """(name, version, origin) of each package of an apk database."""
    packages = []
    for stanza in installed.decode().split("\n\n"):
        fields = dict(line.split(":", 1) for line in stanza.splitlines() if line[1:2] == ":")
        if "P" in fields:
            packages.append((fields["P"], fields["V"], fields.get("o", fields["P"])))
    return packages


def manifest_bytes(doc: dict) -> bytes:
    return json.dumps(doc, indent=3).encode("utf-8")


class Registry:
    """The OCI registry API of the server, as the admin user (HTTP Basic)."""

    def __init__(self, server: Server, auth=None):
        self.server = server
        self.http = requests.Session()
        self.http.auth = auth or ("admin", server.admin_password)

    def url(self, path: str) -> str:
        return f"{self.server.url}{path}"

    def push_blob(self, name: str, data: bytes, media_type: str = OCI_LAYER) -> dict:
        """A monolithic blob upload; returns the blob's descriptor."""
        digest = sha256_digest(data)
        r = self.http.post(
            self.url(f"/v2/{name}/blobs/uploads/"),
            params={"digest": digest},
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=TIMEOUT,
        )
        assert r.status_code == 201, f"blob push to {name} answered {r.status_code}: {r.text}"
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def put_manifest(self, name: str, reference: str, body: bytes, media_type: str = OCI_MANIFEST) -> requests.Response:
        return self.http.put(
            self.url(f"/v2/{name}/manifests/{reference}"),
            data=body,
            headers={"Content-Type": media_type},
            timeout=TIMEOUT,
        )

    def push_manifest(self, name: str, reference: str, body: bytes, media_type: str = OCI_MANIFEST) -> str:
        r = self.put_manifest(name, reference, body, media_type)
        assert r.status_code == 201, f"manifest push {name}:{reference} answered {r.status_code}: {r.text}"
        digest = sha256_digest(body)
        assert r.headers.get("Docker-Content-Digest") == digest, r.headers
        return digest

    def get_manifest(self, name: str, reference: str, auth=None) -> requests.Response:
        return self.http.get(
            self.url(f"/v2/{name}/manifests/{reference}"),
            headers={"Accept": ALL_MANIFEST_TYPES},
            auth=auth,
            timeout=TIMEOUT,
        )

    def get_blob(self, name: str, digest: str) -> requests.Response:
        return self.http.get(self.url(f"/v2/{name}/blobs/{digest}"), timeout=TIMEOUT)

    def push_config(self, name: str, layers: list, extra: dict | None = None) -> dict:
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": extra or {}},
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        }
        return self.push_blob(name, json.dumps(config).encode(), OCI_CONFIG)

    def image_manifest(self, config: dict, layers: list, annotations: dict | None = None, **extra) -> bytes:
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers}
        if annotations:
            doc["annotations"] = annotations
        doc.update(extra)
        return manifest_bytes(doc)

    def push_image(self, name: str, tag: str | None = "latest", layers: int = 1, *, layer_size: int = 512) -> Image:
        """An OCI image of `layers` layers of fresh random bytes (so no two images
        share a digest); tagged `tag`, or pushed by digest when `tag` is None."""
        descs = [self.push_blob(name, os.urandom(layer_size + 37 * i)) for i in range(layers)]
        config = self.push_config(name, descs)
        body = self.image_manifest(config, descs)
        digest = self.push_manifest(name, tag or sha256_digest(body), body)
        return Image(name, tag, digest, body, OCI_MANIFEST, config, descs)

    def push_files_image(
        self, name: str, tag: str | None, files: dict, *, media_type: str = OCI_LAYER, layer: bytes | None = None
    ) -> Image:
        """An OCI image of one layer holding `files` ({path: bytes}), as a gzip
        tar unless `layer` gives the layer's bytes as they are."""
        if layer is None:
            layer = files_layer(files)
        desc = self.push_blob(name, layer, media_type)
        config = self.push_config(name, [desc])
        body = self.image_manifest(config, [desc])
        digest = self.push_manifest(name, tag or sha256_digest(body), body)
        return Image(name, tag, digest, body, OCI_MANIFEST, config, [desc])

    def push_many(self, name: str, tags: list) -> list:
        """One image per tag, fast: all share one config and one layer and
        differ by an annotation. Returns the Images."""
        layer = self.push_blob(name, os.urandom(256))
        config = self.push_config(name, [layer])
        images = []
        for i, tag in enumerate(tags):
            body = self.image_manifest(config, [layer], annotations={"org.example.n": str(i)})
            digest = self.push_manifest(name, tag, body)
            images.append(Image(name, tag, digest, body, OCI_MANIFEST, config, [layer]))
        return images

    def push_index(self, name: str, tag: str | None, children: list) -> Image:
        """An OCI image index over `children` (Images already pushed to `name`)."""
        manifests = []
        for i, child in enumerate(children):
            desc = dict(child.descriptor)
            desc["platform"] = {"architecture": ["amd64", "arm64", "riscv64", "s390x"][i % 4], "os": "linux"}
            manifests.append(desc)
        body = manifest_bytes({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
        digest = self.push_manifest(name, tag or sha256_digest(body), body, OCI_INDEX)
        return Image(name, tag, digest, body, OCI_INDEX)

    def push_referrer(self, name: str, subject: Image, artifact_type: str, annotations: dict | None = None) -> Image:
        """An OCI artifact (empty config, one small blob) whose subject is `subject`."""
        config = self.push_blob(name, b"{}", OCI_EMPTY)
        blob = self.push_blob(name, os.urandom(64), "text/plain")
        body = self.image_manifest(
            config,
            [blob],
            annotations=annotations,
            artifactType=artifact_type,
            subject=subject.descriptor,
        )
        digest = self.push_manifest(name, sha256_digest(body), body)
        return Image(name, None, digest, body, OCI_MANIFEST, config, [blob])


@pytest.fixture(scope="session")
def registry(server) -> Registry:
    return Registry(server)


def basic_auth_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def list_image_ids(ecr, name: str, **kwargs) -> list:
    """Every imageId of ListImages, through the paginator."""
    ids = []
    for page in ecr.get_paginator("list_images").paginate(repositoryName=name, **kwargs):
        ids.extend(page["imageIds"])
    return ids


# --------------------------------------------------------------------------
# users, permission policies and authorization (test_policies, test_authz)

MANAGED_POLICY_ARN_PREFIX = "arn:aws:iam::aws:policy/"
FULL_ACCESS = "AmazonEC2ContainerRegistryFullAccess"
POWER_USER = "AmazonEC2ContainerRegistryPowerUser"
READ_ONLY = "AmazonEC2ContainerRegistryReadOnly"
PULL_ONLY = "AmazonEC2ContainerRegistryPullOnly"


@pytest.fixture(scope="session")
def registry_id(ecr) -> str:
    """The server's 12-digit registry (account) id."""
    rid = ecr.describe_registry()["registryId"]
    assert REGISTRY_ID_RE.match(rid), rid
    return rid


def repository_arn(registry_id: str, name: str) -> str:
    return f"arn:aws:ecr:{REGION}:{registry_id}:repository/{name}"


def user_arn(registry_id: str, name: str) -> str:
    return f"arn:aws:iam::{registry_id}:user/{name}"


def policy_text(*statements: dict, version: str = "2012-10-17") -> str:
    """An IAM policy document as JSON text."""
    return json.dumps({"Version": version, "Statement": list(statements)})


@dataclass
class User:
    """A Berth user made for one test, with a password and an access key."""

    server: Server
    name: str
    password: str
    arn: str
    access_key_id: str = ""
    secret: str = ""

    @property
    def ecr(self):
        """A boto3 ECR client signed with this user's access key."""
        if not hasattr(self, "_ecr"):
            self._ecr = make_ecr(self.server, self.access_key_id, self.secret)
        return self._ecr

    def registry(self, auth=None) -> "Registry":
        """The /v2/ API as this user (HTTP Basic NAME:PASSWORD unless `auth`)."""
        return Registry(self.server, auth=auth or (self.name, self.password))

    def attach(self, policy: str) -> None:
        self.server.admin("user", "attach-policy", self.name, policy)

    def detach(self, policy: str) -> None:
        self.server.admin("user", "detach-policy", self.name, policy)

    def put_policy(self, policy_name: str, text: str, workdir: Path) -> None:
        """Puts an inline identity policy (through a file, as an operator would)."""
        path = workdir / f"{self.name}-{policy_name}.json"
        path.write_text(text)
        self.server.admin("user", "put-policy", self.name, policy_name, "--file", str(path))

    def policies(self) -> list:
        return json.loads(self.server.admin("user", "policies", self.name, "--json").stdout)


def create_user(server: Server, registry_id: str, prefix: str, *policies: str, key: bool = True) -> User:
    """A new user named PREFIX-<random>, made with `berth user create NAME
    --policy P…` (password from BERTH_USER_PASSWORD), with an access key
    unless key=False."""
    name = unique_name(prefix)
    password = "pw-" + uuid.uuid4().hex
    record_secret(password)
    args = ["user", "create", name]
    for p in policies:
        args += ["--policy", p]
    server.admin(*args, env={"BERTH_USER_PASSWORD": password})
    user = User(server, name, password, user_arn(registry_id, name))
    if key:
        created = server.create_access_key(name)
        user.access_key_id = created["accessKeyId"]
        user.secret = created["secretAccessKey"]
    return user


def delete_user(server: Server, user: User) -> None:
    server.admin("user", "delete", user.name, check=False)


@pytest.fixture
def new_user(server, registry_id, request):
    """new_user(prefix=None, *managed_policies, key=True) -> a User (see
    create_user), deleted again after the test."""
    made = []

    def create(prefix: str | None = None, *policies: str, key: bool = True) -> User:
        user = create_user(server, registry_id, prefix or request.node.name, *policies, key=key)
        made.append(user)
        return user

    yield create
    for user in made:
        delete_user(server, user)


def expect_denied(user: User, action: str, resource: str, call, *args, **kwargs) -> ClientError:
    """`call` fails with AccessDeniedException (HTTP 403) naming the user,
    the action (`ecr:Op`) and the resource ARN (or `*`)."""
    error = expect_error("AccessDeniedException", call, *args, status=403, **kwargs)
    message = error.response["Error"]["Message"]
    expected = f"User: {user.arn} is not authorized to perform: {action} on resource: {resource}"
    assert message.startswith(expected), f"message {message!r} does not start with {expected!r}"
    return error


def assert_registry_denied(response: requests.Response) -> None:
    """A /v2/ answer is HTTP 403 with the OCI error code DENIED."""
    assert response.status_code == 403, f"expected 403 DENIED, got {response.status_code}: {response.text}"
    codes = [e.get("code") for e in response.json().get("errors", [])]
    assert codes == ["DENIED"], response.text
