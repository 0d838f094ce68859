"""ListImages, DescribeImages, BatchGetImage, BatchDeleteImage."""

import time

from conftest import (
    DOCKER_MANIFEST_LIST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    REGISTRY_ID_RE,
    absent_digest,
    assert_recent,
    expect_error,
    list_image_ids,
    unique_name,
)


def ids_set(ids) -> set:
    return {(i.get("imageDigest"), i.get("imageTag")) for i in ids}


# ---------------------------------------------------------------- ListImages


def test_list_images_filters_by_tag_status(ecr, repo, registry):
    a = registry.push_image(repo, "a")
    b = registry.push_image(repo, "b")
    untagged = registry.push_image(repo, None)

    everything = {(a.digest, "a"), (b.digest, "b"), (untagged.digest, None)}
    assert ids_set(list_image_ids(ecr, repo)) == everything
    assert ids_set(list_image_ids(ecr, repo, filter={"tagStatus": "ANY"})) == everything
    assert ids_set(list_image_ids(ecr, repo, filter={"tagStatus": "TAGGED"})) == {(a.digest, "a"), (b.digest, "b")}
    assert ids_set(list_image_ids(ecr, repo, filter={"tagStatus": "UNTAGGED"})) == {(untagged.digest, None)}


def test_list_images_has_one_entry_per_tag(ecr, repo, registry):
    image = registry.push_image(repo, "one")
    registry.push_manifest(repo, "two", image.manifest)
    assert ids_set(list_image_ids(ecr, repo)) == {(image.digest, "one"), (image.digest, "two")}


def test_list_images_of_an_empty_repository(ecr, repo):
    page = ecr.list_images(repositoryName=repo)
    assert page["imageIds"] == []
    assert "nextToken" not in page


def test_list_images_paginates_250_images(ecr, repo, registry):
    tags = [f"t{i:03d}" for i in range(250)]
    images = registry.push_many(repo, tags)

    pages = list(ecr.get_paginator("list_images").paginate(
        repositoryName=repo, PaginationConfig={"PageSize": 100}))
    assert len(pages) >= 3
    assert all(len(p["imageIds"]) <= 100 for p in pages)
    assert all(p.get("nextToken") for p in pages[:-1])
    assert "nextToken" not in pages[-1]
    ids = [(i["imageDigest"], i["imageTag"]) for p in pages for i in p["imageIds"]]
    assert len(ids) == 250
    assert set(ids) == {(img.digest, img.tag) for img in images}


def test_cli_list_images_pages_through_everything(aws, repo, registry):
    images = registry.push_many(repo, [f"c{i:02d}" for i in range(30)])
    out = aws("ecr", "list-images", "--repository-name", repo, "--page-size", "7")
    assert ids_set(out["imageIds"]) == {(img.digest, img.tag) for img in images}


def test_list_images_of_a_missing_repository_fails(ecr):
    expect_error("RepositoryNotFoundException", ecr.list_images, repositoryName=unique_name("absent"))


# ------------------------------------------------------------ DescribeImages


def test_describe_images_fields(ecr, repo, registry):
    image = registry.push_image(repo, "v1", layers=3)
    details = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["imageDetails"]
    assert len(details) == 1
    d = details[0]
    assert REGISTRY_ID_RE.match(d["registryId"])
    assert d["repositoryName"] == repo
    assert d["imageDigest"] == image.digest
    assert d["imageTags"] == ["v1"]
    assert d["imageSizeInBytes"] == image.size == sum(layer["size"] for layer in image.layers)
    assert_recent(d["imagePushedAt"])
    assert d["imageManifestMediaType"] == OCI_MANIFEST
    assert d["artifactMediaType"] == OCI_CONFIG


