"""PutImage: tagging manifests through the ECR API, and its errors."""

import os

from conftest import (
    OCI_MANIFEST,
    REGISTRY_ID_RE,
    absent_digest,
    expect_error,
    list_image_ids,
    sha256_digest,
    unique_name,
)


def test_put_image_adds_a_tag_to_an_existing_manifest(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    out = ecr.put_image(
        repositoryName=repo,
        imageManifest=image.manifest_text,
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="v2",
    )["image"]
    assert REGISTRY_ID_RE.match(out["registryId"])
    assert out["repositoryName"] == repo
    assert out["imageId"] == {"imageDigest": image.digest, "imageTag": "v2"}
    assert out["imageManifest"] == image.manifest_text
    assert out["imageManifestMediaType"] == OCI_MANIFEST

    tags = {i["imageTag"] for i in list_image_ids(ecr, repo) if i["imageDigest"] == image.digest}
    assert tags == {"v1", "v2"}
    pulled = registry.get_manifest(repo, "v2")
    assert pulled.status_code == 200
    assert pulled.content == image.manifest
    assert pulled.headers["Docker-Content-Digest"] == image.digest


def test_cli_put_image_retags_without_a_media_type(aws, ecr, repo, registry):
    # The documented retag recipe: batch-get-image, then put-image with the manifest.
    image = registry.push_image(repo, "orig")
    manifest = aws(
        "ecr", "batch-get-image", "--repository-name", repo, "--image-ids", "imageTag=orig",
        "--query", "images[].imageManifest",
    )[0]
    out = aws("ecr", "put-image", "--repository-name", repo, "--image-tag", "retagged", "--image-manifest", manifest)
    assert out["image"]["imageId"] == {"imageDigest": image.digest, "imageTag": "retagged"}
    detail = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "retagged"}])["imageDetails"][0]
    assert detail["imageManifestMediaType"] == OCI_MANIFEST
    assert sorted(detail["imageTags"]) == ["orig", "retagged"]


def test_put_image_of_a_new_manifest_with_its_digest(ecr, repo, registry):
    # Blobs pushed, manifest only through PutImage.
    layer = registry.push_blob(repo, os.urandom(300))
    config = registry.push_config(repo, [layer])
    body = registry.image_manifest(config, [layer])
    digest = sha256_digest(body)
    out = ecr.put_image(
        repositoryName=repo,
        imageManifest=body.decode(),
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="fresh",
        imageDigest=digest,
    )["image"]
    assert out["imageId"] == {"imageDigest": digest, "imageTag": "fresh"}
    pulled = registry.get_manifest(repo, "fresh")
    assert pulled.status_code == 200
    assert pulled.content == body


def test_put_image_with_a_wrong_digest_fails(ecr, repo, registry):
    image = registry.push_image(repo, None)
    expect_error(
        "ImageDigestDoesNotMatchException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=image.manifest_text,
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="t",
        imageDigest=absent_digest(),
    )


def test_put_image_twice_with_the_same_tag_fails(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    expect_error(
        "ImageAlreadyExistsException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=image.manifest_text,
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="v1",
    )


def test_put_image_cannot_move_a_tag_in_an_immutable_repository(ecr, new_repo, registry):
    repo = new_repo(imageTagMutability="IMMUTABLE")
    first = registry.push_image(repo, "v1")
    second = registry.push_image(repo, None)
    expect_error(
        "ImageTagAlreadyExistsException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=second.manifest_text,
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="v1",
    )
    assert registry.get_manifest(repo, "v1").headers["Docker-Content-Digest"] == first.digest
    # A new tag is fine in an immutable repository.
    out = ecr.put_image(
        repositoryName=repo, imageManifest=second.manifest_text, imageManifestMediaType=OCI_MANIFEST, imageTag="v2"
    )
    assert out["image"]["imageId"] == {"imageDigest": second.digest, "imageTag": "v2"}


def test_put_image_can_move_a_tag_in_a_mutable_repository(ecr, repo, registry):
    registry.push_image(repo, "v1")
    second = registry.push_image(repo, None)
    ecr.put_image(
        repositoryName=repo, imageManifest=second.manifest_text, imageManifestMediaType=OCI_MANIFEST, imageTag="v1"
    )
    assert registry.get_manifest(repo, "v1").headers["Docker-Content-Digest"] == second.digest


def test_put_image_with_missing_layers_fails(ecr, repo, registry):
    present = registry.push_blob(repo, os.urandom(100))
    config = registry.push_config(repo, [present])
    missing = {"mediaType": present["mediaType"], "digest": absent_digest(), "size": 1234}
    body = registry.image_manifest(config, [present, missing])
    expect_error(
        "LayersNotFoundException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=body.decode(),
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="broken",
    )
    assert registry.get_manifest(repo, "broken").status_code == 404


def test_put_image_in_a_missing_repository_fails(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    expect_error(
        "RepositoryNotFoundException",
        ecr.put_image,
        repositoryName=unique_name("absent"),
        imageManifest=image.manifest_text,
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="v1",
    )
