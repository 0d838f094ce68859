"""Image scanning through the ECR API, with the real AWS CLI and boto3:
StartImageScan, DescribeImageScanFindings (waiter, paginator), the scan
members of DescribeImages, scan on push (the repository's setting and the
registry's rules), `berth scan`, the SBOM referrer, restarts, and continuous
scanning.

Images are made of real package data: a layer holding this machine's own
os-release files and dpkg database (`machine_os_files`), or a real Alpine
image's os-release and apk database (`alpine_files`). Advisories are the real
OSV records under data/osv (see data/README.md), loaded with
`berth vulndb import DIR`.

Which tests need the other parts of issue 17 (layer reading, the
vulnerability database, matching) is said on each: without them a scan of
real packages ends UNSUPPORTED_IMAGE and `berth vulndb` does not exist.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from conftest import (
    OCI_INDEX,
    OCI_LAYER,
    TIMEOUT,
    Registry,
    Server,
    alpine_files,
    apk_packages,
    expect_error,
    machine_os_files,
    make_ecr,
    unique_name,
)

SBOM_TYPE = "application/vnd.cyclonedx+json"
OSV_DIR = Path(__file__).parent / "data" / "osv"
FINAL = {"COMPLETE", "FAILED", "UNSUPPORTED_IMAGE"}


def scan_result(ecr, name: str, image_id: dict, timeout: float = 60) -> dict:
    """DescribeImageScanFindings once the scan has ended."""
    deadline = time.monotonic() + timeout
    while True:
        out = ecr.describe_image_scan_findings(repositoryName=name, imageId=image_id)
        if out["imageScanStatus"]["status"] in FINAL:
            return out
        assert time.monotonic() < deadline, f"the scan of {name} {image_id} did not end: {out}"
        time.sleep(0.2)


def plain_files() -> dict:
    """Files of no operating system and no package database."""
    return {"app/hello.txt": b"hello\n", "app/data/readme": os.urandom(64).hex().encode()}


def referrers(registry: Registry, name: str, digest: str) -> list:
    r = registry.http.get(registry.url(f"/v2/{name}/referrers/{digest}"), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()["manifests"]


# --------------------------------------------------------------------------
# errors


def test_an_image_never_scanned_has_no_scan(ecr, repo, registry):
    image = registry.push_image(repo, "v1")
    error = expect_error("ScanNotFoundException", ecr.describe_image_scan_findings,
                         repositoryName=repo, imageId={"imageTag": "v1"})
    assert repo in error.response["Error"]["Message"]
    detail = ecr.describe_images(repositoryName=repo)["imageDetails"][0]
    assert detail["imageDigest"] == image.digest
    assert "imageScanStatus" not in detail and "imageScanFindingsSummary" not in detail


def test_missing_images_and_repositories_are_named(ecr, repo):
    for call in (ecr.start_image_scan, ecr.describe_image_scan_findings):
        expect_error("ImageNotFoundException", call, repositoryName=repo, imageId={"imageTag": "absent"})
        expect_error("RepositoryNotFoundException", call, repositoryName=unique_name("absent"),
                     imageId={"imageTag": "v1"})
    expect_error("InvalidParameterException", ecr.describe_image_scan_findings, repositoryName=repo,
                 imageId={"imageTag": "v1"}, maxResults=1001)


def test_an_artifact_that_is_not_an_image_is_unsupported_and_never_scanned_on_push(ecr, new_repo, registry):
    name = new_repo(imageScanningConfiguration={"scanOnPush": True})
    image = registry.push_files_image(name, "v1", plain_files())
    signature = registry.push_referrer(name, image, "application/vnd.example.signature.v1+json")
    error = expect_error("UnsupportedImageTypeException", ecr.start_image_scan,
                         repositoryName=name, imageId={"imageDigest": signature.digest})
    assert "not a container image" in error.response["Error"]["Message"]
    expect_error("ScanNotFoundException", ecr.describe_image_scan_findings,
                 repositoryName=name, imageId={"imageDigest": signature.digest})


@pytest.fixture(scope="module")
def loose_ecr(server, keys):
    """A client that sends what botocore would refuse itself."""
    return make_ecr(server, keys["accessKeyId"], keys["secretAccessKey"], validate=False)


def test_malformed_scan_requests_are_invalid_parameters_that_say_what_is_wrong(loose_ecr, repo, registry):
    ecr = loose_ecr
    image = registry.push_image(repo, "v1")
    other = registry.push_image(repo, "v2")
    for call in (ecr.start_image_scan, ecr.describe_image_scan_findings):
        error = expect_error("InvalidParameterException", call, repositoryName="Not_A_Name",
                             imageId={"imageTag": "v1"})
        assert "repositoryName" in error.response["Error"]["Message"]
        error = expect_error("InvalidParameterException", call, repositoryName=repo, imageId={})
        message = error.response["Error"]["Message"]
        assert "Either an image tag or an image digest is required" in message, message
        assert "does not exist" not in message, message
        error = expect_error("InvalidParameterException", call, repositoryName=repo,
                             imageId={"imageDigest": "sha256:not-hex"})
        message = error.response["Error"]["Message"]
        assert "Invalid image digest" in message and "does not exist" not in message, message
        error = expect_error("InvalidParameterException", call, repositoryName=repo, registryId="000000000000",
                             imageId={"imageTag": "v1"})
        assert "registryId 000000000000 is not this registry" in error.response["Error"]["Message"]
        # A tag and a digest of two different images name no image.
        error = expect_error("ImageNotFoundException", call, repositoryName=repo,
                             imageId={"imageTag": "v1", "imageDigest": other.digest})
        assert "does not match" in error.response["Error"]["Message"]
    ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": image.digest})
    for max_results in (0, 1001):
        error = expect_error("InvalidParameterException", ecr.describe_image_scan_findings, repositoryName=repo,
                             imageId={"imageTag": "v1"}, maxResults=max_results)
        assert f"maxResults must be between 1 and 1000, got {max_results}" in error.response["Error"]["Message"]
    error = expect_error("InvalidParameterException", ecr.describe_image_scan_findings, repositoryName=repo,
                         imageId={"imageTag": "v1"}, nextToken="not-a-token")
    assert "nextToken is not one this registry issued" in error.response["Error"]["Message"]


def test_invalid_registry_scanning_configurations_say_why_and_change_nothing(ecr, loose_ecr):
    before = ecr.get_registry_scanning_configuration()["scanningConfiguration"]
    rule = {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "a*", "filterType": "WILDCARD"}]}
    for scan_type, rules, said in [
        ("FANCY", [], 'scanType must be BASIC or ENHANCED, got "FANCY"'),
        ("BASIC", [rule] * 3, "at most 2 rules"),
        ("ENHANCED", [{**rule, "scanFrequency": "MANUAL"}],
         "rules[0].scanFrequency must be one of SCAN_ON_PUSH, CONTINUOUS_SCAN for scan type ENHANCED"),
        ("BASIC", [{**rule, "repositoryFilters": [{"filter": f"r{i}*", "filterType": "WILDCARD"} for i in range(101)]}],
         "rules[0] has more than 100 repository filters"),
        ("BASIC", [rule, {**rule, "repositoryFilters": [{"filter": "a*", "filterType": "REGEX"}]}],
         'rules[1] filter "a*" must be a WILDCARD'),
        ("BASIC", [{**rule, "repositoryFilters": [{"filter": "", "filterType": "WILDCARD"}]}],
         'rules[0] filter "" must be a WILDCARD'),
    ]:
        error = expect_error("InvalidParameterException", loose_ecr.put_registry_scanning_configuration,
                             scanType=scan_type, rules=rules)
        assert said in error.response["Error"]["Message"], (said, error.response)
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == before


def test_batch_get_repository_scanning_configuration_refuses_bad_name_lists(loose_ecr):
    for names in ([], [unique_name("r") for _ in range(26)]):
        error = expect_error("InvalidParameterException", loose_ecr.batch_get_repository_scanning_configuration,
                             repositoryNames=names)
        assert "repositoryNames must hold 1 to 25 names" in error.response["Error"]["Message"]
    error = expect_error("InvalidParameterException", loose_ecr.batch_get_repository_scanning_configuration,
                         repositoryNames=["Not_A_Name"])
    assert "repositoryName" in error.response["Error"]["Message"]


def test_berth_scan_and_scan_history_errors_exit_1_and_say_why(server, repo, registry):
    image = registry.push_files_image(repo, "v1", plain_files())
    signature = registry.push_referrer(repo, image, "application/vnd.example.signature.v1+json")
    corrupt = registry.push_files_image(repo, "corrupt", {}, layer=b"\x1f\x8b\x08\x00" + os.urandom(4096))
    missing_repo = unique_name("absent")
    for args, said in [
        (("scan", f"{repo}@sha256:not-hex"), "the digest is malformed"),
        (("scan", f"{repo}:bad tag!"), "bad tag!"),
        (("scan", f"{repo}:absent"), "manifest absent is not known to this repository"),
        (("scan", f"{missing_repo}:v1"), missing_repo),
        (("scan", f"{repo}@{signature.digest}"), "not a container image"),
        (("scan", f"{repo}:corrupt"), f"the scan of {repo}@{corrupt.digest} failed"),
        (("scan-history", f"{repo}:absent"), "manifest absent is not known to this repository"),
        (("scan-history", f"{missing_repo}:v1"), missing_repo),
        (("scan-history", f"{repo}@sha256:not-hex"), "the digest is malformed"),
    ]:
        out = server.admin(*args, check=False)
        assert out.returncode == 1, (args, out.returncode, out.stdout, out.stderr)
        # The error is the last line (a scan's own log lines come before it).
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("berth: ") and said in last, (args, out.stderr)


def test_berth_scan_logs_plain_text_into_a_pipe(tmp_path):
    """With no server running, `berth scan` runs the scan itself and logs it;
    into a pipe the log has no terminal colour codes."""
    server = Server(tmp_path)
    try:
        key = server.create_access_key()
        ecr = make_ecr(server, key["accessKeyId"], key["secretAccessKey"])
        name = unique_name("plain")
        ecr.create_repository(repositoryName=name)
        Registry(server).push_files_image(name, "v1", {}, layer=b"\x1f\x8b\x08\x00" + os.urandom(4096))
    finally:
        server.stop()
    out = server.admin("scan", f"{name}:v1", check=False)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "scan failed" in out.stderr, out.stderr
    assert "\x1b[" not in out.stderr, out.stderr


def test_berth_vulndb_errors_exit_1_and_say_why(server, tmp_path):
    not_there = tmp_path / "not-there.zip"
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"this is not a zip archive")
    for args, said in [
        (("vulndb", "import", str(not_there)), f"import:not-there.zip: "),
        (("vulndb", "import", str(garbage)), "(it had no records in service before, and none were added)"),
        (("vulndb", "import", str(OSV_DIR), "--source", " "), "--source must not be empty"),
        (("vulndb", "update", "--vulndb-sources", ""), "no vulndb_sources are configured"),
    ]:
        out = server.admin(*args, check=False)
        assert out.returncode == 1, (args, out.returncode, out.stdout, out.stderr)
        # The error is the last line (a scan's own log lines come before it),
        # all plain text: no terminal colour codes in a pipe.
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("berth: ") and said in last, (args, out.stderr)
        assert "\x1b[" not in out.stderr, (args, out.stderr)
    # A bad source list is a bad setting: exit 2, before anything is opened.
    out = server.admin("vulndb", "update", "--vulndb-sources", "ftp://example.com/all.zip", check=False)
    assert out.returncode == 2 and "must be an http:// or https:// URL" in out.stderr, (out.returncode, out.stderr)


# --------------------------------------------------------------------------
# scans that end without findings


def test_an_image_of_no_known_os_or_package_is_unsupported_image(ecr, aws, repo, registry):
    image = registry.push_files_image(repo, "v1", plain_files())
    started = ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "v1"})
    assert started["imageId"] == {"imageDigest": image.digest, "imageTag": "v1"}
    assert started["imageScanStatus"]["status"] == "IN_PROGRESS"
    out = scan_result(ecr, repo, {"imageTag": "v1"})
    assert out["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE", out
    assert out["imageScanStatus"]["description"], "UNSUPPORTED_IMAGE says why"
    assert "imageScanFindings" not in out
    detail = aws("ecr", "describe-images", "--repository-name", repo)["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE"
    assert "imageScanFindingsSummary" not in detail
    # Nothing was found, so nothing is published.
    assert referrers(registry, repo, image.digest) == []


def test_scan_on_push_follows_the_repository_setting(ecr, new_repo, registry):
    on = new_repo("on", imageScanningConfiguration={"scanOnPush": True})
    off = new_repo("off")
    registry.push_files_image(on, "v1", plain_files())
    registry.push_files_image(off, "v1", plain_files())
    assert scan_result(ecr, on, {"imageTag": "v1"})["imageScanStatus"]["status"] in FINAL
    expect_error("ScanNotFoundException", ecr.describe_image_scan_findings,
                 repositoryName=off, imageId={"imageTag": "v1"})


def test_scan_on_push_follows_the_registry_rules(ecr, registry):
    scanned = f"scanrule/{unique_name('app')}"
    plain = unique_name("norule")
    for name in (scanned, plain):
        ecr.create_repository(repositoryName=name)
    try:
        ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[
            {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "scanrule/*", "filterType": "WILDCARD"}]},
        ])
        registry.push_files_image(scanned, "v1", plain_files())
        registry.push_files_image(plain, "v1", plain_files())
        assert scan_result(ecr, scanned, {"imageTag": "v1"})["imageScanStatus"]["status"] in FINAL
        expect_error("ScanNotFoundException", ecr.describe_image_scan_findings,
                     repositoryName=plain, imageId={"imageTag": "v1"})
    finally:
        ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[])
        for name in (scanned, plain):
            ecr.delete_repository(repositoryName=name, force=True)


def test_an_index_is_scanned_per_platform(ecr, repo, registry):
    children = [registry.push_files_image(repo, None, plain_files()) for _ in range(2)]
    index = registry.push_index(repo, "multi", children)
    ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "multi"})
    out = scan_result(ecr, repo, {"imageTag": "multi"})
    assert out["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE", out
    assert "2 platform image" in out["imageScanStatus"]["description"]
    for child in children:
        each = scan_result(ecr, repo, {"imageDigest": child.digest})
        assert each["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE"
    assert index.media_type == OCI_INDEX


def test_berth_scan_runs_a_scan_and_berth_jobs_lists_it(ecr, server, repo, registry):
    image = registry.push_files_image(repo, "v1", plain_files())
    scanned = server.admin("scan", f"{repo}:v1", "--json", check=False)
    # An image that was never checked for vulnerabilities is not a success,
    # nor a failed scan: exit 3, with the reason.
    assert scanned.returncode == 3, (scanned.returncode, scanned.stdout, scanned.stderr)
    assert f"berth: {repo}@{image.digest} is not a supported image" in scanned.stderr, scanned.stderr
    out = json.loads(scanned.stdout)
    assert out["repositoryName"] == repo
    assert out["imageDigest"] == image.digest
    assert out["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE"
    text = server.admin("scan", f"{repo}@{image.digest}", check=False)
    assert text.returncode == 3, (text.returncode, text.stderr)
    assert f"{repo}@{image.digest}: UNSUPPORTED_IMAGE" in text.stdout
    # The API sees what the command did.
    assert scan_result(ecr, repo, {"imageTag": "v1"})["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE"
    jobs = json.loads(server.admin("jobs", "--kind", "scan", "--limit", "200", "--json").stdout)
    mine = [j for j in jobs if j["repositoryName"] == repo]
    assert mine and all(j["kind"] == "scan" and j["imageDigest"] == image.digest for j in mine), jobs
    assert all(j["status"] == "succeeded" and j["summary"].startswith("UNSUPPORTED_IMAGE") for j in mine), mine
    bad = server.admin("scan", f"{repo}:absent", check=False)
    assert bad.returncode != 0 and "absent" in bad.stderr


def test_a_restart_resumes_an_interrupted_scan(tmp_path):
    """The process stops while a scan runs: the next one reports the job
    interrupted and runs the scan again."""
    server = Server(tmp_path)
    try:
        key = server.create_access_key()
        ecr = make_ecr(server, key["accessKeyId"], key["secretAccessKey"])
        registry = Registry(server)
        name = unique_name("restart")
        ecr.create_repository(repositoryName=name)
        registry.push_files_image(name, "v1", plain_files())
        ecr.start_image_scan(repositoryName=name, imageId={"imageTag": "v1"})
        scan_result(ecr, name, {"imageTag": "v1"})
    finally:
        server.stop()
    # What a stop in the middle of the scan leaves behind.
    with sqlite3.connect(tmp_path / "data" / "berth.db") as db:
        db.execute("UPDATE scans SET status = 'IN_PROGRESS', description = NULL, completed_at = NULL")
        db.execute("UPDATE jobs SET status = 'running', finished_at = NULL, summary = NULL WHERE kind = 'scan'")
    server = Server(tmp_path)
    try:
        key = server.create_access_key()
        ecr = make_ecr(server, key["accessKeyId"], key["secretAccessKey"])
        out = scan_result(ecr, name, {"imageTag": "v1"})
        assert out["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE", out
        jobs = json.loads(server.admin("jobs", "--kind", "scan", "--json").stdout)
        assert [j["status"] for j in jobs] == ["succeeded", "interrupted"], jobs
    finally:
        server.stop()


# --------------------------------------------------------------------------
# real packages (these need layer reading, and the findings the vulnerability
# database: issue 17's other parts)


def pushed_image(registry, ecr, prefix: str, files: dict):
    """A new repository holding one image of `files`, tagged v1: yields the
    repository's name and the image, then deletes the repository."""
    name = unique_name(prefix)
    ecr.create_repository(repositoryName=name)
    yield name, registry.push_files_image(name, "v1", files)
    ecr.delete_repository(repositoryName=name, force=True)


