"""The ECR face speaks botocore's model (ecr/2015-09-21): every input member of
every served operation is known (honoured or refused by name), an unknown one
is refused with InvalidParameterException naming it, and the members that
used to be dropped (filters, registryIds, paging defaults) now act."""

from __future__ import annotations

import json

import botocore.session
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import OCI_MANIFEST, REGION, TIMEOUT, Server, expect_error, unique_name

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
    "GetAccountSetting", "PutAccountSetting",
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

