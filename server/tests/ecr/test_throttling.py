"""Failed signatures are throttled per access key and source, requests per
user are rate-limited, and an upload with no parts cannot be completed."""

import os
import subprocess
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Server, aws_binary, expect_error, make_ecr


@pytest.fixture
def limited(tmp_path):
    """A server allowing each user 2 requests a second, 4 at once."""
    srv = Server(tmp_path, env={"BERTH_RATE_LIMIT": "2", "BERTH_RATE_BURST": "4"})
    yield srv
    srv.stop()


def test_a_user_over_the_rate_limit_gets_throttling_exception(limited):
    key = limited.create_access_key()
    ecr = make_ecr(limited, key["accessKeyId"], key["secretAccessKey"])
    for _ in range(4):
        assert ecr.describe_registry()["registryId"]
    error = expect_error("ThrottlingException", ecr.describe_registry)
    message = error.response["Error"]["Message"]
    assert "2 requests a second" in message and "4 at once" in message, message
    # A token comes back every half second.
    time.sleep(0.6)
    assert ecr.describe_registry()["registryId"]


def test_the_aws_cli_sees_throttling_exception(limited):
    key = limited.create_access_key()
    ecr = make_ecr(limited, key["accessKeyId"], key["secretAccessKey"])
    # Keep the user's bucket empty while the CLI calls as the same user.
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            try:
                ecr.describe_registry()
            except ClientError:
                pass

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    try:
        time.sleep(0.5)
        env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID=key["accessKeyId"],
            AWS_SECRET_ACCESS_KEY=key["secretAccessKey"],
            AWS_MAX_ATTEMPTS="1",
            AWS_RETRY_MODE="standard",
        )
        command = [aws_binary(), "ecr", "describe-repositories", "--endpoint-url", limited.url]
        results = [
            subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
            for _ in range(2)
        ]
    finally:
        stop.set()
        drainer.join(timeout=10)
    refused = [r for r in results if r.returncode != 0]
    assert refused, "the CLI got through while the user was over the limit"
    for r in refused:
        assert "ThrottlingException" in r.stderr and "requests a second" in r.stderr, r.stderr


def test_repeated_bad_signatures_are_throttled_for_that_key_only(server, ecr):
    key = server.create_access_key()
    wrong = make_ecr(server, key["accessKeyId"], "not-the-secret-" + "x" * 25)
    for _ in range(10):
        expect_error("InvalidSignatureException", wrong.describe_registry, status=403)
    expect_error("ThrottlingException", wrong.describe_registry)
    right = make_ecr(server, key["accessKeyId"], key["secretAccessKey"])
    expect_error("ThrottlingException", right.describe_registry)
    # Other keys are not affected.
    assert ecr.describe_registry()["registryId"]


def test_completing_an_upload_without_parts_is_empty_upload(ecr, repo):
    upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    expect_error(
        "EmptyUploadException",
        ecr.complete_layer_upload,
        repositoryName=repo,
        uploadId=upload,
        layerDigests=["sha256:" + "0" * 64],
    )


def test_a_layer_part_over_20_mib_is_refused(ecr, repo):
    upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    part = b"x" * (20 * 1024 * 1024 + 1)
    expect_error(
        "InvalidParameterException",
        ecr.upload_layer_part,
        repositoryName=repo,
        uploadId=upload,
        partFirstByte=0,
        partLastByte=len(part) - 1,
        layerPartBlob=part,
    )