@pytest.fixture(scope="module")
def debian_image(registry, ecr):
    """An image of this machine's os-release and dpkg database."""
    yield from pushed_image(registry, ecr, "debian", machine_os_files())


@pytest.fixture(scope="module")
def alpine_image(registry, ecr):
    """An image of a real Alpine 3.18 image's os-release and apk database."""
    yield from pushed_image(registry, ecr, "alpine", alpine_files())


def test_a_real_debian_image_completes_with_an_sbom_referrer(ecr, aws, registry, debian_image):
    name, image = debian_image
    started = aws("ecr", "start-image-scan", "--repository-name", name, "--image-id", "imageTag=v1")
    assert started["imageScanStatus"]["status"] == "IN_PROGRESS"
    out = scan_result(ecr, name, {"imageTag": "v1"})
    assert out["imageScanStatus"] == {"status": "COMPLETE", "description": "The scan was completed successfully."}
    # The CLI's waiter sees it complete (it polls every 5 s, so it is asked
    # once the scan is known to have ended).
    aws.text("ecr", "wait", "image-scan-complete", "--repository-name", name, "--image-id", "imageTag=v1")
    assert out["imageScanFindings"]["imageScanCompletedAt"]
    detail = ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "COMPLETE"
    assert "findingSeverityCounts" in detail["imageScanFindingsSummary"]

    sboms = [m for m in referrers(registry, name, image.digest) if m.get("artifactType") == SBOM_TYPE]
    assert len(sboms) == 1, sboms
    listed = ecr.list_image_referrers(repositoryName=name, subjectId={"imageDigest": image.digest})["referrers"]
    assert [r["digest"] for r in listed if r.get("artifactType") == SBOM_TYPE] == [sboms[0]["digest"]]
    manifest = registry.get_manifest(name, sboms[0]["digest"]).json()
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert manifest["subject"]["digest"] == image.digest
    assert [layer["mediaType"] for layer in manifest["layers"]] == [SBOM_TYPE]
    sbom = registry.get_blob(name, manifest["layers"][0]["digest"]).json()
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.6"
    assert sbom["metadata"]["component"]["version"] == image.digest
    purls = {c["purl"] for c in sbom["components"]}
    libc = os.popen("dpkg-query -W -f '${Version}' libc6").read()
    assert any(p.startswith("pkg:deb/debian/libc6@") and "distro=debian-12" in p for p in purls), sorted(purls)[:5]
    assert libc
    props = {p["name"]: p["value"] for p in sbom["components"][0]["properties"]}
    assert props["berth:path"] == "var/lib/dpkg/status"
    assert props["berth:layer"] == image.layers[0]["digest"]
    # The SBOM is untagged and does not show as a tagged image.
    assert ecr.list_images(repositoryName=name, filter={"tagStatus": "TAGGED"})["imageIds"] == [
        {"imageDigest": image.digest, "imageTag": "v1"}
    ]

    # A rescan replaces the SBOM.
    ecr.start_image_scan(repositoryName=name, imageId={"imageTag": "v1"})
    scan_result(ecr, name, {"imageTag": "v1"})
    again = [m for m in referrers(registry, name, image.digest) if m.get("artifactType") == SBOM_TYPE]
    assert len(again) == 1, again


