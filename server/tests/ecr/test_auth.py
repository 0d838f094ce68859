"""GetAuthorizationToken, `aws ecr get-login-password`, and SigV4 failures."""

import base64
import datetime as dt
import os
import random
import string

import requests

from conftest import TIMEOUT, assert_recent, basic_auth_header, expect_error, make_ecr, record_secret


def decode_token(token: str) -> tuple:
    user, _, password = base64.b64decode(token).decode().partition(":")
    record_secret(password)
    return user, password


def get_v2(server, header: str) -> requests.Response:
    return requests.get(f"{server.url}/v2/", headers={"Authorization": header}, timeout=TIMEOUT)


def test_get_authorization_token_fields(ecr, server):
    data = ecr.get_authorization_token()["authorizationData"]
    assert len(data) == 1
    entry = data[0]
    user, password = decode_token(entry["authorizationToken"])
    assert user == "AWS"
    assert len(password) >= 16
    assert entry["proxyEndpoint"] == server.url
    # Valid for 12 hours.
    assert_recent(entry["expiresAt"] - dt.timedelta(hours=12), slack_seconds=120)


def test_authorization_token_logs_in_to_the_registry(ecr, server):
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    r = get_v2(server, "Basic " + token)
    assert r.status_code == 200, r.text


def test_made_up_token_is_rejected_by_the_registry(server):
    made_up = base64.b64encode(os.urandom(48)).decode()
    r = get_v2(server, basic_auth_header("AWS", made_up))
    assert r.status_code == 401, r.text
    assert "WWW-Authenticate" in r.headers


def test_get_login_password_works_as_registry_password(aws, server):
    password = aws.text("ecr", "get-login-password").strip()
    record_secret(password)
    assert password and "\n" not in password
    r = get_v2(server, basic_auth_header("AWS", password))
    assert r.status_code == 200, r.text


def test_cli_get_authorization_token_matches_login_password_format(aws, server):
    out = aws("ecr", "get-authorization-token")
    entry = out["authorizationData"][0]
    user, password = decode_token(entry["authorizationToken"])
    assert user == "AWS"
    assert entry["proxyEndpoint"] == server.url
    assert get_v2(server, basic_auth_header("AWS", password)).status_code == 200


def test_wrong_secret_is_an_invalid_signature(server, keys):
    client = make_ecr(server, keys["accessKeyId"], keys["secretAccessKey"] + "x")
    expect_error("InvalidSignatureException", client.get_authorization_token, status=403)


def test_unknown_access_key_is_unrecognized(server):
    akid = "AKIA" + "".join(random.choices(string.ascii_uppercase + string.digits, k=16))
    client = make_ecr(server, akid, "x" * 40)
    expect_error("UnrecognizedClientException", client.get_authorization_token, status=403)


def test_unsigned_request_is_missing_authentication(server):
    client = make_ecr(server, unsigned=True)
    expect_error("MissingAuthenticationTokenException", client.describe_repositories, status=403)


def test_cli_with_wrong_secret_fails(aws, keys):
    stderr = aws.fail("ecr", "describe-repositories", secret=keys["secretAccessKey"][::-1] + "z")
    assert "InvalidSignatureException" in stderr


def test_deleted_access_key_stops_working(server):
    key = server.create_access_key()
    assert key["accessKeyId"] in [k["accessKeyId"] for k in server.list_access_keys()]
    client = make_ecr(server, key["accessKeyId"], key["secretAccessKey"])
    assert client.get_authorization_token()["authorizationData"]

    server.delete_access_key(key["accessKeyId"])

    assert key["accessKeyId"] not in [k["accessKeyId"] for k in server.list_access_keys()]
    expect_error("UnrecognizedClientException", client.get_authorization_token, status=403)


def test_access_key_list_has_no_secrets(server, keys):
    listed = [k for k in server.list_access_keys() if k["accessKeyId"] == keys["accessKeyId"]]
    assert len(listed) == 1
    assert listed[0]["userName"] == "admin"
    assert "secretAccessKey" not in listed[0]
    assert listed[0]["createdAt"]


def test_describe_registry_has_a_twelve_digit_id(ecr, new_repo):
    registry_id = ecr.describe_registry()["registryId"]
    assert registry_id.isdigit() and len(registry_id) == 12
    name = new_repo()
    repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    assert repo["registryId"] == registry_id
