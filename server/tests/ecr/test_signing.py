"""Managed signing (issue 18 §3): PutSigningConfiguration and friends through
boto3 and the AWS CLI, and the Notary Project signatures Berth makes for the
images a rule covers, checked by a verifier written here from the Notary
Project specification (specs/signature-specification.md and
specs/signature-envelope-jws.md of notaryproject/specifications) with
Python's `cryptography`, trusting only the CA certificate downloaded from
Berth.

The signing configuration is registry-wide, so these tests run on a server of
their own: the session server's other tests must not get signatures.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time

import boto3
import pytest
import requests
from botocore.config import Config
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from conftest import (
    OCI_EMPTY,
    OCI_MANIFEST,
    REGION,
    TIMEOUT,
    AwsCli,
    Registry,
    Server,
    expect_error,
    make_ecr,
    sha256_digest,
    unique_name,
)

NOTARY_SIGNATURE = "application/vnd.cncf.notary.signature"
JWS = "application/jose+json"
NOTARY_PAYLOAD = "application/vnd.cncf.notary.payload.v1+json"
THUMBPRINTS = "io.cncf.notary.x509chain.thumbprint#S256"


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    """A server of its own, with an access key, boto3, the AWS CLI, the /v2/
    API, and a signing profile `release_key`."""
    srv = Server(tmp_path_factory.mktemp("berth-signing"), env={"BERTH_RATE_LIMIT": "0"})
    key = srv.create_access_key()
    home = tmp_path_factory.mktemp("aws-home-signing")
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    profile = json.loads(srv.admin("signing-key", "create", "release_key", "--json").stdout)

    class Signer:
        server = srv
        ecr = make_ecr(srv, key["accessKeyId"], key["secretAccessKey"])
        # boto3 without its own parameter checks, so the server's are tested.
        loose = boto3.session.Session(
            aws_access_key_id=key["accessKeyId"], aws_secret_access_key=key["secretAccessKey"], region_name=REGION
        ).client(
            "ecr",
            endpoint_url=srv.url,
            config=Config(region_name=REGION, retries={"total_max_attempts": 1}, read_timeout=TIMEOUT, parameter_validation=False),
        )
        aws = AwsCli(srv, key, home)
        registry = Registry(srv)
        profile_arn = profile["signingProfileArn"]

    yield Signer
    srv.stop()


# --------------------------------------------------------------------------
# the verifier, from the Notary Project specification


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_ca(cert: x509.Certificate) -> None:
    """Root and intermediate CA certificates: basicConstraints present,
    critical, cA true; keyUsage present, critical, keyCertSign."""
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca, "a CA certificate needs critical basicConstraints cA=true"
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign, "a CA certificate needs critical keyUsage keyCertSign"


def check_leaf(cert: x509.Certificate) -> None:
    """The signing certificate: basicConstraints cA false if present; keyUsage
    critical with digitalSignature and none of the forbidden bits; EKU with
    codeSigning and none of the forbidden purposes; an EC key of >= 256 bits."""
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert not bc.value.ca, "the signing certificate must not be a CA"
    except x509.ExtensionNotFound:
        pass
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical, "keyUsage must be critical"
    assert ku.value.digital_signature
    for bit in ["key_encipherment", "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign"]:
        assert not getattr(ku.value, bit), f"keyUsage {bit} must not be set"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CODE_SIGNING in eku, "the signing certificate is for code signing"
    for forbidden in [
        ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        ExtendedKeyUsageOID.TIME_STAMPING,
    ]:
        assert forbidden not in eku, f"EKU must not contain {forbidden}"
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size >= 256


def verify_envelope(envelope: bytes, trusted_ca: x509.Certificate) -> dict:
    """Verifies a JWS JSON-serialized Notary Project signature envelope under
    the trust store {trusted_ca}; returns the payload's targetArtifact.
    Raises (AssertionError, InvalidSignature) when anything is wrong."""
    env = json.loads(envelope)
    assert set(env) == {"payload", "protected", "header", "signature"}, env.keys()
    protected = json.loads(b64url(env["protected"]))
    assert protected["cty"] == NOTARY_PAYLOAD
    assert protected["io.cncf.notary.signingScheme"] == "notary.x509"
    assert "io.cncf.notary.signingScheme" in protected["crit"]
    for name in protected["crit"]:
        assert name in protected, f"critical header {name} is missing"
    signing_time = dt.datetime.fromisoformat(protected["io.cncf.notary.signingTime"].replace("Z", "+00:00"))

    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in env["header"]["x5c"]]
    assert len(chain) >= 2, "leaf first, ending with the root"
    leaf, root = chain[0], chain[-1]
    assert root.fingerprint(hashes.SHA256()) == trusted_ca.fingerprint(hashes.SHA256()), "the chain must end in the trusted CA"
    root.verify_directly_issued_by(root)
    for child, parent in zip(chain, chain[1:]):
        child.verify_directly_issued_by(parent)
        check_ca(parent)
    check_leaf(leaf)
    for cert in chain:
        assert cert.not_valid_before_utc <= signing_time <= cert.not_valid_after_utc
        assert cert.not_valid_before_utc <= dt.datetime.now(dt.timezone.utc) <= cert.not_valid_after_utc

    # Algorithm selection: the signing certificate's key decides (EC 256 -> ES256).
    key = leaf.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert protected["alg"] == "ES256"
    raw = b64url(env["signature"])
    assert len(raw) == 64, "ES256 is r||s, 32 bytes each"
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, f"{env['protected']}.{env['payload']}".encode(), ec.ECDSA(hashes.SHA256()))

    payload = json.loads(b64url(env["payload"]))
    return payload["targetArtifact"]


def verify_image(envelope: bytes, trusted_ca: x509.Certificate, manifest: bytes, media_type: str) -> None:
    """The signature verifies and is for exactly this manifest."""
    target = verify_envelope(envelope, trusted_ca)
    assert target["digest"] == sha256_digest(manifest), "the signature is for another manifest"
    assert target["size"] == len(manifest)
    assert target["mediaType"] == media_type


# --------------------------------------------------------------------------
# helpers


def wait_signed(ecr, name: str, digest: str, seconds: float = 60) -> list:
    deadline = time.monotonic() + seconds
    while True:
        out = ecr.describe_image_signing_status(repositoryName=name, imageId={"imageDigest": digest})
        statuses = out["signingStatuses"]
        if statuses and all(s["status"] != "IN_PROGRESS" for s in statuses):
            return statuses
        assert time.monotonic() < deadline, f"still signing after {seconds} s: {statuses}"
        time.sleep(0.2)


def signatures(signer, name: str, digest: str) -> list:
    r = signer.registry.http.get(
        signer.registry.url(f"/v2/{name}/referrers/{digest}"),
        params={"artifactType": NOTARY_SIGNATURE},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    return r.json()["manifests"]


def envelope_of(signer, name: str, image) -> bytes:
    """The JWS envelope of the image's one Notary signature."""
    [found] = signatures(signer, name, image.digest)
    manifest = signer.registry.get_manifest(name, found["digest"]).json()
    return signer.registry.get_blob(name, manifest["layers"][0]["digest"]).content


