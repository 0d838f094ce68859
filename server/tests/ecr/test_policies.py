"""Repository and registry policies as documents: SetRepositoryPolicy,
GetRepositoryPolicy, DeleteRepositoryPolicy, PutRegistryPolicy,
GetRegistryPolicy, DeleteRegistryPolicy, through boto3 and the AWS CLI.
What the policies *do* is tested in test_authz.py."""

import contextlib
import json
import uuid

import pytest

from conftest import (
    REGISTRY_ID_RE,
    expect_error,
    policy_text,
    repository_arn,
    unique_name,
    user_arn,
)


def harmless_statement(registry_id: str, sid: str = "NobodyMayDelete", **extra) -> dict:
    """A statement that changes nothing for any real caller: it denies
    DeleteRepository to a user that does not exist."""
    statement = {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": {"AWS": user_arn(registry_id, "nobody-" + uuid.uuid4().hex[:8])},
        "Action": "ecr:DeleteRepository",
    }
    statement.update(extra)
    return statement


def pull_statement(principal, **extra) -> dict:
    statement = {
        "Sid": "AllowPull",
        "Effect": "Allow",
        "Principal": principal,
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
    }
    statement.update(extra)
    return statement


@contextlib.contextmanager
def registry_policy_removed_after(ecr):
    """Whatever a test does to the registry policy, none is left afterwards:
    all tests share one server, and a registry policy applies to all of them."""
    try:
        yield
    finally:
        try:
            ecr.delete_registry_policy()
        except ecr.exceptions.RegistryPolicyNotFoundException:
            pass


# --------------------------------------------------------------------------
# repository policies


def test_set_get_delete_repository_policy_round_trip(ecr, repo, registry_id):
    # Odd spacing, key order and a trailing newline: the text comes back as sent.
    text = (
        '{\n\t"Statement" : [ {"Sid":"AllowPull",  "Principal": {"AWS": "%s"},\n'
        '   "Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}],\n'
        '  "Version": "2012-10-17"\n}\n' % user_arn(registry_id, "somebody")
    )
    out = ecr.set_repository_policy(repositoryName=repo, policyText=text)
    assert out["registryId"] == registry_id
    assert out["repositoryName"] == repo
    assert out["policyText"] == text

    got = ecr.get_repository_policy(repositoryName=repo)
    assert got["registryId"] == registry_id
    assert got["repositoryName"] == repo
    assert got["policyText"] == text

    deleted = ecr.delete_repository_policy(repositoryName=repo)
    assert deleted["registryId"] == registry_id
    assert deleted["repositoryName"] == repo
    assert deleted["policyText"] == text

    expect_error("RepositoryPolicyNotFoundException", ecr.get_repository_policy, repositoryName=repo)
    expect_error("RepositoryPolicyNotFoundException", ecr.delete_repository_policy, repositoryName=repo)


def test_set_repository_policy_replaces_the_previous_one(ecr, repo, registry_id):
    first = policy_text(harmless_statement(registry_id, "First"))
    second = policy_text(harmless_statement(registry_id, "Second"))
    ecr.set_repository_policy(repositoryName=repo, policyText=first)
    ecr.set_repository_policy(repositoryName=repo, policyText=second)
    assert ecr.get_repository_policy(repositoryName=repo)["policyText"] == second


def test_set_repository_policy_with_the_registry_id(ecr, repo, registry_id):
    text = policy_text(harmless_statement(registry_id))
    out = ecr.set_repository_policy(registryId=registry_id, repositoryName=repo, policyText=text)
    assert out["policyText"] == text
    got = ecr.get_repository_policy(registryId=registry_id, repositoryName=repo)
    assert got["policyText"] == text


def test_repository_without_a_policy_has_none(ecr, repo):
    error = expect_error("RepositoryPolicyNotFoundException", ecr.get_repository_policy, repositoryName=repo)
    assert repo in error.response["Error"]["Message"]
    expect_error("RepositoryPolicyNotFoundException", ecr.delete_repository_policy, repositoryName=repo)


def test_policy_operations_on_a_missing_repository(ecr, registry_id):
    absent = unique_name("absent")
    text = policy_text(harmless_statement(registry_id))
    expect_error("RepositoryNotFoundException", ecr.set_repository_policy, repositoryName=absent, policyText=text)
    expect_error("RepositoryNotFoundException", ecr.get_repository_policy, repositoryName=absent)
    expect_error("RepositoryNotFoundException", ecr.delete_repository_policy, repositoryName=absent)


