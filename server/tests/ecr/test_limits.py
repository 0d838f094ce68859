"""The ECR API answers LimitExceededException, naming the limit, when a call
would go over one of the registry's limits (open uploads per user, blob size,
tags per image), and InvalidParameterException for an image of more than
127 layers; each refusal changes nothing. (The registry API's answers to
the same limits are tested in tests/limits.rs.)"""

import hashlib
import os

import pytest

from conftest import Registry, Server, expect_error, make_ecr, unique_name


@pytest.fixture
def small(tmp_path):
    """A server allowing 3 tags per image, 2 open uploads a user, 1000-byte blobs."""
    srv = Server(
        tmp_path,
        env={
            "BERTH_MAX_TAGS_PER_IMAGE": "3",
            "BERTH_MAX_UPLOADS_PER_USER": "2",
            "BERTH_MAX_BLOB_SIZE": "1000",
        },
    )
    yield srv
    srv.stop()


@pytest.fixture
def ecr_small(small):
    key = small.create_access_key()
    return make_ecr(small, key["accessKeyId"], key["secretAccessKey"])


def test_open_uploads_per_user_are_limited(small, ecr_small):
    name = unique_name("uploads")
    ecr_small.create_repository(repositoryName=name)
    first = ecr_small.initiate_layer_upload(repositoryName=name)["uploadId"]
    ecr_small.initiate_layer_upload(repositoryName=name)
    error = expect_error("LimitExceededException", ecr_small.initiate_layer_upload, repositoryName=name)
    assert "max_uploads_per_user" in error.response["Error"]["Message"]
    # Completing one frees its place.
    part = os.urandom(100)
    ecr_small.upload_layer_part(
        repositoryName=name, uploadId=first, partFirstByte=0, partLastByte=99, layerPartBlob=part
    )
    digest = "sha256:" + hashlib.sha256(part).hexdigest()
    ecr_small.complete_layer_upload(repositoryName=name, uploadId=first, layerDigests=[digest])
    assert ecr_small.initiate_layer_upload(repositoryName=name)["uploadId"]


def test_a_layer_cannot_grow_past_the_blob_size_limit(small, ecr_small):
    name = unique_name("size")
    ecr_small.create_repository(repositoryName=name)
    upload = ecr_small.initiate_layer_upload(repositoryName=name)["uploadId"]
    ecr_small.upload_layer_part(
        repositoryName=name, uploadId=upload, partFirstByte=0, partLastByte=599, layerPartBlob=os.urandom(600)
    )
    error = expect_error(
        "LimitExceededException",
        ecr_small.upload_layer_part,
        repositoryName=name,
        uploadId=upload,
        partFirstByte=600,
        partLastByte=1199,
        layerPartBlob=os.urandom(600),
    )
    assert "1000 bytes" in error.response["Error"]["Message"]
    # The upload still holds its first 600 bytes and takes the rest up to the limit.
    last = ecr_small.upload_layer_part(
        repositoryName=name, uploadId=upload, partFirstByte=600, partLastByte=999, layerPartBlob=os.urandom(400)
    )
    assert last["lastByteReceived"] == 999


def test_tags_per_image_are_limited(small, ecr_small):
    name = unique_name("tags")
    ecr_small.create_repository(repositoryName=name)
    image = Registry(small).push_image(name, "a")
    for tag in ["b", "c"]:
        ecr_small.put_image(repositoryName=name, imageManifest=image.manifest_text, imageTag=tag)
    error = expect_error(
        "LimitExceededException",
        ecr_small.put_image,
        repositoryName=name,
        imageManifest=image.manifest_text,
        imageTag="d",
    )
    assert "max_tags_per_image" in error.response["Error"]["Message"]
    tags = ecr_small.describe_images(repositoryName=name)["imageDetails"][0]["imageTags"]
    assert sorted(tags) == ["a", "b", "c"]


def test_an_image_of_128_layers_is_refused(small, ecr_small):
    name = unique_name("layers")
    ecr_small.create_repository(repositoryName=name)
    reg = Registry(small)
    layer = reg.push_blob(name, os.urandom(10))
    config = reg.push_config(name, [layer])
    body = reg.image_manifest(config, [layer] * 128)
    error = expect_error(
        "InvalidParameterException",
        ecr_small.put_image,
        repositoryName=name,
        imageManifest=body.decode(),
        imageTag="over",
    )
    assert "at most 127" in error.response["Error"]["Message"]
    assert ecr_small.describe_images(repositoryName=name)["imageDetails"] == []