def test_the_sbom_goes_with_its_subject(ecr, new_repo, registry):
    name = new_repo(imageScanningConfiguration={"scanOnPush": True})
    image = registry.push_files_image(name, "v1", machine_os_files())
    assert scan_result(ecr, name, {"imageTag": "v1"})["imageScanStatus"]["status"] == "COMPLETE"
    sbom = [m for m in referrers(registry, name, image.digest) if m.get("artifactType") == SBOM_TYPE]
    assert len(sbom) == 1
    ecr.batch_delete_image(repositoryName=name, imageIds=[{"imageDigest": image.digest}])
    assert registry.get_manifest(name, sbom[0]["digest"]).status_code == 404
    assert ecr.list_images(repositoryName=name)["imageIds"] == []


def test_the_sbom_expires_with_its_subject_under_a_lifecycle_policy(ecr, server, new_repo, registry):
    name = new_repo(imageScanningConfiguration={"scanOnPush": True})
    old = registry.push_files_image(name, "old-1", machine_os_files())
    assert scan_result(ecr, name, {"imageTag": "old-1"})["imageScanStatus"]["status"] == "COMPLETE"
    newer = registry.push_files_image(name, "old-2", {**machine_os_files(), "etc/motd": b"newer\n"})
    assert scan_result(ecr, name, {"imageTag": "old-2"})["imageScanStatus"]["status"] == "COMPLETE"
    sbom = [m for m in referrers(registry, name, old.digest) if m.get("artifactType") == SBOM_TYPE]
    kept = [m for m in referrers(registry, name, newer.digest) if m.get("artifactType") == SBOM_TYPE]
    assert len(sbom) == 1 and len(kept) == 1
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps({"rules": [{
        "rulePriority": 1, "description": "keep one old-*",
        "selection": {"tagStatus": "tagged", "tagPrefixList": ["old"], "countType": "imageCountMoreThan",
                      "countNumber": 1},
        "action": {"type": "expire"}}]}))
    out = json.loads(server.admin("lifecycle", "run", "--repository", name, "--json").stdout)
    assert {i["imageDigest"] for i in out["images"]} == {old.digest, sbom[0]["digest"]}, out
    assert registry.get_manifest(name, sbom[0]["digest"]).status_code == 404
    assert registry.get_manifest(name, kept[0]["digest"]).status_code == 200