def download_ca(signer) -> x509.Certificate:
    r = requests.get(f"{signer.server.url}/signing/ca.pem", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/x-pem-file"
    return x509.load_pem_x509_certificate(r.content)


def configure(signer, *filters: str) -> None:
    rule = {"signingProfileArn": signer.profile_arn}
    if filters:
        rule["repositoryFilters"] = [{"filter": f, "filterType": "WILDCARD_MATCH"} for f in filters]
    signer.ecr.put_signing_configuration(signingConfiguration={"rules": [rule]})


# --------------------------------------------------------------------------
# the tests


def test_without_a_configuration_get_and_delete_say_so(signer):
    expect_error("SigningConfigurationNotFoundException", signer.ecr.get_signing_configuration)
    expect_error("SigningConfigurationNotFoundException", signer.ecr.delete_signing_configuration)
    stderr = signer.aws.fail("ecr", "get-signing-configuration")
    assert "SigningConfigurationNotFoundException" in stderr


def test_a_matching_push_gets_a_notary_signature_that_verifies(signer):
    configure(signer, "signed/*")
    got = signer.ecr.get_signing_configuration()
    assert re.fullmatch(r"\d{12}", got["registryId"])
    assert signer.profile_arn == f"arn:aws:signer:us-east-1:{got['registryId']}:/signing-profiles/release_key"
    assert got["signingConfiguration"]["rules"] == [
        {
            "signingProfileArn": signer.profile_arn,
            "repositoryFilters": [{"filter": "signed/*", "filterType": "WILDCARD_MATCH"}],
        }
    ]
    name = "signed/" + unique_name("app")
    signer.ecr.create_repository(repositoryName=name)
    image = signer.registry.push_image(name, "v1")

    statuses = wait_signed(signer.ecr, name, image.digest)
    assert statuses == [{"signingProfileArn": signer.profile_arn, "status": "COMPLETE"}]
    # The AWS CLI reads the same status.
    out = signer.aws("ecr", "describe-image-signing-status", "--repository-name", name, "--image-id", "imageTag=v1")
    assert out["signingStatuses"] == statuses
    assert out["imageId"] == {"imageTag": "v1", "imageDigest": image.digest}

    found = signatures(signer, name, image.digest)
    assert len(found) == 1, found
    assert found[0]["artifactType"] == NOTARY_SIGNATURE
    manifest = signer.registry.get_manifest(name, found[0]["digest"]).json()
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["artifactType"] == NOTARY_SIGNATURE
    assert manifest["config"]["mediaType"] == OCI_EMPTY
    assert manifest["subject"] == image.descriptor
    [layer] = manifest["layers"]
    assert layer["mediaType"] == JWS
    envelope = signer.registry.get_blob(name, layer["digest"]).content
    assert sha256_digest(envelope) == layer["digest"]

    ca = download_ca(signer)
    # The CLI prints the same CA.
    assert signer.server.admin("signing-key", "ca").stdout.encode() == ca.public_bytes(Encoding.PEM)
    verify_image(envelope, ca, image.manifest, OCI_MANIFEST)

    # The thumbprint annotation lists the chain in x5c, in order.
    chain = [base64.b64decode(c) for c in json.loads(envelope)["header"]["x5c"]]
    prints = [p.lower() for p in json.loads(manifest["annotations"][THUMBPRINTS])]
    assert prints == [sha256_digest(c).removeprefix("sha256:") for c in chain]
    # The leaf is the profile's certificate.
    profile = json.loads(signer.server.admin("signing-key", "describe", "release_key", "--json").stdout)
    leaf = x509.load_pem_x509_certificate(profile["certificatePem"].encode())
    assert leaf.public_bytes(Encoding.DER) == chain[0]

    # The signature itself is not signed.
    assert signer.ecr.describe_image_signing_status(
        repositoryName=name, imageId={"imageDigest": found[0]["digest"]}
    )["signingStatuses"] == []


def test_a_changed_manifest_does_not_verify(signer):
    configure(signer, "signed/*")
    name = "signed/" + unique_name("changed")
    signer.ecr.create_repository(repositoryName=name)
    image = signer.registry.push_image(name, "v1")
    wait_signed(signer.ecr, name, image.digest)
    envelope = envelope_of(signer, name, image)
    ca = download_ca(signer)
    verify_image(envelope, ca, image.manifest, OCI_MANIFEST)

    # The same signature does not vouch for a changed manifest ...
    doc = json.loads(image.manifest)
    doc["annotations"] = {"org.example.changed": "yes"}
    changed = json.dumps(doc).encode()
    with pytest.raises(AssertionError, match="another manifest"):
        verify_image(envelope, ca, changed, OCI_MANIFEST)
    # ... and a payload rewritten to name the changed manifest breaks the signature.
    env = json.loads(envelope)
    forged = {"targetArtifact": {"mediaType": OCI_MANIFEST, "digest": sha256_digest(changed), "size": len(changed)}}
    env["payload"] = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    with pytest.raises(InvalidSignature):
        verify_envelope(json.dumps(env).encode(), ca)
    # A chain that ends in another CA is not trusted.
    profile = json.loads(signer.server.admin("signing-key", "describe", "release_key", "--json").stdout)
    other = x509.load_pem_x509_certificate(profile["certificatePem"].encode())
    with pytest.raises(AssertionError, match="trusted CA"):
        verify_envelope(envelope, other)


def test_a_repository_no_rule_covers_is_not_signed(signer):
    configure(signer, "signed/*")
    name = unique_name("unsigned")
    signer.ecr.create_repository(repositoryName=name)
    image = signer.registry.push_image(name, "v1")
    # A covered push made after it is signed, so the jobs have run by then.
    covered = "signed/" + unique_name("after")
    signer.ecr.create_repository(repositoryName=covered)
    wait_signed(signer.ecr, covered, signer.registry.push_image(covered, "v1").digest)
    out = signer.ecr.describe_image_signing_status(repositoryName=name, imageId={"imageTag": "v1"})
    assert out["signingStatuses"] == []
    assert signatures(signer, name, image.digest) == []


def test_after_delete_pushes_are_not_signed(signer):
    configure(signer, "later/*")
    deleted = signer.ecr.delete_signing_configuration()
    assert deleted["signingConfiguration"]["rules"][0]["signingProfileArn"] == signer.profile_arn
    expect_error("SigningConfigurationNotFoundException", signer.ecr.get_signing_configuration)
    name = "later/" + unique_name("app")
    signer.ecr.create_repository(repositoryName=name)
    image = signer.registry.push_image(name, "v1")
    out = signer.ecr.describe_image_signing_status(repositoryName=name, imageId={"imageDigest": image.digest})
    assert out["signingStatuses"] == []


def test_a_rule_without_filters_covers_every_repository_and_indexes_are_signed(signer):
    configure(signer)
    name = unique_name("anything")
    signer.ecr.create_repository(repositoryName=name)
    child = signer.registry.push_image(name, None)
    index = signer.registry.push_index(name, "multi", [child])
    assert wait_signed(signer.ecr, name, index.digest)[0]["status"] == "COMPLETE"
    assert wait_signed(signer.ecr, name, child.digest)[0]["status"] == "COMPLETE"
    ca = download_ca(signer)
    verify_image(envelope_of(signer, name, index), ca, index.manifest, index.media_type)
    verify_image(envelope_of(signer, name, child), ca, child.manifest, OCI_MANIFEST)


@pytest.mark.parametrize(
    "rule, why",
    [
        ({"signingProfileArn": "arn:aws:signer:us-east-1:123456789012:/signing-profiles/no_such"}, "not a signing profile ARN of this registry"),
        ({"signingProfileArn": "PROFILE/no_such"}, "does not exist"),
        ({"repositoryFilters": [{"filter": "Upper/*", "filterType": "WILDCARD_MATCH"}]}, "filter"),
        ({"repositoryFilters": [{"filter": "a/*", "filterType": "WILDCARD"}]}, "WILDCARD_MATCH"),
        ({"repositoryFilters": []}, "1 to 100"),
    ],
)
def test_bad_rules_are_validation_errors(signer, rule, why):
    full = {"signingProfileArn": signer.profile_arn, **rule}
    full["signingProfileArn"] = full["signingProfileArn"].replace("PROFILE", signer.profile_arn.rsplit("/", 1)[0])
    error = expect_error(
        "ValidationException",
        signer.loose.put_signing_configuration,
        signingConfiguration={"rules": [full]},
    )
    assert why in error.response["Error"]["Message"]


def test_too_many_rules_are_a_validation_error(signer):
    rules = [{"signingProfileArn": signer.profile_arn}] * 11
    error = expect_error(
        "ValidationException", signer.loose.put_signing_configuration, signingConfiguration={"rules": rules}
    )
    assert "at most 10 rules" in error.response["Error"]["Message"]


def test_status_of_a_missing_image_is_image_not_found(signer):
    name = unique_name("empty")
    signer.ecr.create_repository(repositoryName=name)
    expect_error(
        "ImageNotFoundException",
        signer.ecr.describe_image_signing_status,
        repositoryName=name,
        imageId={"imageTag": "nope"},
    )
    expect_error(
        "RepositoryNotFoundException",
        signer.ecr.describe_image_signing_status,
        repositoryName=unique_name("missing"),
        imageId={"imageTag": "nope"},
    )


def test_signing_keys_from_the_cli(signer):
    made = json.loads(signer.server.admin("signing-key", "create", "ci_key", "--json").stdout)
    assert made["signingProfileArn"].endswith(":/signing-profiles/ci_key")
    assert made["signingProfileArn"].startswith("arn:aws:signer:us-east-1:")
    listed = json.loads(signer.server.admin("signing-key", "list", "--json").stdout)
    assert {p["name"] for p in listed} >= {"ci_key", "release_key"}
    assert all("certificatePem" not in p for p in listed)
    again = signer.server.admin("signing-key", "create", "ci_key", check=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = signer.server.admin("signing-key", "create", "bad-name", check=False)
    assert bad.returncode != 0 and "letters, digits or '_'" in bad.stderr
    # A profile a rule names cannot be deleted; one no rule names can.
    configure(signer, "ci/*")
    in_use = signer.server.admin("signing-key", "delete", "release_key", check=False)
    assert in_use.returncode != 0 and "used by rule 0" in in_use.stderr
    signer.server.admin("signing-key", "delete", "ci_key")
    listed = json.loads(signer.server.admin("signing-key", "list", "--json").stdout)
    assert "ci_key" not in {p["name"] for p in listed}
    # The private keys are never shown.
    described = signer.server.admin("signing-key", "describe", "release_key", "--json").stdout
    assert "PRIVATE KEY" not in described


def test_pushing_a_signed_manifest_again_does_not_sign_it_again(signer):
    configure(signer, "again/*")
    name = "again/" + unique_name("app")
    signer.ecr.create_repository(repositoryName=name)
    image = signer.registry.push_image(name, "v1")
    wait_signed(signer.ecr, name, image.digest)
    signer.registry.push_manifest(name, "v2", image.manifest)
    # A later covered push is signed after any signing the re-push queued.
    later = signer.registry.push_image(name, "v3")
    wait_signed(signer.ecr, name, later.digest)
    assert len(signatures(signer, name, image.digest)) == 1
    assert wait_signed(signer.ecr, name, image.digest)[0]["status"] == "COMPLETE"


def test_private_keys_are_sealed_in_the_database(signer):
    """No PKCS#8 EC private key is in the database files in the clear: the
    CA's and the profiles' keys are sealed by the installation secret."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    # The header of every PKCS#8 P-256 private key (version 0, id-ecPublicKey
    # prime256v1, then ECPrivateKey version 1 and its 32-byte secret), as
    # cryptography writes it and as Berth's keys are made. A certificate's
    # public key starts otherwise (SEQUENCE, SEQUENCE of the OIDs, BIT STRING).
    sample = ec.generate_private_key(ec.SECP256R1()).private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    header = bytes.fromhex("020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420")
    assert header in sample
    signer.server.admin("signing-key", "create", "sealed_check")
    files = [p for p in signer.server.data_dir.iterdir() if p.name.startswith("berth.db")]
    assert files, list(signer.server.data_dir.iterdir())
    for path in files:
        data = path.read_bytes()
        assert header not in data, f"a private key is in {path.name} in the clear"
        assert b"PRIVATE KEY" not in data
