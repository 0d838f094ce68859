"""PutImageTagMutability and tag immutability with exclusion filters, enforced
both by PutImage and by the registry API (`PUT /v2/<name>/manifests/<tag>`)."""

from conftest import OCI_MANIFEST, expect_error, unique_name

LATEST_EXCLUDED = [{"filterType": "WILDCARD", "filter": "latest"}]


def immutable_except_latest(ecr, new_repo) -> str:
    repo = new_repo()
    out = ecr.put_image_tag_mutability(
        repositoryName=repo,
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=LATEST_EXCLUDED,
    )
    assert out["repositoryName"] == repo
    assert out["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert out["imageTagMutabilityExclusionFilters"] == LATEST_EXCLUDED
    return repo


def test_put_image_tag_mutability_is_described(ecr, new_repo):
    repo = immutable_except_latest(ecr, new_repo)
    described = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
    assert described["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert described["imageTagMutabilityExclusionFilters"] == LATEST_EXCLUDED

    out = ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="MUTABLE")
    assert out["imageTagMutability"] == "MUTABLE"
    described = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
    assert described["imageTagMutability"] == "MUTABLE"
    assert not described.get("imageTagMutabilityExclusionFilters")


def test_create_repository_with_exclusion_filters(ecr):
    name = unique_name("create-exclusions")
    filters = [{"filterType": "WILDCARD", "filter": "dev-*"}, {"filterType": "WILDCARD", "filter": "latest"}]
    repo = ecr.create_repository(
        repositoryName=name,
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=filters,
    )["repository"]
    assert repo["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repo["imageTagMutabilityExclusionFilters"] == filters


def test_excluded_tag_moves_and_others_do_not_through_put_image(ecr, new_repo, registry):
    repo = immutable_except_latest(ecr, new_repo)
    first = registry.push_image(repo, "v1")
    registry.push_manifest(repo, "latest", first.manifest)
    second = registry.push_image(repo, None)

    out = ecr.put_image(
        repositoryName=repo, imageManifest=second.manifest_text, imageManifestMediaType=OCI_MANIFEST, imageTag="latest"
    )
    assert out["image"]["imageId"] == {"imageDigest": second.digest, "imageTag": "latest"}
    expect_error(
        "ImageTagAlreadyExistsException",
        ecr.put_image,
        repositoryName=repo,
        imageManifest=second.manifest_text,
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="v1",
    )
    assert registry.get_manifest(repo, "v1").headers["Docker-Content-Digest"] == first.digest
    assert registry.get_manifest(repo, "latest").headers["Docker-Content-Digest"] == second.digest


def test_excluded_tag_moves_and_others_do_not_through_the_registry(ecr, new_repo, registry):
    repo = immutable_except_latest(ecr, new_repo)
    first = registry.push_image(repo, "v1")
    registry.push_manifest(repo, "latest", first.manifest)
    second = registry.push_image(repo, None)

    moved = registry.put_manifest(repo, "latest", second.manifest)
    assert moved.status_code == 201, moved.text

    refused = registry.put_manifest(repo, "v1", second.manifest)
    assert refused.status_code == 409, refused.text
    errors = refused.json()["errors"]
    assert errors[0]["code"] == "DENIED"
    assert "immutable" in errors[0]["message"].lower()
    assert registry.get_manifest(repo, "v1").headers["Docker-Content-Digest"] == first.digest


def test_wildcard_exclusion_filter(ecr, new_repo, registry):
    repo = new_repo(
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "dev-*"}],
    )
    first = registry.push_image(repo, "dev-main")
    registry.push_manifest(repo, "release-1", first.manifest)
    second = registry.push_image(repo, None)

    assert registry.put_manifest(repo, "dev-main", second.manifest).status_code == 201
    assert registry.put_manifest(repo, "release-1", second.manifest).status_code == 409


def test_immutable_repository_refuses_a_moved_tag_through_the_registry(new_repo, registry):
    repo = new_repo(imageTagMutability="IMMUTABLE")
    registry.push_image(repo, "v1")
    second = registry.push_image(repo, None)
    refused = registry.put_manifest(repo, "v1", second.manifest)
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["code"] == "DENIED"


def test_put_image_tag_mutability_of_a_missing_repository_fails(ecr):
    expect_error(
        "RepositoryNotFoundException",
        ecr.put_image_tag_mutability,
        repositoryName=unique_name("absent"),
        imageTagMutability="IMMUTABLE",
    )


def test_cli_put_image_tag_mutability(aws, ecr, repo):
    out = aws("ecr", "put-image-tag-mutability", "--repository-name", repo, "--image-tag-mutability", "IMMUTABLE")
    assert out["imageTagMutability"] == "IMMUTABLE"
    assert ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]["imageTagMutability"] == "IMMUTABLE"