def test_policy_goes_with_its_repository(ecr, new_repo, registry_id):
    name = new_repo()
    ecr.set_repository_policy(repositoryName=name, policyText=policy_text(harmless_statement(registry_id)))
    ecr.delete_repository(repositoryName=name, force=True)
    ecr.create_repository(repositoryName=name)
    expect_error("RepositoryPolicyNotFoundException", ecr.get_repository_policy, repositoryName=name)


ACCEPTED = {
    "principal-star": lambda rid, repo: [pull_statement("*")],
    "principal-aws-star": lambda rid, repo: [pull_statement({"AWS": "*"})],
    "principal-account-id": lambda rid, repo: [pull_statement({"AWS": rid})],
    "principal-user-arn": lambda rid, repo: [pull_statement({"AWS": user_arn(rid, "bob")})],
    "principal-list": lambda rid, repo: [pull_statement({"AWS": [user_arn(rid, "bob"), user_arn(rid, "alice")]})],
    "action-string": lambda rid, repo: [dict(pull_statement("*"), Action="ecr:BatchGetImage")],
    "action-wildcard": lambda rid, repo: [dict(pull_statement("*"), Action="ecr:Batch*")],
    "action-star": lambda rid, repo: [harmless_statement(rid, Action="ecr:*")],
    "not-action": lambda rid, repo: [
        {"Sid": "OnlyPull", "Effect": "Deny", "Principal": {"AWS": user_arn(rid, "bob")},
         "NotAction": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}
    ],
    "with-resource": lambda rid, repo: [pull_statement("*", Resource=repository_arn(rid, repo))],
    "principal-service": lambda rid, repo: [pull_statement({"Service": "codebuild.amazonaws.com"})],
    "principal-account-root": lambda rid, repo: [pull_statement({"AWS": f"arn:aws:iam::{rid}:root"})],
    "no-sid": lambda rid, repo: [{k: v for k, v in pull_statement("*").items() if k != "Sid"}],
    "two-statements": lambda rid, repo: [pull_statement("*"), harmless_statement(rid)],
}


@pytest.mark.parametrize("variant", sorted(ACCEPTED))
def test_valid_repository_policies_are_accepted(ecr, repo, registry_id, variant):
    text = policy_text(*ACCEPTED[variant](registry_id, repo))
    assert ecr.set_repository_policy(repositoryName=repo, policyText=text)["policyText"] == text
    assert ecr.get_repository_policy(repositoryName=repo)["policyText"] == text


def test_policy_of_version_2008_10_17_is_accepted(ecr, repo):
    # The version the ECR console writes.
    text = policy_text(pull_statement("*"), version="2008-10-17")
    ecr.set_repository_policy(repositoryName=repo, policyText=text)
    assert ecr.get_repository_policy(repositoryName=repo)["policyText"] == text


INVALID = {
    "not-json": lambda rid: '{"Version": "2012-10-17", "Statement": [',
    "not-an-object": lambda rid: "[]",
    "no-principal": lambda rid: policy_text(
        {"Sid": "NoPrincipal", "Effect": "Allow", "Action": "ecr:BatchGetImage"}
    ),
    "condition": lambda rid: policy_text(
        pull_statement("*", Condition={"StringEquals": {"aws:username": "bob"}})
    ),
    "unknown-top-level-key": lambda rid: json.dumps(
        {"Version": "2012-10-17", "Statement": [pull_statement("*")], "Colour": "blue"}
    ),
    "unknown-statement-key": lambda rid: policy_text(pull_statement("*", Priority=1)),
    "bad-effect": lambda rid: policy_text(pull_statement("*", Effect="Maybe")),
    "no-action": lambda rid: policy_text(
        {"Sid": "NoAction", "Effect": "Allow", "Principal": "*"}
    ),
    "no-statement": lambda rid: json.dumps({"Version": "2012-10-17"}),
    "empty": lambda rid: "",
    "duplicate-sid": lambda rid: policy_text(pull_statement("*"), pull_statement({"AWS": rid})),
    "bad-principal": lambda rid: policy_text(pull_statement({"AWS": "bob"})),
    "bad-version": lambda rid: policy_text(pull_statement("*"), version="2020-01-01"),
}


