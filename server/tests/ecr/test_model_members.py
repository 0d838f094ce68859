"""The ECR face speaks botocore's model (ecr/2015-09-21): every input member of
every served operation is known (honoured or refused by name), an unknown one
is refused with InvalidParameterException naming it, and the members that
used to be dropped (filters, registryIds, paging defaults) now act."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import botocore.session
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import OCI_MANIFEST, REGION, TIMEOUT, Registry, Server, expect_error, unique_name

# botocore's own model of the API, as the installed botocore ships it.
MODEL = botocore.session.get_session().get_component("data_loader").load_service_model("ecr", "service-2")
TARGET = "AmazonEC2ContainerRegistry_V20150921."

# The operations Berth serves (its `Operation` enum), all of them in the model.
SERVED = [
    "BatchCheckLayerAvailability", "BatchDeleteImage", "BatchGetImage", "CompleteLayerUpload",
    "CreateRepository", "DeleteRepository", "DescribeImages", "DescribeRegistry",
    "DescribeRepositories", "GetAuthorizationToken", "InitiateLayerUpload", "ListImageReferrers",
    "ListImages", "ListTagsForResource", "PutImage", "PutImageScanningConfiguration",
    "PutImageTagMutability", "TagResource", "UntagResource", "UploadLayerPart",
    "SetRepositoryPolicy", "GetRepositoryPolicy", "DeleteRepositoryPolicy", "PutRegistryPolicy",
    "GetRegistryPolicy", "DeleteRegistryPolicy", "GetDownloadUrlForLayer",
    "PutRegistryScanningConfiguration", "GetRegistryScanningConfiguration",
    "BatchGetRepositoryScanningConfiguration", "PutLifecyclePolicy", "GetLifecyclePolicy",
    "DeleteLifecyclePolicy", "StartLifecyclePolicyPreview", "GetLifecyclePolicyPreview",
    "GetAccountSetting", "PutAccountSetting", "StartImageScan", "DescribeImageScanFindings",
]


def input_members(operation: str) -> list:
    shape = MODEL["operations"][operation].get("input")
    if not shape:
        return []
    return list(MODEL["shapes"][shape["shape"]].get("members", {}))


class RawEcr:
    """Signed AWS JSON 1.1 requests with any body, which botocore's own
    client would refuse to send (unknown members, nulls)."""

    def __init__(self, server: Server, key: dict):
        self.url = server.url + "/"
        self.credentials = Credentials(key["accessKeyId"], key["secretAccessKey"])

    def __call__(self, operation: str, body: dict) -> requests.Response:
        request = AWSRequest(
            method="POST",
            url=self.url,
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": TARGET + operation,
            },
        )
        SigV4Auth(self.credentials, "ecr", REGION).add_auth(request)
        prepared = request.prepare()
        return requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=TIMEOUT)


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A server of this module's own: the member sweep calls every served
    operation, DeleteRegistryPolicy and PutRegistryScanningConfiguration
    among them, which must not touch the shared server's settings."""
    srv = Server(tmp_path_factory.mktemp("berth-members"), env={"BERTH_RATE_LIMIT": "0"})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def raw(own_server):
    return RawEcr(own_server, own_server.create_access_key())


def test_every_served_operation_is_in_the_model():
    assert set(SERVED) <= set(MODEL["operations"]), set(SERVED) - set(MODEL["operations"])


@pytest.mark.parametrize("operation", SERVED)
def test_an_unknown_member_is_refused_by_name(raw, operation):
    r = raw(operation, {"notAMember": 1})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["__type"] == "InvalidParameterException", body
    assert "notAMember" in body["message"], body


@pytest.mark.parametrize("operation", SERVED)
def test_every_model_member_is_known(raw, operation):
    """Each member of the model's input, sent as null (absent), is one the
    operation knows: whatever else is wrong, it is not called unknown."""
    members = input_members(operation)
    r = raw(operation, {m: None for m in members})
    if r.status_code != 200:
        body = r.json()
        assert "unknown field" not in body["message"], (operation, body)


def test_an_unknown_nested_member_is_refused_by_name(raw):
    r = raw("ListImages", {"repositoryName": "whatever", "filter": {"tagStatus": "ANY", "colour": "red"}})
    assert r.status_code == 400, r.text
    assert r.json()["__type"] == "InvalidParameterException"
    assert "colour" in r.json()["message"]


# --------------------------------------------------------------------------
# filter.imageStatus, and imageIds with paging