def test_describe_images_records_the_last_pull(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    ids = [{"imageDigest": image.digest}]
    before = ecr.describe_images(repositoryName=repo, imageIds=ids)["imageDetails"][0]
    assert "lastRecordedPullTime" not in before

    time.sleep(1.1)
    assert registry.get_manifest(repo, "v1").status_code == 200

    # ECR records pull times lazily ("at least once every 24 hours"); Berth
    # writes them in batches every few seconds, so wait for it.
    deadline = time.monotonic() + 20
    while True:
        after = ecr.describe_images(repositoryName=repo, imageIds=ids)["imageDetails"][0]
        if "lastRecordedPullTime" in after or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "lastRecordedPullTime" in after, "no pull time recorded within 20 s of a pull"
    assert_recent(after["lastRecordedPullTime"])
    assert after["lastRecordedPullTime"] > after["imagePushedAt"]


def test_describe_images_without_ids_lists_every_image_once(ecr, repo, registry):
    a = registry.push_image(repo, "a1")
    registry.push_manifest(repo, "a2", a.manifest)
    b = registry.push_image(repo, None)
    details = []
    for page in ecr.get_paginator("describe_images").paginate(repositoryName=repo):
        details.extend(page["imageDetails"])
    by_digest = {d["imageDigest"]: d for d in details}
    assert len(details) == 2
    assert sorted(by_digest[a.digest]["imageTags"]) == ["a1", "a2"]
    assert "imageTags" not in by_digest[b.digest] or by_digest[b.digest]["imageTags"] == []
    assert by_digest[b.digest]["imageSizeInBytes"] == b.size


def test_describe_images_of_an_index(ecr, repo, registry):
    children = [registry.push_image(repo, None), registry.push_image(repo, None)]
    index = registry.push_index(repo, "multi", children)
    d = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "multi"}])["imageDetails"][0]
    assert d["imageDigest"] == index.digest
    assert d["imageManifestMediaType"] == OCI_INDEX


def test_describe_missing_image_fails(ecr, repo, registry):
    registry.push_image(repo, "v1")
    expect_error("ImageNotFoundException", ecr.describe_images, repositoryName=repo, imageIds=[{"imageTag": "nope"}])
    expect_error(
        "ImageNotFoundException", ecr.describe_images, repositoryName=repo, imageIds=[{"imageDigest": absent_digest()}]
    )


def test_cli_describe_images(aws, repo, registry):
    image = registry.push_image(repo, "cli", layers=2)
    out = aws("ecr", "describe-images", "--repository-name", repo, "--image-ids", "imageTag=cli")
    d = out["imageDetails"][0]
    assert d["imageDigest"] == image.digest
    assert d["imageSizeInBytes"] == image.size


# ------------------------------------------------------------ BatchGetImage


def test_batch_get_image_returns_the_pushed_manifest(ecr, repo, registry):
    image = registry.push_image(repo, "v1", layers=2)
    out = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert out["failures"] == []
    assert len(out["images"]) == 1
    got = out["images"][0]
    assert got["repositoryName"] == repo
    assert REGISTRY_ID_RE.match(got["registryId"])
    assert got["imageId"] == {"imageDigest": image.digest, "imageTag": "v1"}
    assert got["imageManifest"] == image.manifest_text
    assert got["imageManifestMediaType"] == OCI_MANIFEST


def test_batch_get_image_by_digest(ecr, repo, registry):
    image = registry.push_image(repo, None)
    out = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageDigest": image.digest}])
    assert out["failures"] == []
    assert out["images"][0]["imageId"]["imageDigest"] == image.digest
    assert out["images"][0]["imageManifest"].encode() == image.manifest


def test_batch_get_image_reports_missing_tags_as_failures(ecr, repo, registry):
    image = registry.push_image(repo, "here")
    out = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "here"}, {"imageTag": "gone"}])
    assert [i["imageId"]["imageDigest"] for i in out["images"]] == [image.digest]
    assert len(out["failures"]) == 1
    failure = out["failures"][0]
    assert failure["imageId"] == {"imageTag": "gone"}
    assert failure["failureCode"] == "ImageNotFound"
    assert failure["failureReason"]


def test_batch_get_image_honours_accepted_media_types(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    ok = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}], acceptedMediaTypes=[OCI_MANIFEST])
    assert ok["images"][0]["imageManifest"] == image.manifest_text

    refused = ecr.batch_get_image(
        repositoryName=repo, imageIds=[{"imageTag": "v1"}], acceptedMediaTypes=[DOCKER_MANIFEST_LIST]
    )
    assert refused["images"] == []
    assert len(refused["failures"]) == 1
    failure = refused["failures"][0]
    assert failure["imageId"]["imageTag"] == "v1"
    # The image exists; it is only of a type the caller does not accept.
    assert failure["failureCode"] and failure["failureCode"] != "ImageNotFound"
    assert failure["failureReason"]