@pytest.mark.parametrize("variant", sorted(INVALID))
def test_invalid_repository_policies_are_refused(ecr, repo, registry_id, variant):
    text = INVALID[variant](registry_id)
    expect_error("InvalidParameterException", ecr.set_repository_policy, repositoryName=repo, policyText=text)
    expect_error("RepositoryPolicyNotFoundException", ecr.get_repository_policy, repositoryName=repo)


def test_refused_policy_leaves_the_previous_one(ecr, repo, registry_id):
    good = policy_text(harmless_statement(registry_id))
    ecr.set_repository_policy(repositoryName=repo, policyText=good)
    bad = policy_text(pull_statement("*", Condition={"Bool": {"aws:SecureTransport": "true"}}))
    expect_error("InvalidParameterException", ecr.set_repository_policy, repositoryName=repo, policyText=bad)
    assert ecr.get_repository_policy(repositoryName=repo)["policyText"] == good


# --------------------------------------------------------------------------
# the registry policy


def test_registry_policy_round_trip(ecr, registry_id):
    text = json.dumps(
        {"Version": "2012-10-17", "Statement": [harmless_statement(registry_id)]}, indent=2
    ) + "\n"
    with registry_policy_removed_after(ecr):
        out = ecr.put_registry_policy(policyText=text)
        assert out["registryId"] == registry_id
        assert out["policyText"] == text

        got = ecr.get_registry_policy()
        assert got["registryId"] == registry_id
        assert got["policyText"] == text

        replacement = policy_text(harmless_statement(registry_id, "Replacement"))
        assert ecr.put_registry_policy(policyText=replacement)["policyText"] == replacement
        assert ecr.get_registry_policy()["policyText"] == replacement

        deleted = ecr.delete_registry_policy()
        assert deleted["registryId"] == registry_id
        assert deleted["policyText"] == replacement

        expect_error("RegistryPolicyNotFoundException", ecr.get_registry_policy)


def test_no_registry_policy_is_not_found(ecr):
    expect_error("RegistryPolicyNotFoundException", ecr.get_registry_policy)
    expect_error("RegistryPolicyNotFoundException", ecr.delete_registry_policy)


@pytest.mark.parametrize("variant", ["not-json", "no-principal", "condition", "unknown-top-level-key"])
def test_invalid_registry_policies_are_refused(ecr, registry_id, variant):
    with registry_policy_removed_after(ecr):
        expect_error("InvalidParameterException", ecr.put_registry_policy, policyText=INVALID[variant](registry_id))
        expect_error("RegistryPolicyNotFoundException", ecr.get_registry_policy)


# --------------------------------------------------------------------------
# the AWS CLI


def test_cli_set_and_get_repository_policy(aws, repo, registry_id, tmp_path):
    text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [pull_statement({"AWS": user_arn(registry_id, "ci")})],
        },
        indent=4,
    )
    path = tmp_path / "policy.json"
    path.write_text(text)

    out = aws("ecr", "set-repository-policy", "--repository-name", repo, "--policy-text", f"file://{path}")
    assert out["repositoryName"] == repo
    assert REGISTRY_ID_RE.match(out["registryId"])
    assert out["policyText"] == text

    got = aws("ecr", "get-repository-policy", "--repository-name", repo)
    assert got == {"registryId": registry_id, "repositoryName": repo, "policyText": text}
    assert json.loads(got["policyText"]) == json.loads(text)

    deleted = aws("ecr", "delete-repository-policy", "--repository-name", repo)
    assert deleted["policyText"] == text
    stderr = aws.fail("ecr", "get-repository-policy", "--repository-name", repo)
    assert "RepositoryPolicyNotFoundException" in stderr


def test_cli_get_repository_policy_without_one_fails(aws, repo):
    stderr = aws.fail("ecr", "get-repository-policy", "--repository-name", repo)
    assert "RepositoryPolicyNotFoundException" in stderr