def test_list_and_describe_images_honour_image_status(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    for status in ["ACTIVE", "ANY"]:
        ids = ecr.list_images(repositoryName=repo, filter={"imageStatus": status})["imageIds"]
        assert ids == [{"imageDigest": image.digest, "imageTag": "v1"}], status
        details = ecr.describe_images(repositoryName=repo, filter={"imageStatus": status})["imageDetails"]
        assert [d["imageDigest"] for d in details] == [image.digest], status
        assert details[0]["imageStatus"] == "ACTIVE"
    # Berth has no archive: no image is ARCHIVED or ACTIVATING.
    for status in ["ARCHIVED", "ACTIVATING"]:
        assert ecr.list_images(repositoryName=repo, filter={"imageStatus": status})["imageIds"] == [], status
        assert ecr.describe_images(repositoryName=repo, filter={"imageStatus": status})["imageDetails"] == []
    error = expect_error("InvalidParameterException", ecr.list_images, repositoryName=repo,
                         filter={"imageStatus": "FROZEN"})
    assert "imageStatus" in error.response["Error"]["Message"]
    expect_error("InvalidParameterException", ecr.describe_images, repositoryName=repo,
                 filter={"imageStatus": "FROZEN"})


def test_image_status_filter_of_a_missing_repository_is_not_found(ecr):
    expect_error("RepositoryNotFoundException", ecr.list_images, repositoryName=unique_name("absent"),
                 filter={"imageStatus": "ARCHIVED"})


def test_cli_list_images_with_image_status(aws, repo, registry):
    registry.push_image(repo, "v1")
    out = aws("ecr", "list-images", "--repository-name", repo, "--filter", "imageStatus=ARCHIVED")
    assert out["imageIds"] == []
    out = aws("ecr", "list-images", "--repository-name", repo, "--filter", "imageStatus=ACTIVE")
    assert [i["imageTag"] for i in out["imageIds"]] == ["v1"]


@pytest.mark.parametrize("extra", [{"maxResults": 5}, {"nextToken": "abc"}, {"filter": {"tagStatus": "TAGGED"}}])
def test_describe_images_refuses_image_ids_with_paging_or_filter(ecr, repo, registry, extra):
    image = registry.push_image(repo, "v1")
    error = expect_error("InvalidParameterException", ecr.describe_images, repositoryName=repo,
                         imageIds=[{"imageDigest": image.digest}], **extra)
    assert "imageIds" in error.response["Error"]["Message"]


# --------------------------------------------------------------------------
# default page sizes (ECR's documentation)


def test_list_images_pages_of_100_by_default(ecr, repo, registry):
    registry.push_many(repo, [f"t{i:03}" for i in range(101)])
    first = ecr.list_images(repositoryName=repo)
    assert len(first["imageIds"]) == 100
    assert first.get("nextToken")
    rest = ecr.list_images(repositoryName=repo, nextToken=first["nextToken"])
    assert len(rest["imageIds"]) == 1
    assert "nextToken" not in rest


def test_describe_repositories_pages_of_100_by_default(ecr):
    have = sum(len(p["repositories"]) for p in ecr.get_paginator("describe_repositories").paginate())
    for _ in range(max(0, 101 - have)):
        ecr.create_repository(repositoryName=unique_name("page-filler"))
    first = ecr.describe_repositories()
    assert len(first["repositories"]) == 100
    assert first.get("nextToken")


def test_list_image_referrers_pages_of_20_by_default(ecr, repo, registry):
    subject = registry.push_image(repo, "v1")
    for i in range(21):
        registry.push_referrer(repo, subject, "application/vnd.example.sbom.v1+json", annotations={"n": str(i)})
    first = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest})
    assert len(first["referrers"]) == 20
    assert first.get("nextToken")
    rest = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest},
                                    nextToken=first["nextToken"])
    assert len(rest["referrers"]) == 1
    expect_error("InvalidParameterException", ecr.list_image_referrers, repositoryName=repo,
                 subjectId={"imageDigest": subject.digest}, maxResults=51)


# --------------------------------------------------------------------------
# BatchGetImage's failure codes