def test_a_corrupt_layer_fails_the_scan(ecr, aws, repo, registry):
    registry.push_files_image(repo, "v1", {}, layer=b"\x1f\x8b\x08\x00" + os.urandom(4096))
    ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "v1"})
    out = scan_result(ecr, repo, {"imageTag": "v1"})
    assert out["imageScanStatus"]["status"] == "FAILED", out
    assert out["imageScanStatus"]["description"]
    assert "imageScanFindings" not in out
    detail = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
    assert detail["imageScanStatus"] == out["imageScanStatus"]
    assert "imageScanFindingsSummary" not in detail
    error = aws.fail("ecr", "wait", "image-scan-complete", "--repository-name", repo, "--image-id", "imageTag=v1")
    assert "failure state" in error, error


def test_findings_page_through_the_paginator(server, ecr, alpine_image):
    """Alpine's record for CVE-2025-26519 (musl) against the real Alpine 3.18
    apk database: musl and musl-utils (origin musl) 1.2.4-r1, fixed in
    1.2.4-r3 on v3.18, CVSS 3.1 vector 7.0."""
    name, image = alpine_image
    server.admin("vulndb", "import", str(OSV_DIR))
    ecr.start_image_scan(repositoryName=name, imageId={"imageTag": "v1"})
    out = scan_result(ecr, name, {"imageTag": "v1"})
    assert out["imageScanStatus"]["status"] == "COMPLETE"
    musl = {(n, v) for n, v, origin in apk_packages(alpine_files()["lib/apk/db/installed"]) if origin == "musl"}
    assert musl == {("musl", "1.2.4-r1"), ("musl-utils", "1.2.4-r1")}, musl
    pages = list(ecr.get_paginator("describe_image_scan_findings").paginate(
        repositoryName=name, imageId={"imageTag": "v1"}, PaginationConfig={"PageSize": 1}))
    assert len(pages) == 2
    findings = [f for page in pages for f in page["imageScanFindings"]["findings"]]
    assert {f["name"] for f in findings} == {"CVE-2025-26519"}
    found = set()
    for f in findings:
        attributes = {a["key"]: a["value"] for a in f["attributes"]}
        found.add((attributes["package_name"], attributes["package_version"]))
        assert f["severity"] == "HIGH", f
        assert attributes["CVSS3_SCORE"] == "7.0"
        assert attributes["CVSS3_VECTOR"] == "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H"
        assert attributes["fixed_version"] == "1.2.4-r3"
        assert attributes["ecosystem"] == "Alpine:v3.18"
        assert attributes["file_path"] == "lib/apk/db/installed"
        assert attributes["layer_digest"] == image.layers[0]["digest"]
        assert f["uri"] == "https://security.alpinelinux.org/vuln/CVE-2025-26519"
        assert f["description"].startswith("musl libc 0.9.13 through 1.2.5 before 1.2.6")
    assert found == musl
    assert pages[0]["imageScanFindings"]["findingSeverityCounts"] == {"HIGH": 2}
    assert pages[0]["imageScanFindings"]["vulnerabilitySourceUpdatedAt"]
    summary = ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": "v1"}])["imageDetails"][0][
        "imageScanFindingsSummary"]
    assert summary["findingSeverityCounts"] == {"HIGH": 2}


