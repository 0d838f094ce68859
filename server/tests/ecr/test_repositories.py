"""CreateRepository, DescribeRepositories, DeleteRepository."""

import pytest

from conftest import ARN_RE, REGISTRY_ID_RE, assert_recent, expect_error, unique_name


def test_create_repository_answers_with_defaults(ecr, server):
    name = unique_name("create-defaults")
    repo = ecr.create_repository(repositoryName=name)["repository"]
    arn = ARN_RE.match(repo["repositoryArn"])
    assert arn, repo["repositoryArn"]
    assert arn.group(2) == name
    assert REGISTRY_ID_RE.match(repo["registryId"])
    assert arn.group(1) == repo["registryId"]
    assert repo["repositoryName"] == name
    assert repo["repositoryUri"] == f"{server.host}/{name}"
    assert_recent(repo["createdAt"])
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": False}
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}


def test_create_repository_with_settings_from_the_cli(aws, ecr, server):
    name = unique_name("team-b/cli-settings")
    repo = aws(
        "ecr", "create-repository",
        "--repository-name", name,
        "--image-tag-mutability", "IMMUTABLE",
        "--image-scanning-configuration", "scanOnPush=true",
        "--encryption-configuration", "encryptionType=AES256",
        "--tags", "Key=team,Value=b", "Key=env,Value=test",
    )["repository"]
    assert repo["repositoryName"] == name
    assert repo["repositoryUri"] == f"{server.host}/{name}"
    assert repo["repositoryArn"].endswith(f":repository/{name}")
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    # The CLI prints timestamps as epoch seconds.
    assert isinstance(repo["createdAt"], (int, float))

    described = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    assert described["imageTagMutability"] == "IMMUTABLE"
    assert described["imageScanningConfiguration"] == {"scanOnPush": True}
    tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert sorted(tags, key=lambda t: t["Key"]) == [
        {"Key": "env", "Value": "test"},
        {"Key": "team", "Value": "b"},
    ]


def test_create_existing_repository_fails(ecr, repo):
    expect_error("RepositoryAlreadyExistsException", ecr.create_repository, repositoryName=repo)


@pytest.mark.parametrize(
    "bad_name",
    ["UpperCase", "double..dot", "/leading-slash", "trailing-slash/", "has space", "a//b", "-dash-first"],
)
def test_create_repository_with_a_bad_name_fails(ecr, bad_name):
    expect_error("InvalidParameterException", ecr.create_repository, repositoryName=bad_name)


def test_cli_create_repository_with_a_bad_name_fails(aws):
    stderr = aws.fail("ecr", "create-repository", "--repository-name", "Not_Valid!")
    assert "InvalidParameterException" in stderr


def test_describe_repositories_lists_all(ecr, new_repo):
    names = {new_repo(), new_repo()}
    seen = set()
    for page in ecr.get_paginator("describe_repositories").paginate():
        seen.update(r["repositoryName"] for r in page["repositories"])
    assert names <= seen


def test_describe_repositories_by_names(ecr, new_repo):
    a, b, _other = new_repo(), new_repo(), new_repo()
    repos = ecr.describe_repositories(repositoryNames=[a, b])["repositories"]
    assert sorted(r["repositoryName"] for r in repos) == sorted([a, b])
    for r in repos:
        assert r["repositoryArn"].endswith(f":repository/{r['repositoryName']}")


def test_describe_missing_repository_fails(ecr, repo):
    expect_error(
        "RepositoryNotFoundException",
        ecr.describe_repositories,
        repositoryNames=[repo, unique_name("never-created")],
    )


def test_describe_repositories_paginates(ecr):
    prefix = unique_name("page")
    names = [f"{prefix}/r{i:02d}" for i in range(27)]
    for name in names:
        ecr.create_repository(repositoryName=name)

    pages = list(ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 10}))
    assert len(pages) >= 3
    assert all(len(p["repositories"]) <= 10 for p in pages)
    assert all("nextToken" in p for p in pages[:-1])
    assert "nextToken" not in pages[-1]
    seen = [r["repositoryName"] for p in pages for r in p["repositories"]]
    assert len(seen) == len(set(seen)), "a repository came twice"
    assert set(names) <= set(seen)


def test_describe_repositories_max_results_and_next_token(ecr, new_repo):
    for _ in range(3):
        new_repo()
    first = ecr.describe_repositories(maxResults=2)
    assert len(first["repositories"]) == 2
    assert first["nextToken"]
    second = ecr.describe_repositories(maxResults=2, nextToken=first["nextToken"])
    assert second["repositories"]
    first_names = {r["repositoryName"] for r in first["repositories"]}
    assert not first_names & {r["repositoryName"] for r in second["repositories"]}


def test_delete_empty_repository(ecr, repo):
    deleted = ecr.delete_repository(repositoryName=repo)["repository"]
    assert deleted["repositoryName"] == repo
    assert deleted["repositoryArn"].endswith(f":repository/{repo}")
    expect_error("RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=[repo])


def test_delete_repository_with_images_needs_force(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    expect_error("RepositoryNotEmptyException", ecr.delete_repository, repositoryName=repo)
    assert registry.get_manifest(repo, "v1").status_code == 200

    deleted = ecr.delete_repository(repositoryName=repo, force=True)["repository"]
    assert deleted["repositoryName"] == repo
    expect_error("RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=[repo])
    assert registry.get_manifest(repo, "v1").status_code == 404
    assert registry.get_manifest(repo, image.digest).status_code == 404


def test_delete_missing_repository_fails(ecr):
    expect_error("RepositoryNotFoundException", ecr.delete_repository, repositoryName=unique_name("absent"))


def test_cli_delete_repository_force(aws, repo, registry):
    registry.push_image(repo, "v1")
    stderr = aws.fail("ecr", "delete-repository", "--repository-name", repo)
    assert "RepositoryNotEmptyException" in stderr
    out = aws("ecr", "delete-repository", "--repository-name", repo, "--force")
    assert out["repository"]["repositoryName"] == repo
