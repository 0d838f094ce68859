"""BatchCheckLayerAvailability and the ECR layer upload API
(InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload)."""

import os
import uuid

from conftest import (
    OCI_MANIFEST,
    UPLOAD_ID_RE,
    absent_digest,
    expect_error,
    sha256_digest,
    unique_name,
)

MIB = 1024 * 1024


def upload_layer(ecr, repo: str, data: bytes, part_size: int | None = None) -> str:
    """Uploads `data` through the ECR API in parts; returns its digest."""
    started = ecr.initiate_layer_upload(repositoryName=repo)
    upload_id = started["uploadId"]
    part_size = part_size or len(data)
    for first in range(0, len(data), part_size):
        chunk = data[first:first + part_size]
        out = ecr.upload_layer_part(
            repositoryName=repo,
            uploadId=upload_id,
            partFirstByte=first,
            partLastByte=first + len(chunk) - 1,
            layerPartBlob=chunk,
        )
        assert out["uploadId"] == upload_id
        assert out["lastByteReceived"] == first + len(chunk) - 1
    digest = sha256_digest(data)
    done = ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest])
    assert done["layerDigest"] == digest
    assert done["uploadId"] == upload_id
    assert done["repositoryName"] == repo
    return digest


def test_batch_check_layer_availability(ecr, repo, registry):
    image = registry.push_image(repo, "v1", layers=2)
    missing = absent_digest()
    wanted = [image.layers[0]["digest"], image.layers[1]["digest"], missing]
    out = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=wanted)
    layers = {layer["layerDigest"]: layer for layer in out["layers"]}
    assert set(layers) == {image.layers[0]["digest"], image.layers[1]["digest"]}
    for desc in image.layers:
        assert layers[desc["digest"]]["layerAvailability"] == "AVAILABLE"
        assert layers[desc["digest"]]["layerSize"] == desc["size"]
    assert len(out["failures"]) == 1
    assert out["failures"][0]["layerDigest"] == missing
    assert out["failures"][0]["failureCode"] == "MissingLayerDigest"
    assert out["failures"][0]["failureReason"]


def test_batch_check_layer_availability_in_a_missing_repository_fails(ecr):
    expect_error(
        "RepositoryNotFoundException",
        ecr.batch_check_layer_availability,
        repositoryName=unique_name("absent"),
        layerDigests=[absent_digest()],
    )


def test_initiate_layer_upload_answers_an_upload_id(ecr, repo):
    out = ecr.initiate_layer_upload(repositoryName=repo)
    assert UPLOAD_ID_RE.match(out["uploadId"]), out["uploadId"]
    assert out["partSize"] > 0


def test_initiate_layer_upload_in_a_missing_repository_fails(ecr):
    expect_error("RepositoryNotFoundException", ecr.initiate_layer_upload, repositoryName=unique_name("absent"))


def test_uploaded_layer_is_pullable_through_the_registry(ecr, repo, registry):
    data = os.urandom(4096)
    digest = upload_layer(ecr, repo, data)
    pulled = registry.get_blob(repo, digest)
    assert pulled.status_code == 200
    assert pulled.content == data
    out = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest])
    assert out["layers"][0]["layerAvailability"] == "AVAILABLE"
    assert out["layers"][0]["layerSize"] == len(data)
    assert out["failures"] == []


def test_multi_part_layer_upload(ecr, repo, registry):
    # Every part but the last is at least 5 MiB, as ECR requires.
    data = os.urandom(5 * MIB + 1000)
    digest = upload_layer(ecr, repo, data, part_size=5 * MIB)
    pulled = registry.get_blob(repo, digest)
    assert pulled.status_code == 200
    assert sha256_digest(pulled.content) == digest


def test_push_a_whole_image_through_the_ecr_api(ecr, repo, registry):
    layer_data = os.urandom(2000)
    layer_digest = upload_layer(ecr, repo, layer_data)
    config_data = (
        '{"architecture":"amd64","os":"linux","config":{"Labels":{"n":"%s"}},"rootfs":{"type":"layers","diff_ids":[]}}'
        % uuid.uuid4().hex
    ).encode()
    config_digest = upload_layer(ecr, repo, config_data)
    body = registry.image_manifest(
        {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config_data)},
        [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": len(layer_data)}],
    )
    out = ecr.put_image(
        repositoryName=repo, imageManifest=body.decode(), imageManifestMediaType=OCI_MANIFEST, imageTag="api"
    )
    assert out["image"]["imageId"] == {"imageDigest": sha256_digest(body), "imageTag": "api"}
    pulled = registry.get_manifest(repo, "api")
    assert pulled.status_code == 200
    assert pulled.content == body
    detail = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "api"}])["imageDetails"][0]
    assert detail["imageSizeInBytes"] == len(layer_data)


def test_complete_layer_upload_with_a_wrong_digest_fails(ecr, repo, registry):
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(
        repositoryName=repo, uploadId=upload_id, partFirstByte=0, partLastByte=99, layerPartBlob=os.urandom(100)
    )
    wrong = absent_digest()
    expect_error(
        "InvalidLayerException", ecr.complete_layer_upload, repositoryName=repo, uploadId=upload_id, layerDigests=[wrong]
    )
    assert registry.get_blob(repo, wrong).status_code == 404


def test_upload_part_with_an_unknown_upload_id_fails(ecr, repo):
    expect_error(
        "UploadNotFoundException",
        ecr.upload_layer_part,
        repositoryName=repo,
        uploadId=str(uuid.uuid4()),
        partFirstByte=0,
        partLastByte=9,
        layerPartBlob=os.urandom(10),
    )


def test_complete_with_an_unknown_upload_id_fails(ecr, repo):
    expect_error(
        "UploadNotFoundException",
        ecr.complete_layer_upload,
        repositoryName=repo,
        uploadId=str(uuid.uuid4()),
        layerDigests=[absent_digest()],
    )


def test_upload_id_belongs_to_its_repository(ecr, new_repo):
    a, b = new_repo(), new_repo()
    upload_id = ecr.initiate_layer_upload(repositoryName=a)["uploadId"]
    expect_error(
        "UploadNotFoundException",
        ecr.upload_layer_part,
        repositoryName=b,
        uploadId=upload_id,
        partFirstByte=0,
        partLastByte=9,
        layerPartBlob=os.urandom(10),
    )


def test_upload_part_that_skips_bytes_fails(ecr, repo):
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(
        repositoryName=repo, uploadId=upload_id, partFirstByte=0, partLastByte=9, layerPartBlob=os.urandom(10)
    )
    expect_error(
        "InvalidLayerPartException",
        ecr.upload_layer_part,
        repositoryName=repo,
        uploadId=upload_id,
        partFirstByte=20,
        partLastByte=29,
        layerPartBlob=os.urandom(10),
    )