def test_batch_get_image_answers_an_unaccepted_media_type_with_a_model_failure_code(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    out = ecr.batch_get_image(
        repositoryName=repo,
        imageIds=[{"imageTag": "v1"}],
        acceptedMediaTypes=["application/vnd.docker.distribution.manifest.v1+json"],
    )
    assert out["images"] == []
    [failure] = out["failures"]
    assert failure["failureCode"] in MODEL["shapes"]["ImageFailureCode"]["enum"], failure
    # The image exists: it is only not available in a type the caller accepts.
    assert failure["failureCode"] == "ImageInaccessible"
    assert OCI_MANIFEST in failure["failureReason"]
    assert failure["imageId"] == {"imageTag": "v1"}
    ok = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}], acceptedMediaTypes=[OCI_MANIFEST])
    assert ok["images"][0]["imageId"]["imageDigest"] == image.digest


# --------------------------------------------------------------------------
# GetAuthorizationToken's registryIds


def test_get_authorization_token_takes_this_registry_id(ecr, registry_id):
    data = ecr.get_authorization_token(registryIds=[registry_id])["authorizationData"]
    assert len(data) == 1 and data[0]["authorizationToken"]


def test_get_authorization_token_refuses_a_foreign_registry_id(ecr, registry_id):
    foreign = "111111111111" if registry_id != "111111111111" else "222222222222"
    error = expect_error("InvalidParameterException", ecr.get_authorization_token, registryIds=[foreign])
    assert foreign in error.response["Error"]["Message"]
    expect_error("InvalidParameterException", ecr.get_authorization_token, registryIds=[registry_id, foreign])


def test_cli_get_authorization_token_with_a_foreign_registry_id_fails(aws, registry_id):
    foreign = "111111111111" if registry_id != "111111111111" else "222222222222"
    stderr = aws.fail("ecr", "get-authorization-token", "--registry-ids", foreign)
    assert "InvalidParameterException" in stderr


# --------------------------------------------------------------------------
# ListImageReferrers' filter.artifactStatus


def test_list_image_referrers_honours_artifact_status(ecr, repo, registry):
    subject = registry.push_image(repo, "v1")
    sbom = registry.push_referrer(repo, subject, "application/vnd.example.sbom.v1+json")
    for status in ["ACTIVE", "ANY"]:
        out = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest},
                                       filter={"artifactStatus": status})
        assert [r["digest"] for r in out["referrers"]] == [sbom.digest], status
    for status in ["ARCHIVED", "ACTIVATING"]:
        out = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest},
                                       filter={"artifactStatus": status})
        assert out["referrers"] == [], status
    expect_error("InvalidParameterException", ecr.list_image_referrers, repositoryName=repo,
                 subjectId={"imageDigest": subject.digest}, filter={"artifactStatus": "GONE"})



# --------------------------------------------------------------------------
# outputs: every member Berth answers with is one of the model's, of its type


