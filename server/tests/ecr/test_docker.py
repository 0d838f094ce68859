"""The README's flow with the real AWS CLI and the real docker CLI:
create an immutable repository, `aws ecr get-login-password | docker login`,
push, list, fail to overwrite an immutable tag, delete.

Needs a Docker daemon named by DOCKER_HOST (the Makefile starts a private one).
Without it this test FAILS; it never skips. Images are built FROM scratch with
the legacy builder (no network) and removed afterwards.
"""

import os
import subprocess
import uuid

import pytest

from conftest import TIMEOUT, clean_env

REPO = "team-a/web-app"


class Docker:
    def __init__(self, config_dir):
        host = os.environ.get("DOCKER_HOST", "")
        assert host, (
            "DOCKER_HOST is not set: this test needs a Docker daemon. Run it through `make test` "
            "(which starts a private dockerd) or start one with `.ci/dockerd.sh start DIR` and export "
            "the DOCKER_HOST it prints"
        )
        self.env = clean_env(DOCKER_CONFIG=str(config_dir), DOCKER_BUILDKIT="0", DOCKER_HOST=host)
        self.env.pop("DOCKER_CONTEXT", None)
        self.images = []
        version = self.run("version", "--format", "{{.Server.Version}}")
        assert version.returncode == 0, f"no Docker daemon answers at DOCKER_HOST={host}:\n{version.stderr}"

    def run(self, *args, input=None, cwd=None) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker", *args], capture_output=True, text=True, input=input, cwd=cwd, env=self.env, timeout=TIMEOUT * 3
        )

    def ok(self, *args, **kwargs) -> str:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, f"`docker {' '.join(args)}` failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def build(self, context, ref: str) -> None:
        """A FROM-scratch image with one COPY of a small file of fresh content."""
        context.mkdir()
        (context / "hello.txt").write_text(f"hello from {uuid.uuid4()}\n")
        (context / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
        image_id = self.ok("build", "--quiet", "--tag", ref, str(context)).strip()
        self.images.append(image_id or ref)

    def cleanup(self) -> None:
        if self.images:
            self.run("rmi", "--force", *self.images)


@pytest.fixture
def docker(tmp_path):
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    d = Docker(config_dir)
    yield d
    d.cleanup()


def test_docker_login_push_list_immutable_delete(aws, server, docker, tmp_path):
    created = aws(
        "ecr", "create-repository",
        "--repository-name", REPO,
        "--image-tag-mutability", "IMMUTABLE",
        "--image-scanning-configuration", "scanOnPush=true",
    )["repository"]
    assert created["repositoryUri"] == f"{server.host}/{REPO}"
    assert created["imageTagMutability"] == "IMMUTABLE"
    assert created["imageScanningConfiguration"] == {"scanOnPush": True}

    password = aws.text("ecr", "get-login-password")
    login = docker.ok("login", "--username", "AWS", "--password-stdin", server.host, input=password)
    assert "Login Succeeded" in login

    ref = f"{created['repositoryUri']}:v1"
    docker.build(tmp_path / "one", ref)
    docker.ok("push", ref)

    listed = aws("ecr", "list-images", "--repository-name", REPO)["imageIds"]
    assert [i["imageTag"] for i in listed] == ["v1"]
    digest = listed[0]["imageDigest"]
    assert digest.startswith("sha256:")

    # A different image under the same immutable tag is refused.
    docker.run("rmi", ref)
    docker.build(tmp_path / "two", ref)
    refused = docker.run("push", ref)
    assert refused.returncode != 0, f"pushing over an immutable tag succeeded:\n{refused.stdout}"
    assert "immutable" in (refused.stdout + refused.stderr).lower(), refused.stdout + refused.stderr
    listed = aws("ecr", "list-images", "--repository-name", REPO)["imageIds"]
    assert listed == [{"imageDigest": digest, "imageTag": "v1"}]

    deleted = aws("ecr", "batch-delete-image", "--repository-name", REPO, "--image-ids", "imageTag=v1")
    assert deleted["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    assert deleted["failures"] == []
    assert aws("ecr", "list-images", "--repository-name", REPO)["imageIds"] == []
