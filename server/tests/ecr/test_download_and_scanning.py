"""GetDownloadUrlForLayer (a signed URL on this server) and the scanning
configuration operations."""

import urllib.error
import urllib.parse
import urllib.request

from conftest import absent_digest, expect_error, sha256_digest, unique_name


def fetch(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_download_url_serves_the_layer_without_credentials(ecr, registry, repo, server):
    image = registry.push_image(repo, "v1")
    layer = image.layers[0]["digest"]
    out = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=layer)
    assert out["layerDigest"] == layer
    url = out["downloadUrl"]
    assert url.startswith(f"{server.url}/_berth/layers/{repo}/{layer}?")
    status, body = fetch(url)
    assert status == 200
    assert sha256_digest(body) == layer
    status, part = fetch(url, {"Range": "bytes=0-9"})
    assert status == 206 and len(part) == 10


def test_download_url_refuses_tampering(ecr, registry, repo):
    image = registry.push_image(repo, "v1", layers=2)
    first, second = (layer["digest"] for layer in image.layers)
    url = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=first)["downloadUrl"]
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    base = f"{parts.scheme}://{parts.netloc}"
    other_layer = f"{base}{parts.path.replace(first, second)}?{parts.query}"
    later = f"{base}{parts.path}?expires={int(query['expires']) + 3600}&signature={query['signature']}"
    forged = f"{base}{parts.path}?expires={query['expires']}&signature={'0' * 64}"
    expired = f"{base}{parts.path}?expires=1000&signature={query['signature']}"
    for bad in (other_layer, later, forged, expired, f"{base}{parts.path}"):
        status, body = fetch(bad)
        assert status == 403, bad
        assert b"DENIED" in body


def test_download_url_for_a_missing_layer_is_layers_not_found(ecr, repo):
    expect_error("LayersNotFoundException", ecr.get_download_url_for_layer, repositoryName=repo, layerDigest=absent_digest())


def test_download_url_for_a_missing_repository(ecr):
    expect_error(
        "RepositoryNotFoundException",
        ecr.get_download_url_for_layer,
        repositoryName=unique_name("nowhere"),
        layerDigest=absent_digest(),
    )


def test_registry_scanning_configuration_round_trips(ecr, new_repo):
    scanned = f"scan/{unique_name('app')}"
    ecr.create_repository(repositoryName=scanned)
    plain = new_repo("noscan")
    try:
        ecr.put_registry_scanning_configuration(
            scanType="BASIC",
            rules=[{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "scan/*", "filterType": "WILDCARD"}]}],
        )
        got = ecr.get_registry_scanning_configuration()
        assert got["scanningConfiguration"]["scanType"] == "BASIC"
        assert got["scanningConfiguration"]["rules"][0]["repositoryFilters"][0]["filter"] == "scan/*"
        out = ecr.batch_get_repository_scanning_configuration(repositoryNames=[scanned, plain, "missing-repo-x"])
        by_name = {c["repositoryName"]: c for c in out["scanningConfigurations"]}
        assert by_name[scanned]["scanOnPush"] is True
        assert by_name[scanned]["scanFrequency"] == "SCAN_ON_PUSH"
        assert by_name[plain]["scanOnPush"] is False
        assert by_name[plain]["scanFrequency"] == "MANUAL"
        assert out["failures"] == [
            {"repositoryName": "missing-repo-x", "failureCode": "REPOSITORY_NOT_FOUND", "failureReason": "REPOSITORY_NOT_FOUND"}
        ]
    finally:
        ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[])


def test_repository_scan_on_push_shows_in_batch_get(ecr, new_repo):
    name = new_repo()
    ecr.put_image_scanning_configuration(repositoryName=name, imageScanningConfiguration={"scanOnPush": True})
    out = ecr.batch_get_repository_scanning_configuration(repositoryNames=[name])
    assert out["scanningConfigurations"][0]["scanOnPush"] is True


def test_invalid_scanning_configurations_are_refused(ecr):
    expect_error(
        "InvalidParameterException",
        ecr.put_registry_scanning_configuration,
        scanType="BASIC",
        rules=[{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "x", "filterType": "WILDCARD"}]}],
    )
    expect_error(
        "InvalidParameterException",
        ecr.put_registry_scanning_configuration,
        scanType="BASIC",
        rules=[{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "UPPER", "filterType": "WILDCARD"}]}],
    )