def check_shape(value, shape_name: str, path: str) -> None:
    shape = MODEL["shapes"][shape_name]
    kind = shape["type"]
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: {value!r} is not a {shape_name} structure"
        for key, member in value.items():
            assert key in shape["members"], f"{path}.{key} is not a member of {shape_name}"
            check_shape(member, shape["members"][key]["shape"], f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: {value!r} is not a list"
        for i, item in enumerate(value):
            check_shape(item, shape["member"]["shape"], f"{path}[{i}]")
    elif kind == "map":
        assert isinstance(value, dict), f"{path}: {value!r} is not a map"
        for key, item in value.items():
            check_shape(item, shape["value"]["shape"], f"{path}[{key!r}]")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: {value!r} is not a string"
        if "enum" in shape:
            assert value in shape["enum"], f"{path}: {value!r} is not one of {shape_name} {shape['enum']}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r} is not an integer"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: {value!r} is not a boolean"
    elif kind == "timestamp":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{path}: {value!r} is not a timestamp"
    elif kind == "blob":
        assert isinstance(value, str), f"{path}: {value!r} is not base64 text"


def test_every_served_operation_answers_with_the_models_output(own_server, raw):
    """Drives every served operation once, successfully, and checks each
    answer against the model's output shape, member by member."""
    name = unique_name("outputs")
    registry = Registry(own_server)
    calls = []

    def call(operation: str, body: dict) -> dict:
        r = raw(operation, body)
        assert r.status_code == 200, f"{operation}: {r.status_code} {r.text}"
        out = r.json() if r.content.strip() else {}
        shape = MODEL["operations"][operation].get("output")
        if shape:
            check_shape(out, shape["shape"], operation)
        else:
            assert out == {}, f"{operation} has no output in the model, answered {out}"
        calls.append(operation)
        return out

    registry_id = call("DescribeRegistry", {})["registryId"]
    call("GetAuthorizationToken", {"registryIds": [registry_id]})
    arn = call("CreateRepository", {
        "repositoryName": name, "tags": [{"Key": "team", "Value": "a"}],
        "imageTagMutability": "MUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest*"}],
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfiguration": {"encryptionType": "AES256"},
    })["repository"]["repositoryArn"]
    call("DescribeRepositories", {"repositoryNames": [name]})
    call("DescribeRepositories", {"maxResults": 1})
    image = registry.push_image(name, "v1")
    registry.push_referrer(name, image, "application/vnd.example.sbom.v1+json", annotations={"k": "v"})
    call("ListImages", {"repositoryName": name})
    call("DescribeImages", {"repositoryName": name})
    call("BatchGetImage", {"repositoryName": name, "imageIds": [{"imageTag": "v1"}, {"imageTag": "nope"}],
                           "acceptedMediaTypes": ["application/vnd.docker.distribution.manifest.v2+json"]})
    call("BatchGetImage", {"repositoryName": name, "imageIds": [{"imageTag": "v1"}]})
    call("ListImageReferrers", {"repositoryName": name, "subjectId": {"imageDigest": image.digest}})
    call("StartImageScan", {"repositoryName": name, "imageId": {"imageTag": "v1"}})
    call("DescribeImageScanFindings", {"repositoryName": name, "imageId": {"imageTag": "v1"}, "maxResults": 10})
    call("PutImage", {"repositoryName": name, "imageManifest": image.manifest_text, "imageTag": "v2"})
    layer = image.layers[0]["digest"]
    call("BatchCheckLayerAvailability", {"repositoryName": name, "layerDigests": [layer, "sha256:00"]})
    call("GetDownloadUrlForLayer", {"repositoryName": name, "layerDigest": layer})
    upload_id = call("InitiateLayerUpload", {"repositoryName": name})["uploadId"]
    data = os.urandom(100)
    call("UploadLayerPart", {"repositoryName": name, "uploadId": upload_id, "partFirstByte": 0,
                             "partLastByte": 99, "layerPartBlob": base64.b64encode(data).decode()})
    call("CompleteLayerUpload", {"repositoryName": name, "uploadId": upload_id,
                                 "layerDigests": ["sha256:" + hashlib.sha256(data).hexdigest()]})
    call("PutImageTagMutability", {"repositoryName": name, "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                                   "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "x*"}]})
    call("PutImageScanningConfiguration", {"repositoryName": name,
                                           "imageScanningConfiguration": {"scanOnPush": False}})
    call("TagResource", {"resourceArn": arn, "tags": [{"Key": "env", "Value": "prod"}]})
    call("ListTagsForResource", {"resourceArn": arn})
    call("UntagResource", {"resourceArn": arn, "tagKeys": ["env"]})
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Nobody", "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{registry_id}:user/nobody"},
        "Action": "ecr:DeleteRepository"}]})
    call("SetRepositoryPolicy", {"repositoryName": name, "policyText": policy})
    call("GetRepositoryPolicy", {"repositoryName": name})
    call("DeleteRepositoryPolicy", {"repositoryName": name})
    call("PutRegistryPolicy", {"policyText": policy})
    call("GetRegistryPolicy", {})
    call("DeleteRegistryPolicy", {})
    call("PutRegistryScanningConfiguration", {"scanType": "BASIC", "rules": [
        {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "out*", "filterType": "WILDCARD"}]}]})
    call("GetRegistryScanningConfiguration", {})
    call("BatchGetRepositoryScanningConfiguration", {"repositoryNames": [name, unique_name("absent")]})
    lifecycle = json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]})
    call("PutLifecyclePolicy", {"repositoryName": name, "lifecyclePolicyText": lifecycle})
    call("GetLifecyclePolicy", {"repositoryName": name})
    call("StartLifecyclePolicyPreview", {"repositoryName": name})
    call("GetLifecyclePolicyPreview", {"repositoryName": name, "filter": {"tagStatus": "ANY"}})
    call("DeleteLifecyclePolicy", {"repositoryName": name})
    call("PutAccountSetting", {"name": "BLOB_MOUNTING", "value": "ENABLED"})
    call("GetAccountSetting", {"name": "REGISTRY_POLICY_SCOPE"})
    call("BatchDeleteImage", {"repositoryName": name, "imageIds": [{"imageTag": "v2"}, {"imageTag": "gone"}]})
    call("DeleteRepository", {"repositoryName": name, "force": True})
    assert set(calls) == set(SERVED), set(SERVED) - set(calls)