def test_continuous_scanning_records_findings_that_appear(tmp_path):
    server = Server(tmp_path)
    try:
        key = server.create_access_key()
        ecr = make_ecr(server, key["accessKeyId"], key["secretAccessKey"])
        registry = Registry(server)
        name = f"prod/{unique_name('cont')}"
        ecr.create_repository(repositoryName=name)
        ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[
            {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "prod/*", "filterType": "WILDCARD"}]},
        ])
        registry.push_files_image(name, "v1", alpine_files())
        first = scan_result(ecr, name, {"imageTag": "v1"})
        assert first["imageScanStatus"]["status"] == "COMPLETE"
        assert first["imageScanFindings"]["findings"] == []
        server.admin("vulndb", "import", str(OSV_DIR))
        deadline = time.monotonic() + 60
        while True:
            out = ecr.describe_image_scan_findings(repositoryName=name, imageId={"imageTag": "v1"})
            if out["imageScanFindings"]["findings"]:
                break
            assert time.monotonic() < deadline, "the stored inventory was not matched again"
            time.sleep(0.5)
        history = json.loads(server.admin("scan-history", f"{name}:v1", "--json").stdout)
        appeared = {e["name"] for e in history if e["event"] == "appeared"}
        assert appeared == {"CVE-2025-26519"}, history
        assert all(e["at"] for e in history)
    finally:
        server.stop()


