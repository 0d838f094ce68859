"""TagResource, UntagResource, ListTagsForResource on a repository's ARN."""

from conftest import expect_error, unique_name


def repository_arn(ecr, name: str) -> str:
    return ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"]


def by_key(tags) -> dict:
    return {t["Key"]: t["Value"] for t in tags}


def test_tags_given_at_creation_are_listed(ecr, new_repo):
    name = new_repo(tags=[{"Key": "team", "Value": "a"}])
    assert ecr.list_tags_for_resource(resourceArn=repository_arn(ecr, name))["tags"] == [
        {"Key": "team", "Value": "a"}
    ]


def test_tag_and_untag_a_repository(ecr, new_repo):
    name = new_repo(tags=[{"Key": "team", "Value": "a"}])
    arn = repository_arn(ecr, name)

    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "b"}])
    assert by_key(ecr.list_tags_for_resource(resourceArn=arn)["tags"]) == {"env": "prod", "team": "b"}

    ecr.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "env", "Value": "prod"}]


def test_new_repository_has_no_tags(ecr, repo):
    assert ecr.list_tags_for_resource(resourceArn=repository_arn(ecr, repo))["tags"] == []


def test_tags_of_a_missing_repository(ecr, repo):
    arn = repository_arn(ecr, repo).rsplit("/", 1)[0] + "/" + unique_name("absent")
    expect_error("RepositoryNotFoundException", ecr.list_tags_for_resource, resourceArn=arn)
    expect_error("RepositoryNotFoundException", ecr.tag_resource, resourceArn=arn, tags=[{"Key": "k", "Value": "v"}])
    expect_error("RepositoryNotFoundException", ecr.untag_resource, resourceArn=arn, tagKeys=["k"])


def test_tags_of_a_malformed_arn(ecr):
    expect_error("InvalidParameterException", ecr.list_tags_for_resource, resourceArn="not-an-arn")


def test_cli_tag_resource(aws, ecr, repo):
    arn = repository_arn(ecr, repo)
    assert aws("ecr", "tag-resource", "--resource-arn", arn, "--tags", "Key=owner,Value=cli") is None
    out = aws("ecr", "list-tags-for-resource", "--resource-arn", arn)
    assert out["tags"] == [{"Key": "owner", "Value": "cli"}]
    assert aws("ecr", "untag-resource", "--resource-arn", arn, "--tag-keys", "owner") is None
    assert aws("ecr", "list-tags-for-resource", "--resource-arn", arn)["tags"] == []


def tags(n: int, prefix: str = "k") -> list:
    return [{"Key": f"{prefix}{i}", "Value": str(i)} for i in range(n)]


def test_more_than_50_tags_at_once_are_too_many(ecr, repo):
    arn = repository_arn(ecr, repo)
    expect_error("TooManyTagsException", ecr.tag_resource, resourceArn=arn, tags=tags(51))
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == []
    expect_error("TooManyTagsException", ecr.create_repository, repositoryName=unique_name("many-tags"), tags=tags(51))


def test_tags_that_would_take_a_repository_past_50_are_too_many(ecr, repo):
    arn = repository_arn(ecr, repo)
    ecr.tag_resource(resourceArn=arn, tags=tags(30, "a"))
    error = expect_error("TooManyTagsException", ecr.tag_resource, resourceArn=arn, tags=tags(21, "b"))
    assert "51" in error.response["Error"]["Message"]
    assert len(ecr.list_tags_for_resource(resourceArn=arn)["tags"]) == 30, "nothing of the refused call is kept"
    # Replacing values of existing keys does not add tags.
    ecr.tag_resource(resourceArn=arn, tags=tags(20, "a") + tags(20, "b"))
    assert len(ecr.list_tags_for_resource(resourceArn=arn)["tags"]) == 50


def test_duplicate_tag_keys_are_refused(ecr, repo):
    arn = repository_arn(ecr, repo)
    twice = [{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}]
    error = expect_error("InvalidTagParameterException", ecr.tag_resource, resourceArn=arn, tags=twice)
    assert "team" in error.response["Error"]["Message"]
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == []
    expect_error("InvalidTagParameterException", ecr.create_repository, repositoryName=unique_name("dup-tags"),
                 tags=twice)


def test_cli_too_many_tags(aws, ecr, repo):
    arn = repository_arn(ecr, repo)
    args = [f"Key=k{i},Value=v" for i in range(51)]
    stderr = aws.fail("ecr", "tag-resource", "--resource-arn", arn, "--tags", *args)
    assert "TooManyTagsException" in stderr