def test_cli_refuses_a_policy_with_a_condition(aws, repo, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(policy_text(pull_statement("*", Condition={"StringEquals": {"aws:username": "x"}})))
    stderr = aws.fail("ecr", "set-repository-policy", "--repository-name", repo, "--policy-text", f"file://{path}")
    assert "InvalidParameterException" in stderr


def test_cli_registry_policy_round_trip(aws, ecr, registry_id, tmp_path):
    text = policy_text(harmless_statement(registry_id))
    path = tmp_path / "registry-policy.json"
    path.write_text(text)
    with registry_policy_removed_after(ecr):
        out = aws("ecr", "put-registry-policy", "--policy-text", f"file://{path}")
        assert out == {"registryId": registry_id, "policyText": text}
        assert aws("ecr", "get-registry-policy") == {"registryId": registry_id, "policyText": text}
        assert aws("ecr", "delete-registry-policy")["policyText"] == text
        assert "RegistryPolicyNotFoundException" in aws.fail("ecr", "get-registry-policy")


# --------------------------------------------------------------------------
# SetRepositoryPolicy's force: no accidental lock-out


def lock_out_statement(registry_id: str, user: str = "admin") -> dict:
    return {
        "Sid": "NoMorePolicyChanges",
        "Effect": "Deny",
        "Principal": {"AWS": user_arn(registry_id, user)},
        "Action": "ecr:SetRepositoryPolicy",
    }


def test_a_policy_that_would_lock_the_caller_out_needs_force(ecr, repo, registry_id):
    text = policy_text(lock_out_statement(registry_id))
    error = expect_error("InvalidParameterException", ecr.set_repository_policy, repositoryName=repo, policyText=text)
    assert "force" in error.response["Error"]["Message"]
    expect_error("RepositoryPolicyNotFoundException", ecr.get_repository_policy, repositoryName=repo)
    expect_error("InvalidParameterException", ecr.set_repository_policy, repositoryName=repo, policyText=text,
                 force=False)

    out = ecr.set_repository_policy(repositoryName=repo, policyText=text, force=True)
    assert json.loads(out["policyText"]) == json.loads(text)
    # It acts: admin can no longer change it, forced or not.
    for force in (False, True):
        expect_error("AccessDeniedException", ecr.set_repository_policy, repositoryName=repo, status=403,
                     policyText=policy_text(harmless_statement(registry_id)), force=force)


def test_a_policy_that_leaves_the_caller_in_needs_no_force(ecr, repo, registry_id):
    # Denies another user only: admin keeps the right to change it.
    text = policy_text(lock_out_statement(registry_id, "somebody-else"))
    ecr.set_repository_policy(repositoryName=repo, policyText=text)
    assert json.loads(ecr.get_repository_policy(repositoryName=repo)["policyText"]) == json.loads(text)


def test_a_user_allowed_only_by_the_repository_policy_cannot_drop_themself(ecr, repo, registry_id, new_user):
    """The lock-out a user's own identity policies do not save them from:
    their right comes from the repository policy they are replacing."""
    keeper = new_user("keeper")
    own_right = {
        "Sid": "KeeperSetsPolicies", "Effect": "Allow", "Principal": {"AWS": keeper.arn},
        "Action": ["ecr:SetRepositoryPolicy", "ecr:GetRepositoryPolicy"],
    }
    ecr.set_repository_policy(repositoryName=repo, policyText=policy_text(own_right))
    keeper.ecr.set_repository_policy(repositoryName=repo,
                                     policyText=policy_text(own_right, harmless_statement(registry_id)))
    expect_error("InvalidParameterException", keeper.ecr.set_repository_policy, repositoryName=repo,
                 policyText=policy_text(harmless_statement(registry_id)))
    keeper.ecr.set_repository_policy(repositoryName=repo, policyText=policy_text(harmless_statement(registry_id)),
                                     force=True)
    expect_error("AccessDeniedException", keeper.ecr.get_repository_policy, repositoryName=repo, status=403)


def test_cli_set_repository_policy_force(aws, repo, registry_id, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(policy_text(lock_out_statement(registry_id)))
    stderr = aws.fail("ecr", "set-repository-policy", "--repository-name", repo, "--policy-text", f"file://{path}")
    assert "InvalidParameterException" in stderr
    out = aws("ecr", "set-repository-policy", "--repository-name", repo, "--policy-text", f"file://{path}", "--force")
    assert out["repositoryName"] == repo
