"""ListImageReferrers: artifacts whose manifest's subject is an image."""

from conftest import OCI_MANIFEST, expect_error, unique_name

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
