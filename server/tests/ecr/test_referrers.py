"""ListImageReferrers: artifacts whose manifest's subject is an image."""

import requests

from conftest import (
    OCI_MANIFEST,
    PULL_ONLY,
    TIMEOUT,
    assert_registry_denied,
    expect_denied,
    expect_error,
    policy_text,
    repository_arn,
    unique_name,
)

SBOM = "application/vnd.example.sbom.v1+json"
SIGNATURE = "application/vnd.example.signature.v1+json"


def test_list_image_referrers(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    sbom = registry.push_referrer(repo, image, SBOM, annotations={"org.example.kind": "sbom"})

    out = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": image.digest})
    assert len(out["referrers"]) == 1
    ref = out["referrers"][0]
    assert ref["digest"] == sbom.digest
    assert ref["mediaType"] == OCI_MANIFEST
    assert ref["artifactType"] == SBOM
    assert ref["size"] == len(sbom.manifest)
    assert ref.get("annotations") == {"org.example.kind": "sbom"}


def test_list_image_referrers_filters_by_artifact_type(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    sbom = registry.push_referrer(repo, image, SBOM)
    signature = registry.push_referrer(repo, image, SIGNATURE)

    everything = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": image.digest})
    assert {(r["digest"], r["artifactType"]) for r in everything["referrers"]} == {
        (sbom.digest, SBOM),
        (signature.digest, SIGNATURE),
    }
    only_signatures = ecr.list_image_referrers(
        repositoryName=repo, subjectId={"imageDigest": image.digest}, filter={"artifactTypes": [SIGNATURE]}
    )
    assert [r["digest"] for r in only_signatures["referrers"]] == [signature.digest]


def test_image_without_referrers(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    other = registry.push_image(repo, "v2")
    registry.push_referrer(repo, other, SBOM)
    out = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": image.digest})
    assert out["referrers"] == []


def test_list_image_referrers_of_a_missing_repository_fails(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    expect_error(
        "RepositoryNotFoundException",
        ecr.list_image_referrers,
        repositoryName=unique_name("absent"),
        subjectId={"imageDigest": image.digest},
    )


def test_a_pull_only_user_lists_referrers_on_both_faces(ecr, repo, registry, new_user):
    """ListImageReferrers is authorized as ecr:BatchGetImage, the action ECR
    documents for it, on the ECR API and on /v2/ alike: whoever may pull an
    image may see what refers to it."""
    image = registry.push_image(repo, "v1")
    sbom = registry.push_referrer(repo, image, SBOM)
    puller = new_user("puller", PULL_ONLY)
    out = puller.ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": image.digest})
    assert [r["digest"] for r in out["referrers"]] == [sbom.digest]
    r = requests.get(f"{registry.server.url}/v2/{repo}/referrers/{image.digest}",
                     auth=(puller.name, puller.password), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert [m["digest"] for m in r.json()["manifests"]] == [sbom.digest]


def test_listing_referrers_needs_batch_get_image(ecr, repo, registry, registry_id, new_user, tmp_path):
    image = registry.push_image(repo, "v1")
    lister = new_user("lister")
    lister.put_policy("list-only", policy_text({"Effect": "Allow", "Action": "ecr:ListImages", "Resource": "*"}),
                      tmp_path)
    expect_denied(lister, "ecr:BatchGetImage", repository_arn(registry_id, repo),
                  lister.ecr.list_image_referrers, repositoryName=repo, subjectId={"imageDigest": image.digest})
    assert_registry_denied(requests.get(f"{registry.server.url}/v2/{repo}/referrers/{image.digest}",
                                        auth=(lister.name, lister.password), timeout=TIMEOUT))
