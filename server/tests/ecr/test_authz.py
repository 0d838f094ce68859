"""Authorization: users' managed and inline identity policies, repository
policies and the registry policy, enforced on the ECR API and on the registry
API (/v2/) alike. An explicit Deny anywhere wins, then an Allow anywhere,
else the caller is refused (AccessDeniedException, or 403 DENIED on /v2/)."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass

import pytest

from conftest import (
    ADMIN_PASSWORD,
    FULL_ACCESS,
    MANAGED_POLICY_ARN_PREFIX,
    OCI_MANIFEST,
    POWER_USER,
    PULL_ONLY,
    READ_ONLY,
    TIMEOUT,
    User,
    assert_registry_denied,
    basic_auth_header,
    create_user,
    delete_user,
    expect_denied,
    policy_text,
    repository_arn,
    sha256_digest,
    unique_name,
    user_arn,
)


def nobody_statement(registry_id: str) -> dict:
    """A repository-policy statement that affects no real caller."""
    return {
        "Sid": "Nobody",
        "Effect": "Deny",
        "Principal": {"AWS": user_arn(registry_id, "nobody-" + uuid.uuid4().hex[:8])},
        "Action": "ecr:DeleteRepository",
    }


def repository_names(client, **kwargs) -> set:
    names = set()
    for page in client.get_paginator("describe_repositories").paginate(**kwargs):
        names.update(r["repositoryName"] for r in page["repositories"])
    return names


def fresh_manifest(registry, repo: str) -> tuple:
    """Pushes (as admin) a layer and config to `repo` and returns a manifest
    over them that is not pushed yet: (body, digest)."""
    layer = registry.push_blob(repo, os.urandom(300))
    config = registry.push_config(repo, [layer])
    body = registry.image_manifest(config, [layer], annotations={"n": uuid.uuid4().hex})
    return body, sha256_digest(body)


@pytest.fixture
def registry_policy_cleanup(ecr):
    """Deletes the registry policy after the test, whatever happened: all tests
    share one server and a registry policy applies to every repository."""
    yield
    try:
        ecr.delete_registry_policy()
    except ecr.exceptions.RegistryPolicyNotFoundException:
        pass


# --------------------------------------------------------------------------
# (1) the managed policies, operation by operation


@dataclass
class Context:
    """What the operation table works on: a repository with one image (and a
    harmless repository policy) made by admin, and a way to make more."""

    ecr: object  # admin's client
    registry: object  # admin's /v2/
    registry_id: str
    repo: str
    image: object

    def arn(self, name: str | None = None) -> str:
        return repository_arn(self.registry_id, name or self.repo)

    def throwaway(self, **kwargs) -> str:
        name = unique_name("authz-throwaway")
        self.ecr.create_repository(repositoryName=name, **kwargs)
        return name

    def with_policy(self) -> str:
        name = self.throwaway()
        self.ecr.set_repository_policy(repositoryName=name, policyText=policy_text(nobody_statement(self.registry_id)))
        return name

    def upload(self, data: bytes, complete: bool = False) -> str:
        """An ECR layer upload begun by admin (and its part sent, if `complete`)."""
        upload_id = self.ecr.initiate_layer_upload(repositoryName=self.repo)["uploadId"]
        if complete:
            self.ecr.upload_layer_part(
                repositoryName=self.repo, uploadId=upload_id,
                partFirstByte=0, partLastByte=len(data) - 1, layerPartBlob=data,
            )
        return upload_id


def op_create(c):
    name = unique_name("authz-created")
    return "create_repository", {"repositoryName": name}, c.arn(name)


def op_delete(c):
    name = c.throwaway()
    return "delete_repository", {"repositoryName": name}, c.arn(name)


def op_set_policy(c):
    name = c.throwaway()
    return "set_repository_policy", {
        "repositoryName": name, "policyText": policy_text(nobody_statement(c.registry_id)),
    }, c.arn(name)


def op_delete_policy(c):
    name = c.with_policy()
    return "delete_repository_policy", {"repositoryName": name}, c.arn(name)


def op_tag(c):
    name = c.throwaway()
    return "tag_resource", {"resourceArn": c.arn(name), "tags": [{"Key": "team", "Value": "x"}]}, c.arn(name)


def op_untag(c):
    name = c.throwaway(tags=[{"Key": "team", "Value": "x"}])
    return "untag_resource", {"resourceArn": c.arn(name), "tagKeys": ["team"]}, c.arn(name)


def op_mutability(c):
    name = c.throwaway()
    return "put_image_tag_mutability", {"repositoryName": name, "imageTagMutability": "IMMUTABLE"}, c.arn(name)


def op_scanning(c):
    name = c.throwaway()
    return "put_image_scanning_configuration", {
        "repositoryName": name, "imageScanningConfiguration": {"scanOnPush": True},
    }, c.arn(name)


def op_batch_delete(c):
    name = c.throwaway()
    c.registry.push_image(name, "doomed")
    return "batch_delete_image", {"repositoryName": name, "imageIds": [{"imageTag": "doomed"}]}, c.arn(name)


def op_upload_part(c):
    data = os.urandom(200)
    upload_id = c.upload(data)
    return "upload_layer_part", {
        "repositoryName": c.repo, "uploadId": upload_id,
        "partFirstByte": 0, "partLastByte": len(data) - 1, "layerPartBlob": data,
    }, c.arn()


def op_complete(c):
    data = os.urandom(200)
    upload_id = c.upload(data, complete=True)
    return "complete_layer_upload", {
        "repositoryName": c.repo, "uploadId": upload_id, "layerDigests": [sha256_digest(data)],
    }, c.arn()


def op_put_image(c):
    return "put_image", {
        "repositoryName": c.repo, "imageManifest": c.image.manifest_text,
        "imageManifestMediaType": OCI_MANIFEST, "imageTag": "t-" + uuid.uuid4().hex[:12],
    }, c.arn()


def op_scan_findings(c):
    c.ecr.start_image_scan(repositoryName=c.repo, imageId={"imageTag": "latest"})
    return "describe_image_scan_findings", {"repositoryName": c.repo, "imageId": {"imageTag": "latest"}}, c.arn()


# Operation -> (Context -> (boto3 method, arguments, resource ARN or "*")),
# each built so that it succeeds when allowed.
OPERATIONS = {
    "GetAuthorizationToken": lambda c: ("get_authorization_token", {}, "*"),
    "DescribeRegistry": lambda c: ("describe_registry", {}, "*"),
    "DescribeRepositories": lambda c: ("describe_repositories", {"repositoryNames": [c.repo]}, c.arn()),
    "ListImages": lambda c: ("list_images", {"repositoryName": c.repo}, c.arn()),
    "DescribeImages": lambda c: ("describe_images", {"repositoryName": c.repo}, c.arn()),
    "BatchGetImage": lambda c: (
        "batch_get_image", {"repositoryName": c.repo, "imageIds": [{"imageTag": "latest"}]}, c.arn()),
    "BatchCheckLayerAvailability": lambda c: (
        "batch_check_layer_availability",
        {"repositoryName": c.repo, "layerDigests": [c.image.layers[0]["digest"]]}, c.arn()),
    "GetRepositoryPolicy": lambda c: ("get_repository_policy", {"repositoryName": c.repo}, c.arn()),
    "ListTagsForResource": lambda c: ("list_tags_for_resource", {"resourceArn": c.arn()}, c.arn()),
    "InitiateLayerUpload": lambda c: ("initiate_layer_upload", {"repositoryName": c.repo}, c.arn()),
    "UploadLayerPart": op_upload_part,
    "CompleteLayerUpload": op_complete,
    "PutImage": op_put_image,
    "CreateRepository": op_create,
    "DeleteRepository": op_delete,
    "SetRepositoryPolicy": op_set_policy,
    "DeleteRepositoryPolicy": op_delete_policy,
    "TagResource": op_tag,
    "UntagResource": op_untag,
    "PutImageTagMutability": op_mutability,
    "PutImageScanningConfiguration": op_scanning,
    "BatchDeleteImage": op_batch_delete,
    "StartImageScan": lambda c: (
        "start_image_scan", {"repositoryName": c.repo, "imageId": {"imageTag": "latest"}}, c.arn()),
    "DescribeImageScanFindings": op_scan_findings,
}

# What AWS's managed policies allow, among the operations above.
PULL_ONLY_ALLOWS = {"GetAuthorizationToken", "BatchGetImage"}
READ_ONLY_ALLOWS = PULL_ONLY_ALLOWS | {
    "DescribeRepositories", "ListImages", "DescribeImages", "BatchCheckLayerAvailability",
    "GetRepositoryPolicy", "ListTagsForResource", "DescribeImageScanFindings",
}
POWER_USER_ALLOWS = READ_ONLY_ALLOWS | {"InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload", "PutImage"}
ALLOWS = {
    PULL_ONLY: PULL_ONLY_ALLOWS,
    READ_ONLY: READ_ONLY_ALLOWS,
    POWER_USER: POWER_USER_ALLOWS,
    FULL_ACCESS: set(OPERATIONS),
}
SHORT = {PULL_ONLY: "PullOnly", READ_ONLY: "ReadOnly", POWER_USER: "PowerUser", FULL_ACCESS: "FullAccess"}

TABLE = [
    pytest.param(policy, op, op in ALLOWS[policy], id=f"{SHORT[policy]}-{op}-{'allowed' if op in ALLOWS[policy] else 'denied'}")
    for policy in ALLOWS
    for op in OPERATIONS
]


@pytest.fixture(scope="module")
def managed_users(server, registry_id):
    """One user with an access key per managed policy."""
    users = {policy: create_user(server, registry_id, f"managed-{SHORT[policy]}", policy) for policy in ALLOWS}
    yield users
    for user in users.values():
        delete_user(server, user)


@pytest.fixture(scope="module")
def table(ecr, registry, registry_id) -> Context:
    name = unique_name("authz-table")
    ecr.create_repository(repositoryName=name)
    image = registry.push_image(name, "latest")
    ecr.set_repository_policy(repositoryName=name, policyText=policy_text(nobody_statement(registry_id)))
    return Context(ecr, registry, registry_id, name, image)


@pytest.mark.parametrize("policy, operation, allowed", TABLE)
def test_managed_policy_operations(managed_users, table, policy, operation, allowed):
    user = managed_users[policy]
    method, kwargs, resource = OPERATIONS[operation](table)
    call = getattr(user.ecr, method)
    if allowed:
        call(**kwargs)
    else:
        expect_denied(user, f"ecr:{operation}", resource, call, **kwargs)


def test_managed_policies_are_listed_as_managed(managed_users):
    for policy, user in managed_users.items():
        assert user.policies() == [{"policyName": policy, "type": "managed"}]


def test_denied_operation_changes_nothing(managed_users, table, ecr, registry_id):
    power = managed_users[POWER_USER]
    name = table.throwaway()
    expect_denied(power, "ecr:DeleteRepository", table.arn(name), power.ecr.delete_repository, repositoryName=name)
    assert ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryName"] == name
    text = policy_text(nobody_statement(registry_id))
    expect_denied(power, "ecr:SetRepositoryPolicy", table.arn(name), power.ecr.set_repository_policy,
                  repositoryName=name, policyText=text)
    with pytest.raises(ecr.exceptions.RepositoryPolicyNotFoundException):
        ecr.get_repository_policy(repositoryName=name)


def test_registry_policy_operations_need_full_access(managed_users):
    power = managed_users[POWER_USER]
    expect_denied(power, "ecr:GetRegistryPolicy", "*", power.ecr.get_registry_policy)
    expect_denied(power, "ecr:DeleteRegistryPolicy", "*", power.ecr.delete_registry_policy)
    expect_denied(power, "ecr:PutRegistryPolicy", "*", power.ecr.put_registry_policy,
                  policyText=policy_text({"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}))


def test_power_user_pushes_through_the_ecr_api(managed_users, table):
    power = managed_users[POWER_USER]
    client = power.ecr
    data = os.urandom(1024)
    upload_id = client.initiate_layer_upload(repositoryName=table.repo)["uploadId"]
    client.upload_layer_part(repositoryName=table.repo, uploadId=upload_id,
                             partFirstByte=0, partLastByte=len(data) - 1, layerPartBlob=data)
    layer = client.complete_layer_upload(repositoryName=table.repo, uploadId=upload_id,
                                         layerDigests=[sha256_digest(data)])["layerDigest"]
    config = table.registry.push_config(table.repo, [{"digest": layer}])
    body = table.registry.image_manifest(config, [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                                   "digest": layer, "size": len(data)}])
    out = client.put_image(repositoryName=table.repo, imageManifest=body.decode(),
                           imageManifestMediaType=OCI_MANIFEST, imageTag="by-power-user")
    assert out["image"]["imageId"]["imageDigest"] == sha256_digest(body)
    got = client.batch_get_image(repositoryName=table.repo, imageIds=[{"imageTag": "by-power-user"}])
    assert got["images"][0]["imageManifest"] == body.decode()


# The registry API under each managed policy: pull (manifest, blob), push (blob, manifest).
V2_ALLOWS = {
    PULL_ONLY: {"pull"},
    READ_ONLY: {"pull"},
    POWER_USER: {"pull", "push"},
    FULL_ACCESS: {"pull", "push"},
}


@pytest.mark.parametrize("policy", list(V2_ALLOWS), ids=[SHORT[p] for p in V2_ALLOWS])
def test_managed_policy_on_the_registry_api(managed_users, table, policy):
    user = managed_users[policy]
    v2 = user.registry()
    manifest = v2.get_manifest(table.repo, "latest")
    blob = v2.get_blob(table.repo, table.image.layers[0]["digest"])
    assert manifest.status_code == 200, manifest.text
    assert manifest.content == table.image.manifest
    assert blob.status_code == 200, blob.text
    assert sha256_digest(blob.content) == table.image.layers[0]["digest"]

    data = os.urandom(128)
    upload = v2.http.post(v2.url(f"/v2/{table.repo}/blobs/uploads/"), params={"digest": sha256_digest(data)},
                          data=data, headers={"Content-Type": "application/octet-stream"}, timeout=TIMEOUT)
    body = table.registry.image_manifest(table.image.config, table.image.layers,
                                         annotations={"by": SHORT[policy], "n": uuid.uuid4().hex})
    put = v2.put_manifest(table.repo, f"v2-{SHORT[policy].lower()}", body)
    if "push" in V2_ALLOWS[policy]:
        assert upload.status_code == 201, upload.text
        assert put.status_code == 201, put.text
    else:
        assert_registry_denied(upload)
        assert_registry_denied(put)


# --------------------------------------------------------------------------
# users without policies, and the denial message


def test_user_without_policy_may_do_nothing(new_user, table):
    nobody = new_user("nopolicy")
    assert nobody.policies() == []
    expect_denied(nobody, "ecr:GetAuthorizationToken", "*", nobody.ecr.get_authorization_token)
    expect_denied(nobody, "ecr:DescribeRepositories", table.arn(), nobody.ecr.describe_repositories,
                  repositoryNames=[table.repo])
    expect_denied(nobody, "ecr:BatchGetImage", table.arn(), nobody.ecr.batch_get_image,
                  repositoryName=table.repo, imageIds=[{"imageTag": "latest"}])
    name = unique_name("nopolicy-create")
    expect_denied(nobody, "ecr:CreateRepository", table.arn(name), nobody.ecr.create_repository, repositoryName=name)
    # Listing every repository shows none of them.
    assert table.repo not in repository_names(nobody.ecr)
    assert_registry_denied(nobody.registry().get_manifest(table.repo, "latest"))
    assert_registry_denied(nobody.registry().get_blob(table.repo, table.image.layers[0]["digest"]))


def test_denial_message_names_user_action_and_resource(new_user, table, registry_id):
    reader = new_user("reader", PULL_ONLY)
    error = expect_denied(reader, "ecr:ListImages", table.arn(), reader.ecr.list_images, repositoryName=table.repo)
    message = error.response["Error"]["Message"]
    assert message.startswith(
        f"User: arn:aws:iam::{registry_id}:user/{reader.name} is not authorized to perform: "
        f"ecr:ListImages on resource: arn:aws:ecr:us-east-1:{registry_id}:repository/{table.repo}"
    ), message


def test_cli_reports_access_denied(aws, new_user, table):
    reader = new_user("cli-reader", PULL_ONLY)
    stderr = aws.fail("ecr", "list-images", "--repository-name", table.repo,
                      access_key_id=reader.access_key_id, secret=reader.secret)
    assert "AccessDeniedException" in stderr
    assert f"User: {reader.arn} is not authorized to perform: ecr:ListImages" in stderr
    out = aws("ecr", "batch-get-image", "--repository-name", table.repo, "--image-ids", "imageTag=latest",
              access_key_id=reader.access_key_id, secret=reader.secret)
    assert out["images"][0]["imageManifest"] == table.image.manifest_text


def test_resource_arn_operations_are_authorized_on_that_repository(new_user, new_repo, registry_id, tmp_path):
    allowed, other = new_repo(), new_repo()
    lister = new_user("tag-lister")
    lister.put_policy("list-tags", policy_text({
        "Sid": "ListTagsOfOne", "Effect": "Allow", "Action": "ecr:ListTagsForResource",
        "Resource": repository_arn(registry_id, allowed),
    }), tmp_path)
    assert lister.ecr.list_tags_for_resource(resourceArn=repository_arn(registry_id, allowed))["tags"] == []
    expect_denied(lister, "ecr:ListTagsForResource", repository_arn(registry_id, other),
                  lister.ecr.list_tags_for_resource, resourceArn=repository_arn(registry_id, other))
    expect_denied(lister, "ecr:TagResource", repository_arn(registry_id, allowed), lister.ecr.tag_resource,
                  resourceArn=repository_arn(registry_id, allowed), tags=[{"Key": "k", "Value": "v"}])


def test_authorization_comes_before_existence(new_user, registry_id):
    reader = new_user("reader", PULL_ONLY)
    absent = unique_name("absent")
    expect_denied(reader, "ecr:ListImages", repository_arn(registry_id, absent), reader.ecr.list_images,
                  repositoryName=absent)
    expect_denied(reader, "ecr:DescribeRepositories", repository_arn(registry_id, absent),
                  reader.ecr.describe_repositories, repositoryNames=[absent])


def test_identity_policy_actions_are_case_insensitive(new_user, registry, new_repo, registry_id, tmp_path):
    repo = new_repo()
    registry.push_image(repo, "v1")
    lou = new_user("lou")
    lou.put_policy("lower-case", policy_text({
        "Effect": "Allow", "Action": ["ecr:batchgetimage", "ECR:LISTIMAGES"], "Resource": repository_arn(registry_id, repo),
    }), tmp_path)
    assert lou.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["images"]
    assert lou.ecr.list_images(repositoryName=repo)["imageIds"]
    expect_denied(lou, "ecr:DescribeImages", repository_arn(registry_id, repo), lou.ecr.describe_images,
                  repositoryName=repo)


def test_identity_policy_resource_wildcards(new_user, new_repo, registry_id, tmp_path):
    prefix = unique_name("wild")
    ecr_repos = [new_repo(prefix=f"{prefix}-a"), new_repo(prefix=f"{prefix}-b")]
    other = new_repo()
    max_ = new_user("max")
    max_.put_policy("prefix", policy_text({
        "Effect": "Allow", "Action": "ecr:List*",
        "Resource": f"arn:aws:ecr:us-east-1:{registry_id}:repository/{prefix}-*",
    }), tmp_path)
    for name in ecr_repos:
        max_.ecr.list_images(repositoryName=name)
    expect_denied(max_, "ecr:ListImages", repository_arn(registry_id, other), max_.ecr.list_images,
                  repositoryName=other)
    # A repository-level pattern does not cover registry-level actions.
    expect_denied(max_, "ecr:GetAuthorizationToken", "*", max_.ecr.get_authorization_token)


# --------------------------------------------------------------------------
# (2) a repository policy's explicit Deny


def test_repository_policy_deny_stops_one_user_only(ecr, registry, new_repo, new_user, registry_id):
    repo = new_repo()
    image = registry.push_image(repo, "base")
    bob = new_user("bob", POWER_USER)
    alice = new_user("alice", POWER_USER)
    ecr.set_repository_policy(repositoryName=repo, policyText=policy_text({
        "Sid": "NoPushForBob", "Effect": "Deny", "Principal": {"AWS": bob.arn}, "Action": "ecr:PutImage",
    }))

    def put(user, tag):
        return user.ecr.put_image(repositoryName=repo, imageManifest=image.manifest_text,
                                  imageManifestMediaType=OCI_MANIFEST, imageTag=tag)

    # The ECR API.
    expect_denied(bob, "ecr:PutImage", repository_arn(registry_id, repo), put, bob, "bob")
    assert put(alice, "alice")["image"]["imageId"] == {"imageDigest": image.digest, "imageTag": "alice"}

    # The registry API, as `docker push` would: blobs are fine, the manifest is not.
    bob_v2 = bob.registry()
    layer = bob_v2.push_blob(repo, os.urandom(700))
    config = bob_v2.push_config(repo, [layer])
    body = bob_v2.image_manifest(config, [layer])
    assert_registry_denied(bob_v2.put_manifest(repo, "bob-pushed", body))
    assert_registry_denied(bob_v2.put_manifest(repo, sha256_digest(body), body))
    alice_image = alice.registry().push_image(repo, "alice-pushed")

    tags = {i.get("imageTag") for i in ecr.list_images(repositoryName=repo)["imageIds"]}
    assert "alice" in tags and "alice-pushed" in tags
    assert "bob" not in tags and "bob-pushed" not in tags

    # Bob may still pull (his PowerUser policy allows it and nothing denies it).
    assert bob.registry().get_manifest(repo, "alice-pushed").content == alice_image.manifest
    assert bob.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "base"}])["images"]
    # ...and push elsewhere.
    elsewhere = new_repo()
    bob.registry().push_image(elsewhere, "bob-pushed")

    # Without the policy bob may push again.
    ecr.delete_repository_policy(repositoryName=repo)
    assert put(bob, "bob")["image"]["imageId"]["imageTag"] == "bob"
    assert bob_v2.put_manifest(repo, "bob-pushed", body).status_code == 201


def test_inline_deny_overrides_a_managed_allow(new_user, new_repo, registry, registry_id, tmp_path):
    guarded, open_repo = new_repo(), new_repo()
    image = registry.push_image(guarded, "v1")
    other = registry.push_image(open_repo, "v1")
    carl = new_user("carl", POWER_USER)
    carl.put_policy("no-push-to-guarded", policy_text({
        "Sid": "NoPush", "Effect": "Deny", "Action": ["ecr:PutImage", "ecr:InitiateLayerUpload"],
        "Resource": repository_arn(registry_id, guarded),
    }), tmp_path)
    assert sorted(carl.policies(), key=lambda p: p["policyName"]) == [
        {"policyName": POWER_USER, "type": "managed"},
        {"policyName": "no-push-to-guarded", "type": "inline"},
    ]
    expect_denied(carl, "ecr:PutImage", repository_arn(registry_id, guarded), carl.ecr.put_image,
                  repositoryName=guarded, imageManifest=image.manifest_text, imageTag="v2")
    expect_denied(carl, "ecr:InitiateLayerUpload", repository_arn(registry_id, guarded),
                  carl.ecr.initiate_layer_upload, repositoryName=guarded)
    carl.ecr.put_image(repositoryName=open_repo, imageManifest=other.manifest_text, imageTag="v2")
    carl.ecr.list_images(repositoryName=guarded)


# --------------------------------------------------------------------------
# (3) a repository policy's Allow for a user with no identity policy


def test_repository_policy_allow_lets_a_user_pull_that_repository_only(ecr, registry, new_repo, new_user, registry_id):
    shared, private = new_repo(), new_repo()
    image = registry.push_image(shared, "v1")
    secret = registry.push_image(private, "v1")
    carol = new_user("carol")
    expect_denied(carol, "ecr:BatchGetImage", repository_arn(registry_id, shared), carol.ecr.batch_get_image,
                  repositoryName=shared, imageIds=[{"imageTag": "v1"}])

    ecr.set_repository_policy(repositoryName=shared, policyText=policy_text({
        "Sid": "CarolPulls", "Effect": "Allow", "Principal": {"AWS": carol.arn},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
    }))

    got = carol.ecr.batch_get_image(repositoryName=shared, imageIds=[{"imageTag": "v1"}])
    assert [i["imageManifest"] for i in got["images"]] == [image.manifest_text]
    assert got["failures"] == []
    expect_denied(carol, "ecr:BatchGetImage", repository_arn(registry_id, private), carol.ecr.batch_get_image,
                  repositoryName=private, imageIds=[{"imageTag": "v1"}])
    # Only what the policy names.
    expect_denied(carol, "ecr:ListImages", repository_arn(registry_id, shared), carol.ecr.list_images,
                  repositoryName=shared)
    expect_denied(carol, "ecr:PutImage", repository_arn(registry_id, shared), carol.ecr.put_image,
                  repositoryName=shared, imageManifest=image.manifest_text, imageTag="carol")
    expect_denied(carol, "ecr:GetAuthorizationToken", "*", carol.ecr.get_authorization_token)

    # Over /v2/, with her password and with her access key.
    for auth in [(carol.name, carol.password), (carol.access_key_id, carol.secret)]:
        v2 = carol.registry(auth=auth)
        manifest = v2.get_manifest(shared, "v1")
        assert manifest.status_code == 200, manifest.text
        assert manifest.content == image.manifest
        blob = v2.get_blob(shared, image.layers[0]["digest"])
        assert blob.status_code == 200, blob.text
        assert sha256_digest(blob.content) == image.layers[0]["digest"]
        assert_registry_denied(v2.get_manifest(private, "v1"))
        assert_registry_denied(v2.get_blob(private, secret.layers[0]["digest"]))
        assert_registry_denied(v2.put_manifest(shared, "carol", image.manifest))


PRINCIPALS = {
    "star": (lambda rid, user: "*", True),
    "aws-star": (lambda rid, user: {"AWS": "*"}, True),
    "account-id": (lambda rid, user: {"AWS": rid}, True),
    "account-root-arn": (lambda rid, user: {"AWS": f"arn:aws:iam::{rid}:root"}, True),
    "user-arn-in-list": (lambda rid, user: {"AWS": [user_arn(rid, "somebody-else"), user.arn]}, True),
    "other-user": (lambda rid, user: {"AWS": user_arn(rid, "somebody-else")}, False),
    "other-account": (lambda rid, user: {"AWS": "arn:aws:iam::999999999999:user/" + user.name}, False),
}


def test_repository_policy_statement_for_another_repository_grants_nothing(ecr, registry, new_repo, new_user,
                                                                          registry_id):
    repo, other = new_repo(), new_repo()
    registry.push_image(repo, "v1")
    nora = new_user("nora")
    ecr.set_repository_policy(repositoryName=repo, policyText=policy_text({
        "Sid": "Elsewhere", "Effect": "Allow", "Principal": {"AWS": nora.arn}, "Action": "ecr:BatchGetImage",
        "Resource": repository_arn(registry_id, other),
    }))
    expect_denied(nora, "ecr:BatchGetImage", repository_arn(registry_id, repo), nora.ecr.batch_get_image,
                  repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    # A policy attached to one repository says nothing about another.
    expect_denied(nora, "ecr:BatchGetImage", repository_arn(registry_id, other), nora.ecr.batch_get_image,
                  repositoryName=other, imageIds=[{"imageTag": "v1"}])


def test_repository_policy_deny_for_everyone_blocks_admin(ecr, registry, new_repo, server, registry_id):
    repo = new_repo()
    image = registry.push_image(repo, "v1")
    admin = User(server, "admin", ADMIN_PASSWORD, user_arn(registry_id, "admin"))
    ecr.set_repository_policy(repositoryName=repo, policyText=policy_text({
        "Sid": "Frozen", "Effect": "Deny", "Principal": "*", "Action": ["ecr:PutImage", "ecr:BatchDeleteImage"],
    }))
    expect_denied(admin, "ecr:PutImage", repository_arn(registry_id, repo), ecr.put_image,
                  repositoryName=repo, imageManifest=image.manifest_text, imageTag="v2")
    assert_registry_denied(registry.put_manifest(repo, "v2", image.manifest))
    assert registry.get_manifest(repo, "v1").status_code == 200
    ecr.delete_repository_policy(repositoryName=repo)
    assert registry.put_manifest(repo, "v2", image.manifest).status_code == 201


@pytest.mark.parametrize("form", list(PRINCIPALS))
def test_repository_policy_principal_forms(ecr, registry, new_repo, new_user, registry_id, form):
    repo = new_repo()
    registry.push_image(repo, "v1")
    dora = new_user("dora")
    principal, matches = PRINCIPALS[form]
    ecr.set_repository_policy(repositoryName=repo, policyText=policy_text({
        "Sid": "Pull", "Effect": "Allow", "Principal": principal(registry_id, dora), "Action": "ecr:BatchGetImage",
    }))
    call = dora.ecr.batch_get_image
    if matches:
        assert call(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["images"]
    else:
        expect_denied(dora, "ecr:BatchGetImage", repository_arn(registry_id, repo), call,
                      repositoryName=repo, imageIds=[{"imageTag": "v1"}])


def test_repository_policy_action_wildcard(ecr, registry, new_repo, new_user, registry_id):
    repo = new_repo()
    image = registry.push_image(repo, "v1")
    eve = new_user("eve")
    ecr.set_repository_policy(repositoryName=repo, policyText=policy_text({
        "Sid": "Batch", "Effect": "Allow", "Principal": {"AWS": eve.arn}, "Action": "ecr:Batch*",
    }))
    assert eve.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["images"]
    layers = eve.ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[image.layers[0]["digest"]])
    assert layers["layers"][0]["layerAvailability"] == "AVAILABLE"
    eve.ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "absent"}])
    expect_denied(eve, "ecr:ListImages", repository_arn(registry_id, repo), eve.ecr.list_images, repositoryName=repo)


def test_repository_policy_not_action_deny(ecr, registry, new_repo, new_user, registry_id):
    repo, other = new_repo(), new_repo()
    image = registry.push_image(repo, "v1")
    fred = new_user("fred", POWER_USER)
    ecr.set_repository_policy(repositoryName=repo, policyText=policy_text({
        "Sid": "PullOnlyForFred", "Effect": "Deny", "Principal": {"AWS": fred.arn},
        "NotAction": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
    }))
    assert fred.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["images"]
    expect_denied(fred, "ecr:ListImages", repository_arn(registry_id, repo), fred.ecr.list_images, repositoryName=repo)
    expect_denied(fred, "ecr:PutImage", repository_arn(registry_id, repo), fred.ecr.put_image,
                  repositoryName=repo, imageManifest=image.manifest_text, imageTag="v2")
    assert fred.registry().get_manifest(repo, "v1").status_code == 200
    fred.ecr.list_images(repositoryName=other)


# --------------------------------------------------------------------------
# (4) the registry policy


def test_registry_policy_deny_blocks_even_admin(server, ecr, new_repo, new_user, registry_id,
                                                registry_policy_cleanup):
    repo = new_repo()
    full = new_user("full", FULL_ACCESS)
    admin = User(server, "admin", ADMIN_PASSWORD, user_arn(registry_id, "admin"))
    ecr.put_registry_policy(policyText=policy_text({
        "Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "ecr:DeleteRepository",
    }))
    try:
        expect_denied(admin, "ecr:DeleteRepository", repository_arn(registry_id, repo), ecr.delete_repository,
                      repositoryName=repo)
        expect_denied(full, "ecr:DeleteRepository", repository_arn(registry_id, repo), full.ecr.delete_repository,
                      repositoryName=repo, force=True)
        assert ecr.describe_repositories(repositoryNames=[repo])["repositories"]
        # Everything else still works.
        ecr.list_images(repositoryName=repo)
        full.ecr.describe_repositories(repositoryNames=[repo])
    finally:
        ecr.delete_registry_policy()
    ecr.delete_repository(repositoryName=repo)
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_repositories(repositoryNames=[repo])


def test_registry_policy_allow_grants_on_every_repository(ecr, registry, new_repo, new_user, registry_id,
                                                          registry_policy_cleanup):
    one, two = new_repo(), new_repo()
    registry.push_image(one, "v1")
    registry.push_image(two, "v1")
    gina = new_user("gina")
    expect_denied(gina, "ecr:ListImages", repository_arn(registry_id, one), gina.ecr.list_images, repositoryName=one)
    ecr.put_registry_policy(policyText=policy_text({
        "Sid": "GinaLists", "Effect": "Allow", "Principal": {"AWS": gina.arn}, "Action": "ecr:ListImages",
    }))
    try:
        assert gina.ecr.list_images(repositoryName=one)["imageIds"]
        assert gina.ecr.list_images(repositoryName=two)["imageIds"]
        expect_denied(gina, "ecr:DescribeImages", repository_arn(registry_id, one), gina.ecr.describe_images,
                      repositoryName=one)
    finally:
        ecr.delete_registry_policy()
    expect_denied(gina, "ecr:ListImages", repository_arn(registry_id, one), gina.ecr.list_images, repositoryName=one)


# --------------------------------------------------------------------------
# (5) DescribeRepositories shows only what the caller may describe


def test_describe_repositories_lists_only_allowed_repositories(ecr, new_user, registry_id, tmp_path):
    team = unique_name("team")
    mine = [f"{team}/api", f"{team}/web", f"{team}/tools/lint"]
    others = [unique_name("other"), f"{team}-not/api"]
    created = mine + others
    for name in created:
        ecr.create_repository(repositoryName=name)
    try:
        hana = new_user("hana")
        hana.put_policy("team-describe", policy_text({
            "Sid": "DescribeTeam", "Effect": "Allow", "Action": "ecr:DescribeRepositories",
            "Resource": f"arn:aws:ecr:us-east-1:{registry_id}:repository/{team}/*",
        }), tmp_path)
        assert hana.policies() == [{"policyName": "team-describe", "type": "inline"}]

        assert repository_names(hana.ecr) == set(mine)
        assert repository_names(hana.ecr, PaginationConfig={"PageSize": 1}) == set(mine)
        # Admin sees them all.
        assert set(created) <= repository_names(ecr)
        # So does the registry API's catalog, page by page.
        v2 = hana.registry()
        r = v2.http.get(v2.url("/v2/_catalog"), timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        assert set(r.json()["repositories"]) == set(mine)
        seen, last = [], None
        for _ in range(len(created) + 5):
            params = {"n": 1, **({"last": last} if last else {})}
            page = v2.http.get(v2.url("/v2/_catalog"), params=params, timeout=TIMEOUT)
            assert page.status_code == 200, page.text
            seen += page.json()["repositories"]
            if "Link" not in page.headers:
                break
            last = seen[-1] if seen else last
            assert page.json()["repositories"], "an empty page before the end"
        assert sorted(seen) == sorted(mine)

        named = hana.ecr.describe_repositories(repositoryNames=[mine[0], mine[1]])["repositories"]
        assert {r["repositoryName"] for r in named} == {mine[0], mine[1]}
        for outside in others:
            expect_denied(hana, "ecr:DescribeRepositories", repository_arn(registry_id, outside),
                          hana.ecr.describe_repositories, repositoryNames=[outside])
        expect_denied(hana, "ecr:DescribeRepositories", repository_arn(registry_id, others[0]),
                      hana.ecr.describe_repositories, repositoryNames=[mine[0], others[0]])
        # The policy names one action only.
        expect_denied(hana, "ecr:ListImages", repository_arn(registry_id, mine[0]), hana.ecr.list_images,
                      repositoryName=mine[0])
    finally:
        for name in created:
            ecr.delete_repository(repositoryName=name, force=True)


# --------------------------------------------------------------------------
# (6) an authorization token carries its user's permissions


def test_pull_only_token_pulls_but_cannot_push(new_user, registry, new_repo, server):
    repo = new_repo()
    image = registry.push_image(repo, "v1")
    puller = new_user("puller", PULL_ONLY)
    entry = puller.ecr.get_authorization_token()["authorizationData"][0]
    assert entry["proxyEndpoint"] == server.url
    user, _, token = base64.b64decode(entry["authorizationToken"]).decode().partition(":")
    assert user == "AWS"

    v2 = puller.registry(auth=("AWS", token))
    manifest = v2.get_manifest(repo, "v1")
    assert manifest.status_code == 200, manifest.text
    assert manifest.content == image.manifest
    assert manifest.headers["Docker-Content-Digest"] == image.digest
    head = v2.http.head(v2.url(f"/v2/{repo}/manifests/v1"), headers={"Accept": OCI_MANIFEST}, timeout=TIMEOUT)
    assert head.status_code == 200
    blob = v2.get_blob(repo, image.layers[0]["digest"])
    assert blob.status_code == 200
    assert sha256_digest(blob.content) == image.layers[0]["digest"]

    body = registry.image_manifest(image.config, image.layers, annotations={"by": "puller"})
    assert_registry_denied(v2.put_manifest(repo, "pushed-by-puller", body))
    data = os.urandom(64)
    upload = v2.http.post(v2.url(f"/v2/{repo}/blobs/uploads/"), params={"digest": sha256_digest(data)},
                          data=data, headers={"Content-Type": "application/octet-stream"}, timeout=TIMEOUT)
    assert_registry_denied(upload)
    assert_registry_denied(v2.http.post(v2.url(f"/v2/{repo}/blobs/uploads/"), timeout=TIMEOUT))
    # The header exactly as docker sends it.
    r = v2.http.put(v2.url(f"/v2/{repo}/manifests/pushed-by-puller"), data=body, auth=None,
                    headers={"Content-Type": OCI_MANIFEST, "Authorization": basic_auth_header("AWS", token)},
                    timeout=TIMEOUT)
    assert_registry_denied(r)
    assert registry.get_manifest(repo, "pushed-by-puller").status_code == 404


def test_cross_repository_mount_needs_read_access_to_the_source(new_user, registry, new_repo, registry_id, tmp_path):
    source, target, readable = new_repo(), new_repo(), new_repo()
    hidden = registry.push_image(source, "v1")
    shown = registry.push_image(readable, "v1")
    oscar = new_user("oscar")
    oscar.put_policy("push-target-read-readable", policy_text(
        {"Sid": "Push", "Effect": "Allow", "Action": ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                                                      "ecr:CompleteLayerUpload", "ecr:PutImage"],
         "Resource": repository_arn(registry_id, target)},
        {"Sid": "Read", "Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
         "Resource": repository_arn(registry_id, readable)},
    ), tmp_path)
    v2 = oscar.registry()

    def mount(digest, source_repo):
        return v2.http.post(v2.url(f"/v2/{target}/blobs/uploads/"), params={"mount": digest, "from": source_repo},
                            timeout=TIMEOUT)

    # Not readable: no mount, an ordinary upload session starts instead.
    r = mount(hidden.layers[0]["digest"], source)
    assert r.status_code == 202, r.text
    assert registry.get_blob(target, hidden.layers[0]["digest"]).status_code == 404
    # Readable: mounted.
    r = mount(shown.layers[0]["digest"], readable)
    assert r.status_code == 201, r.text
    assert registry.get_blob(target, shown.layers[0]["digest"]).status_code == 200


def test_push_that_creates_a_repository_needs_create_repository(new_user, registry_id):
    power = new_user("power", POWER_USER)
    full = new_user("full", FULL_ACCESS)
    name = unique_name("created-on-push")
    v2 = power.registry()
    data = os.urandom(100)
    r = v2.http.post(v2.url(f"/v2/{name}/blobs/uploads/"), params={"digest": sha256_digest(data)}, data=data,
                     headers={"Content-Type": "application/octet-stream"}, timeout=TIMEOUT)
    assert_registry_denied(r)
    with pytest.raises(full.ecr.exceptions.RepositoryNotFoundException):
        full.ecr.describe_repositories(repositoryNames=[name])
    image = full.registry().push_image(name, "v1")
    assert full.ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "v1"}])["images"][0][
        "imageManifest"] == image.manifest_text
    full.ecr.delete_repository(repositoryName=name, force=True)


# --------------------------------------------------------------------------
# (7) policy changes take effect at once


def test_detaching_a_policy_takes_effect_immediately(new_user, registry, new_repo, registry_id, tmp_path):
    repo = new_repo()
    image = registry.push_image(repo, "v1")
    ivan = new_user("ivan", READ_ONLY)
    arn = repository_arn(registry_id, repo)
    token = base64.b64decode(
        ivan.ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    ).decode().partition(":")[2]
    by_password, by_token = ivan.registry(), ivan.registry(auth=("AWS", token))

    assert ivan.policies() == [{"policyName": READ_ONLY, "type": "managed"}]
    assert ivan.ecr.list_images(repositoryName=repo)["imageIds"]
    assert by_password.get_manifest(repo, "v1").status_code == 200
    assert by_token.get_manifest(repo, "v1").status_code == 200

    ivan.detach(READ_ONLY)
    assert ivan.policies() == []
    expect_denied(ivan, "ecr:ListImages", arn, ivan.ecr.list_images, repositoryName=repo)
    assert_registry_denied(by_password.get_manifest(repo, "v1"))
    assert_registry_denied(by_token.get_manifest(repo, "v1"))

    # Attached again by its ARN, it is listed by its name.
    ivan.attach(MANAGED_POLICY_ARN_PREFIX + READ_ONLY)
    assert ivan.policies() == [{"policyName": READ_ONLY, "type": "managed"}]
    assert ivan.ecr.list_images(repositoryName=repo)["imageIds"]
    assert by_token.get_manifest(repo, "v1").content == image.manifest

    # An inline policy likewise.
    ivan.detach(READ_ONLY)
    ivan.put_policy("describe-images", policy_text({
        "Sid": "Describe", "Effect": "Allow", "Action": "ecr:DescribeImages", "Resource": arn,
    }), tmp_path)
    assert ivan.policies() == [{"policyName": "describe-images", "type": "inline"}]
    assert ivan.ecr.describe_images(repositoryName=repo)["imageDetails"]
    ivan.detach("describe-images")
    expect_denied(ivan, "ecr:DescribeImages", arn, ivan.ecr.describe_images, repositoryName=repo)


def test_attaching_a_policy_takes_effect_immediately(new_user, new_repo, registry_id):
    repo = new_repo()
    jo = new_user("jo")
    expect_denied(jo, "ecr:ListImages", repository_arn(registry_id, repo), jo.ecr.list_images, repositoryName=repo)
    jo.attach(READ_ONLY)
    assert jo.ecr.list_images(repositoryName=repo)["imageIds"] == []
    jo.attach(POWER_USER)
    assert sorted(p["policyName"] for p in jo.policies()) == sorted([READ_ONLY, POWER_USER])


def test_user_create_with_several_policies(new_user, new_repo):
    repo = new_repo()
    kim = new_user("kim", PULL_ONLY, MANAGED_POLICY_ARN_PREFIX + POWER_USER)
    assert sorted(kim.policies(), key=lambda p: p["policyName"]) == [
        {"policyName": POWER_USER, "type": "managed"},
        {"policyName": PULL_ONLY, "type": "managed"},
    ]
    kim.ecr.initiate_layer_upload(repositoryName=repo)


# --------------------------------------------------------------------------
# the admin commands refuse what they cannot do


def test_policy_commands_refuse_bad_input(server, new_user, tmp_path):
    lee = new_user("lee", key=False)
    assert server.admin("user", "attach-policy", lee.name, "AmazonEC2ContainerRegistryEverything",
                        check=False).returncode != 0
    assert server.admin("user", "attach-policy", unique_name("ghost"), READ_ONLY, check=False).returncode != 0
    assert server.admin("user", "detach-policy", lee.name, READ_ONLY, check=False).returncode != 0

    def put(text: str):
        path = tmp_path / f"{uuid.uuid4().hex}.json"
        path.write_text(text)
        return server.admin("user", "put-policy", lee.name, "p", "--file", str(path), check=False)

    statement = {"Effect": "Allow", "Action": "ecr:ListImages", "Resource": "*"}
    assert put("{not json").returncode != 0
    assert put(policy_text(dict(statement, Principal="*"))).returncode != 0  # identity policies name no principal
    assert put(policy_text({"Effect": "Allow", "Action": "ecr:ListImages"})).returncode != 0  # ...but a resource
    assert put(policy_text(dict(statement, Condition={"Bool": {"aws:SecureTransport": "true"}}))).returncode != 0
    assert lee.policies() == []
    assert put(policy_text(statement)).returncode == 0
    assert lee.policies() == [{"policyName": "p", "type": "inline"}]
    valid = tmp_path / "valid.json"
    valid.write_text(policy_text(statement))
    # A managed policy's name is not an inline policy's.
    assert server.admin("user", "put-policy", lee.name, READ_ONLY, "--file", str(valid), check=False).returncode != 0
    assert lee.policies() == [{"policyName": "p", "type": "inline"}]