def test_vulndb_rematch_matches_covered_stored_inventories_now_and_once(tmp_path):
    """`berth vulndb rematch` does what a running server does within seconds
    of an update, with no server running: the stored inventories of images a
    CONTINUOUS_SCAN rule covers are matched against the new database and
    their new findings recorded; an image no rule covers is left as it was,
    and a second run finds nothing left to match."""
    server = Server(tmp_path)
    covered, other = f"prod/{unique_name('rematch')}", f"dev/{unique_name('rematch')}"
    try:
        key = server.create_access_key()
        ecr = make_ecr(server, key["accessKeyId"], key["secretAccessKey"])
        registry = Registry(server)
        ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[
            {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "prod/*", "filterType": "WILDCARD"}]},
        ])
        for name in (covered, other):
            ecr.create_repository(repositoryName=name)
            registry.push_files_image(name, "v1", alpine_files())
            ecr.start_image_scan(repositoryName=name, imageId={"imageTag": "v1"})
            assert scan_result(ecr, name, {"imageTag": "v1"})["imageScanFindings"]["findings"] == []
    finally:
        server.stop()
    server.admin("vulndb", "import", str(OSV_DIR))
    first = server.admin("vulndb", "rematch").stdout
    assert first.strip() == "matched 1 stored inventory(ies) again", first
    again = server.admin("vulndb", "rematch").stdout
    assert again.strip() == "matched 0 stored inventory(ies) again", again
    history = json.loads(server.admin("scan-history", f"{covered}:v1", "--json").stdout)
    assert {e["name"] for e in history if e["event"] == "appeared"} == {"CVE-2025-26519"}, history
    assert json.loads(server.admin("scan-history", f"{other}:v1", "--json").stdout) == []
    server = Server(tmp_path)
    try:
        key = server.create_access_key()
        ecr = make_ecr(server, key["accessKeyId"], key["secretAccessKey"])
        found = ecr.describe_image_scan_findings(repositoryName=covered, imageId={"imageTag": "v1"})
        names = {f["name"] for f in found["imageScanFindings"]["findings"]}
        assert names == {"CVE-2025-26519"}, names
        assert found["imageScanFindings"]["vulnerabilitySourceUpdatedAt"]
        untouched = ecr.describe_image_scan_findings(repositoryName=other, imageId={"imageTag": "v1"})
        assert untouched["imageScanFindings"]["findings"] == []
    finally:
        server.stop()
