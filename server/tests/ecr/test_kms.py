"""CreateRepository's encryptionConfiguration with Berth's KMS stand-in
(issue 18 §1): keys made with `berth kms`, named by id, ARN, alias or alias
ARN; unknown, disabled and pending-deletion keys refused with KmsException
and KMS's own error in kmsError; DescribeRepositories shows the key's ARN."""

import json

from conftest import REGION, expect_error, unique_name


def create_key(server, alias=None):
    args = ["kms", "create-key", "--json"]
    if alias:
        args += ["--alias", alias]
    return json.loads(server.admin(*args).stdout)["KeyMetadata"]


def kms_error(error):
    return error.response["Error"]["Code"], error.response.get("kmsError"), error.response["Error"]["Message"]


def test_a_key_named_by_id_arn_or_alias_is_stored_and_shown_as_its_arn(ecr, server):
    alias = unique_name("team")
    key = create_key(server, alias)
    assert key["Arn"] == f"arn:aws:kms:{REGION}:{key['Arn'].split(':')[4]}:key/{key['KeyId']}"
    alias_arn = key["Arn"].replace(f"key/{key['KeyId']}", f"alias/{alias}")
    for name in [key["KeyId"], key["Arn"], f"alias/{alias}", alias_arn]:
        repo = unique_name("kms-named")
        created = ecr.create_repository(
            repositoryName=repo,
            encryptionConfiguration={"encryptionType": "KMS", "kmsKey": name},
        )["repository"]
        expected = {"encryptionType": "KMS", "kmsKey": key["Arn"]}
        assert created["encryptionConfiguration"] == expected, name
        described = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
        assert described["encryptionConfiguration"] == expected, name
    protected = json.loads(server.admin("kms", "describe-key", key["KeyId"], "--json").stdout)
    assert len(protected["KeyMetadata"]["ProtectedRepositories"]) == 4


def test_kms_without_a_key_uses_the_default_key_alias_aws_ecr(ecr, server):
    repo = unique_name("kms-default")
    created = ecr.create_repository(
        repositoryName=repo, encryptionConfiguration={"encryptionType": "KMS"}
    )["repository"]
    default = json.loads(server.admin("kms", "describe-key", "alias/aws/ecr", "--json").stdout)["KeyMetadata"]
    assert default["KeyManager"] == "AWS"
    assert created["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": default["Arn"]}
    refused = server.admin("kms", "disable-key", "alias/aws/ecr", check=False)
    assert refused.returncode != 0
    assert "managed by Berth" in refused.stderr


def test_an_unknown_key_is_refused_with_kms_not_found(ecr, aws):
    for name in ["alias/no-such-key", "0b0e2a9c-6f2b-4d8e-9d43-0f0c1a2b3c4d", "arn:aws:kms:eu-west-1:111122223333:key/0b0e2a9c-6f2b-4d8e-9d43-0f0c1a2b3c4d"]:
        repo = unique_name("kms-unknown")
        error = expect_error(
            "KmsException",
            ecr.create_repository,
            repositoryName=repo,
            encryptionConfiguration={"encryptionType": "KMS", "kmsKey": name},
        )
        code, kms, message = kms_error(error)
        assert kms == "NotFoundException", error.response
        assert name in message
        expect_error("RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=[repo])
    stderr = aws.fail(
        "ecr", "create-repository",
        "--repository-name", unique_name("kms-cli"),
        "--encryption-configuration", "encryptionType=KMS,kmsKey=alias/no-such-key",
    )
    assert "KmsException" in stderr and "alias/no-such-key" in stderr, stderr


def test_a_disabled_or_pending_deletion_key_is_refused(ecr, aws, server):
    key = create_key(server)
    server.admin("kms", "disable-key", key["KeyId"])
    error = expect_error(
        "KmsException",
        ecr.create_repository,
        repositoryName=unique_name("kms-disabled"),
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key["Arn"]},
    )
    assert kms_error(error)[1] == "DisabledException"
    assert key["Arn"] in kms_error(error)[2] and "disabled" in kms_error(error)[2]
    stderr = aws.fail(
        "ecr", "create-repository",
        "--repository-name", unique_name("kms-disabled-cli"),
        "--encryption-configuration", f"encryptionType=KMS_DSSE,kmsKey={key['KeyId']}",
    )
    assert "KmsException" in stderr and "is disabled" in stderr, stderr

    server.admin("kms", "schedule-key-deletion", key["KeyId"], "--pending-window-in-days", "7")
    error = expect_error(
        "KmsException",
        ecr.create_repository,
        repositoryName=unique_name("kms-pending"),
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key["KeyId"]},
    )
    assert kms_error(error)[1] == "KMSInvalidStateException"
    assert "pending deletion" in kms_error(error)[2]


def test_a_kms_key_with_aes256_is_invalid(ecr):
    expect_error(
        "InvalidParameterException",
        ecr.create_repository,
        repositoryName=unique_name("aes-with-key"),
        encryptionConfiguration={"encryptionType": "AES256", "kmsKey": "alias/aws/ecr"},
    )
