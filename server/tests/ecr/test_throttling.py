"""Failed signatures are throttled per access key and source, and an upload
with no parts cannot be completed."""

from conftest import expect_error, make_ecr


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