def test_batch_get_image_of_a_missing_repository_fails(ecr):
    expect_error(
        "RepositoryNotFoundException",
        ecr.batch_get_image,
        repositoryName=unique_name("absent"),
        imageIds=[{"imageTag": "latest"}],
    )


def test_cli_batch_get_image(aws, repo, registry):
    image = registry.push_image(repo, "v9")
    out = aws("ecr", "batch-get-image", "--repository-name", repo, "--image-ids", "imageTag=v9")
    assert out["images"][0]["imageManifest"] == image.manifest_text


# ---------------------------------------------------------- BatchDeleteImage


def test_batch_delete_tag_keeps_an_image_with_other_tags(ecr, repo, registry):
    image = registry.push_image(repo, "a")
    registry.push_manifest(repo, "b", image.manifest)

    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "a"}])
    assert out["failures"] == []
    assert out["imageIds"] == [{"imageDigest": image.digest, "imageTag": "a"}]
    assert ids_set(list_image_ids(ecr, repo)) == {(image.digest, "b")}
    assert registry.get_manifest(repo, "a").status_code == 404
    assert registry.get_manifest(repo, "b").status_code == 200


def test_batch_delete_last_tag_deletes_the_image(ecr, repo, registry):
    image = registry.push_image(repo, "only")
    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "only"}])
    assert out["failures"] == []
    assert out["imageIds"] == [{"imageDigest": image.digest, "imageTag": "only"}]
    assert list_image_ids(ecr, repo) == []
    assert registry.get_manifest(repo, image.digest).status_code == 404


def test_batch_delete_by_digest_removes_the_image_and_its_tags(ecr, repo, registry):
    image = registry.push_image(repo, "x")
    registry.push_manifest(repo, "y", image.manifest)
    other = registry.push_image(repo, "z")

    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": image.digest}])
    assert out["failures"] == []
    assert out["imageIds"]
    assert {i["imageDigest"] for i in out["imageIds"]} == {image.digest}
    assert ids_set(list_image_ids(ecr, repo)) == {(other.digest, "z")}
    assert registry.get_manifest(repo, "x").status_code == 404
    assert registry.get_manifest(repo, "y").status_code == 404


def test_batch_delete_reports_missing_images_per_image(ecr, repo, registry):
    image = registry.push_image(repo, "keep")
    missing_digest = absent_digest()
    out = ecr.batch_delete_image(
        repositoryName=repo,
        imageIds=[{"imageTag": "nope"}, {"imageDigest": missing_digest}],
    )
    assert out["imageIds"] == []
    failures = {f["imageId"].get("imageTag") or f["imageId"]["imageDigest"]: f for f in out["failures"]}
    assert set(failures) == {"nope", missing_digest}
    assert failures["nope"]["failureCode"] == "ImageNotFound"
    assert failures[missing_digest]["failureCode"] == "ImageNotFound"
    assert ids_set(list_image_ids(ecr, repo)) == {(image.digest, "keep")}


def test_batch_delete_child_of_an_index_fails(ecr, repo, registry):
    children = [registry.push_image(repo, None), registry.push_image(repo, None)]
    index = registry.push_index(repo, "multi", children)

    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": children[0].digest}])
    assert out["imageIds"] == []
    assert len(out["failures"]) == 1
    assert out["failures"][0]["imageId"] == {"imageDigest": children[0].digest}
    assert out["failures"][0]["failureCode"] == "ImageReferencedByManifestList"
    assert registry.get_manifest(repo, children[0].digest).status_code == 200

    # Once the index is gone, the child can go too.
    assert ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": index.digest}])["failures"] == []
    out = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": children[0].digest}])
    assert out["failures"] == []


def test_batch_delete_in_a_missing_repository_fails(ecr):
    expect_error(
        "RepositoryNotFoundException",
        ecr.batch_delete_image,
        repositoryName=unique_name("absent"),
        imageIds=[{"imageTag": "latest"}],
    )


def test_cli_batch_delete_image(aws, ecr, repo, registry):
    image = registry.push_image(repo, "gone")
    out = aws("ecr", "batch-delete-image", "--repository-name", repo, "--image-ids", "imageTag=gone")
    assert out["imageIds"] == [{"imageDigest": image.digest, "imageTag": "gone"}]
    assert out["failures"] == []
    assert list_image_ids(ecr, repo) == []
