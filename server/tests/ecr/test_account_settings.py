"""GetAccountSetting and PutAccountSetting: the settings Berth acts on.

BLOB_MOUNTING really switches cross-repository mounts on /v2/ on and off (a
mount that is not done starts a normal upload, 202, as the OCI spec says);
REGISTRY_POLICY_SCOPE gives the registry policy ECR's V1 or V2 reach. The
settings are registry-wide, so these tests run on a server of their own."""

from __future__ import annotations

import os

import pytest

from conftest import (
    TIMEOUT,
    AwsCli,
    Registry,
    Server,
    create_user,
    expect_error,
    make_ecr,
    policy_text,
    unique_name,
)


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("berth-settings"), env={"BERTH_RATE_LIMIT": "0"})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin_ecr(own_server):
    key = own_server.create_access_key()
    return make_ecr(own_server, key["accessKeyId"], key["secretAccessKey"])


@pytest.fixture(scope="module")
def own_registry_id(admin_ecr):
    return admin_ecr.describe_registry()["registryId"]


@pytest.fixture
def restored(admin_ecr):
    """Puts both settings back to their defaults after the test."""
    yield
    admin_ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    admin_ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V2")
    try:
        admin_ecr.delete_registry_policy()
    except admin_ecr.exceptions.RegistryPolicyNotFoundException:
        pass


def setting(client, name: str) -> str:
    out = client.get_account_setting(name=name)
    assert out["name"] == name
    return out["value"]


def test_defaults_are_what_berth_does(admin_ecr):
    # Berth has always mounted across repositories; V2 is ECR's default scope.
    assert setting(admin_ecr, "BLOB_MOUNTING") == "ENABLED"
    assert setting(admin_ecr, "REGISTRY_POLICY_SCOPE") == "V2"


def test_put_answers_and_keeps_the_value(admin_ecr, restored):
    out = admin_ecr.put_account_setting(name="BLOB_MOUNTING", value="DISABLED")
    assert (out["name"], out["value"]) == ("BLOB_MOUNTING", "DISABLED")
    assert setting(admin_ecr, "BLOB_MOUNTING") == "DISABLED"
    out = admin_ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    assert (out["name"], out["value"]) == ("REGISTRY_POLICY_SCOPE", "V1")
    assert setting(admin_ecr, "REGISTRY_POLICY_SCOPE") == "V1"


@pytest.mark.parametrize("name,value", [("BLOB_MOUNTING", "ON"), ("REGISTRY_POLICY_SCOPE", "V3"),
                                        ("BLOB_MOUNTING", "enabled")])
def test_a_value_the_setting_does_not_take_is_refused(admin_ecr, name, value):
    error = expect_error("InvalidParameterException", admin_ecr.put_account_setting, name=name, value=value)
    assert value in error.response["Error"]["Message"]
    assert setting(admin_ecr, name) in ("ENABLED", "V2")


@pytest.mark.parametrize("name", ["BASIC_SCAN_TYPE_VERSION", "NO_SUCH_SETTING"])
def test_a_setting_berth_does_not_have_is_refused_by_name(admin_ecr, name):
    error = expect_error("InvalidParameterException", admin_ecr.get_account_setting, name=name)
    assert name in error.response["Error"]["Message"]
    error = expect_error("InvalidParameterException", admin_ecr.put_account_setting, name=name, value="AWS_NATIVE")
    assert name in error.response["Error"]["Message"]


def mount(registry: Registry, name: str, digest: str, source: str):
    return registry.http.post(
        registry.url(f"/v2/{name}/blobs/uploads/"), params={"mount": digest, "from": source}, timeout=TIMEOUT
    )


def test_blob_mounting_switches_cross_repository_mounts(own_server, admin_ecr, restored):
    registry = Registry(own_server)
    source, target = unique_name("mount-from"), unique_name("mount-to")
    for name in (source, target):
        admin_ecr.create_repository(repositoryName=name)
    layer = registry.push_blob(source, os.urandom(2048))
    digest = layer["digest"]

    admin_ecr.put_account_setting(name="BLOB_MOUNTING", value="DISABLED")
    r = mount(registry, target, digest, source)
    assert r.status_code == 202, f"a mount that is not done starts an upload: {r.status_code} {r.text}"
    assert "/blobs/uploads/" in r.headers["Location"]
    assert registry.http.head(registry.url(f"/v2/{target}/blobs/{digest}"), timeout=TIMEOUT).status_code == 404
    out = admin_ecr.batch_check_layer_availability(repositoryName=target, layerDigests=[digest])
    assert [f["failureCode"] for f in out["failures"]] == ["MissingLayerDigest"]

    admin_ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    r = mount(registry, target, digest, source)
    assert r.status_code == 201, r.text
    assert r.headers["Docker-Content-Digest"] == digest
    assert registry.http.head(registry.url(f"/v2/{target}/blobs/{digest}"), timeout=TIMEOUT).status_code == 200


def test_registry_policy_scope_v1_limits_the_registry_policy_to_ecr_v1_actions(
    own_server, admin_ecr, own_registry_id, restored
):
    """Under V2 the registry policy takes part in every request; under V1,
    as in ECR, only in ecr:ReplicateImage, ecr:BatchImportUpstreamImage and
    ecr:CreateRepository."""
    repo = unique_name("scoped")
    admin_ecr.create_repository(repositoryName=repo)
    Registry(own_server).push_image(repo, "v1")
    gina = create_user(own_server, own_registry_id, "gina")
    admin_ecr.put_registry_policy(policyText=policy_text({
        "Sid": "GinaListsAndCreates", "Effect": "Allow", "Principal": {"AWS": gina.arn},
        "Action": ["ecr:ListImages", "ecr:CreateRepository"],
    }))
    assert [i["imageTag"] for i in gina.ecr.list_images(repositoryName=repo)["imageIds"]] == ["v1"]
    gina.ecr.create_repository(repositoryName=unique_name("by-gina-v2"))

    admin_ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    expect_error("AccessDeniedException", gina.ecr.list_images, repositoryName=repo, status=403)
    gina.ecr.create_repository(repositoryName=unique_name("by-gina-v1"))

    admin_ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V2")
    assert gina.ecr.list_images(repositoryName=repo)["imageIds"]


def test_registry_policy_scope_v1_also_limits_explicit_denies(own_server, admin_ecr, restored):
    repo = unique_name("deny-scoped")
    admin_ecr.create_repository(repositoryName=repo)
    admin_ecr.put_registry_policy(policyText=policy_text({
        "Sid": "NoListing", "Effect": "Deny", "Principal": "*", "Action": "ecr:ListImages",
    }))
    expect_error("AccessDeniedException", admin_ecr.list_images, repositoryName=repo, status=403)
    admin_ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    assert admin_ecr.list_images(repositoryName=repo)["imageIds"] == []


def test_cli_account_settings(own_server, admin_ecr, restored, tmp_path):
    home = tmp_path / "aws"
    home.mkdir()
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    key = own_server.create_access_key()
    aws = AwsCli(own_server, key, home)
    out = aws("ecr", "put-account-setting", "--name", "BLOB_MOUNTING", "--value", "DISABLED")
    assert out == {"name": "BLOB_MOUNTING", "value": "DISABLED"}
    assert aws("ecr", "get-account-setting", "--name", "BLOB_MOUNTING") == {"name": "BLOB_MOUNTING", "value": "DISABLED"}
    stderr = aws.fail("ecr", "get-account-setting", "--name", "BASIC_SCAN_TYPE_VERSION")
    assert "InvalidParameterException" in stderr
