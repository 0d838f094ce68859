"""Lifecycle policies: PutLifecyclePolicy, GetLifecyclePolicy,
DeleteLifecyclePolicy, StartLifecyclePolicyPreview and
GetLifecyclePolicyPreview, through boto3 and the AWS CLI.

The previews reproduce the worked examples of ECR's documentation
("Examples of lifecycle policies in Amazon ECR") wherever the push times can
be arranged: Berth records an image's push time when it is pushed, so the
examples' ages ("pushed 10 days ago") become a push order here, and the
examples' `imageCountMoreThan` rules work unchanged. Time-based rules
(`sinceImagePushed`) can only be checked to expire nothing, since every test
image is seconds old.

Berth evaluates a preview synchronously: StartLifecyclePolicyPreview answers
status COMPLETE, and a preview deletes nothing.
"""

from __future__ import annotations

import json
import re
import time

import boto3
import pytest
from botocore.config import Config

from conftest import (
    REGION,
    TIMEOUT,
    REGISTRY_ID_RE,
    assert_recent,
    expect_error,
    list_image_ids,
    unique_name,
)

# --------------------------------------------------------------------------
# policies


def rule(priority: int, tag_status: str = "any", *, count: int = 1, patterns=None, prefixes=None,
         count_type: str = "imageCountMoreThan", unit: str | None = None, action: dict | None = None,
         description: str | None = None, **selection_extra) -> dict:
    """One lifecycle rule as ECR's JSON."""
    selection = {"tagStatus": tag_status}
    if patterns is not None:
        selection["tagPatternList"] = list(patterns)
    if prefixes is not None:
        selection["tagPrefixList"] = list(prefixes)
    selection["countType"] = count_type
    if unit is not None:
        selection["countUnit"] = unit
    selection["countNumber"] = count
    selection.update(selection_extra)
    doc = {"rulePriority": priority}
    if description is not None:
        doc["description"] = description
    doc["selection"] = selection
    doc["action"] = action or {"type": "expire"}
    return doc


def policy(*rules: dict) -> str:
    """A lifecycle policy's text; padded with a description to ECR's
    100-character minimum when the rules alone are shorter."""
    text = json.dumps({"rules": list(rules)}, indent=2)
    if len(text) < 100 and rules:
        first = dict(rules[0])
        first["description"] = "padding " * 10
        text = json.dumps({"rules": [first, *rules[1:]]}, indent=2)
    assert len(text) >= 100, text
    return text


def keep_prod_policy(count: int = 2) -> str:
    return policy(rule(1, "tagged", prefixes=["prod"], count=count, description="keep the newest prod images"))


def any_policy(count: int = 1) -> str:
    return policy(rule(1, "any", count=count, description="keep only the newest images"))


# --------------------------------------------------------------------------
# images in a known push order


def push_in_order(registry, repo: str, *tag_sets) -> list:
    """One fresh image per entry of `tag_sets` (a list of tags; [] pushes an
    untagged image, by digest), each pushed after the one before."""
    images = []
    for tags in tag_sets:
        tags = list(tags)
        image = registry.push_image(repo, tags[0] if tags else None)
        for extra in tags[1:]:
            registry.push_manifest(repo, extra, image.manifest)
        image.tags = tags
        images.append(image)
        time.sleep(0.005)  # push times are milliseconds: keep them distinct
    return images


def pushed_at(ecr, repo: str, images) -> dict:
    """digest -> imagePushedAt, as DescribeImages reports it."""
    digests = list(dict.fromkeys(i.digest for i in images))
    out = {}
    for start in range(0, len(digests), 100):
        chunk = digests[start:start + 100]
        details = ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": d} for d in chunk])
        for d in details["imageDetails"]:
            out[d["imageDigest"]] = d["imagePushedAt"]
    assert set(out) == set(digests), f"DescribeImages misses {set(digests) - set(out)}"
    return out


def assert_pushed_in_order(ecr, repo: str, images) -> dict:
    """The images' push times increase strictly in the order given; returns
    digest -> imagePushedAt."""
    times = pushed_at(ecr, repo, images)
    seq = [times[i.digest] for i in images]
    assert seq == sorted(seq) and len(set(seq)) == len(seq), f"push times not strictly increasing: {seq}"
    return times


# --------------------------------------------------------------------------
# previews


def start_preview(ecr, repo: str, text: str | None = None, registry_id: str | None = None) -> dict:
    kwargs = {"repositoryName": repo}
    if text is not None:
        kwargs["lifecyclePolicyText"] = text
    out = ecr.start_lifecycle_policy_preview(**kwargs)
    assert out["repositoryName"] == repo
    assert REGISTRY_ID_RE.match(out["registryId"]), out
    if registry_id:
        assert out["registryId"] == registry_id
    assert out["status"] == "COMPLETE", out
    if text is not None:
        assert out["lifecyclePolicyText"] == text
    return out


def preview_results(ecr, repo: str, **kwargs) -> list:
    """Every previewResult of GetLifecyclePolicyPreview, through the paginator."""
    results = []
    for page in ecr.get_paginator("get_lifecycle_policy_preview").paginate(repositoryName=repo, **kwargs):
        assert page["status"] == "COMPLETE", page
        results.extend(page.get("previewResults", []))
    digests = [r["imageDigest"] for r in results]
    assert len(digests) == len(set(digests)), f"an image is listed twice: {digests}"
    return results


def preview(ecr, repo: str, text: str | None = None) -> dict:
    """Starts a preview and returns digest -> previewResult of everything it
    would expire, after checking each result's shape."""
    start_preview(ecr, repo, text)
    got = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert got["status"] == "COMPLETE"
    assert got["repositoryName"] == repo
    results = preview_results(ecr, repo)
    assert got["summary"]["expiringImageTotalCount"] == len(results), got["summary"]
    for r in results:
        assert r["action"]["type"] == "EXPIRE", r
        assert isinstance(r["appliedRulePriority"], int), r
        assert_recent(r["imagePushedAt"])
    return {r["imageDigest"]: r for r in results}


def assert_expiring(ecr, repo: str, results: dict, expected: list) -> None:
    """`results` (digest -> previewResult) holds exactly the images of
    `expected` ([(Image, appliedRulePriority)]), each with its tags and push time."""
    want = {image.digest: priority for image, priority in expected}
    names = {image.digest: (getattr(image, "tags", None) or [image.tag]) for image, _ in expected}
    got = {d: r["appliedRulePriority"] for d, r in results.items()}
    assert got == want, f"expected to expire {names}, got {[(results[d].get('imageTags'), p) for d, p in got.items()]}"
    if expected:
        times = pushed_at(ecr, repo, [image for image, _ in expected])
        for image, _ in expected:
            r = results[image.digest]
            tags = getattr(image, "tags", None)
            if tags is None:
                tags = [image.tag] if image.tag else []
            assert sorted(r.get("imageTags", [])) == sorted(tags), r
            assert r["imagePushedAt"] == times[image.digest], r


def assert_all_still_there(ecr, registry, repo: str, images) -> None:
    """A preview is a dry run: every image is still listed and still pulls."""
    listed = {i["imageDigest"] for i in list_image_ids(ecr, repo)}
    for image in images:
        assert image.digest in listed, f"{image.digest} is gone from ListImages after a preview"
        r = registry.get_manifest(repo, image.digest)
        assert r.status_code == 200, f"GET manifest {image.digest} after a preview: {r.status_code} {r.text}"
        for tag in getattr(image, "tags", None) or ([image.tag] if image.tag else []):
            r = registry.get_manifest(repo, tag)
            assert r.status_code == 200, f"GET manifest {tag} after a preview: {r.status_code}"
            assert r.headers.get("Docker-Content-Digest") == image.digest


def _client_with(config, server, keys):
    session = boto3.session.Session(
        aws_access_key_id=keys["accessKeyId"],
        aws_secret_access_key=keys["secretAccessKey"],
        region_name=REGION,
    )
    return session.client("ecr", endpoint_url=server.url, config=config)


@pytest.fixture(scope="module")
def loose_ecr(server, keys):
    """A boto3 client that does not check parameters itself, so the server's
    own checks (text length, maxResults) are what is tested."""
    return _client_with(
        Config(region_name=REGION, retries={"total_max_attempts": 1}, read_timeout=TIMEOUT, parameter_validation=False),
        server,
        keys,
    )


# ==========================================================================
# PutLifecyclePolicy, GetLifecyclePolicy, DeleteLifecyclePolicy


def test_put_get_delete_lifecycle_policy_round_trip(ecr, repo, registry_id):
    # Odd spacing, key order and a trailing newline: Get answers the text as put.
    text = (
        '{ "rules" : [\n\t{"selection": {"countNumber": 3, "tagStatus": "untagged",\n'
        '   "countType": "imageCountMoreThan"}, "rulePriority": 1,\n'
        '   "description": "Expire old untagged images", "action": {"type": "expire"}}\n]}\n'
    )
    out = ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)
    assert out["registryId"] == registry_id
    assert out["repositoryName"] == repo
    assert json.loads(out["lifecyclePolicyText"]) == json.loads(text)

    got = ecr.get_lifecycle_policy(repositoryName=repo)
    assert got["registryId"] == registry_id
    assert got["repositoryName"] == repo
    assert got["lifecyclePolicyText"] == text

    deleted = ecr.delete_lifecycle_policy(repositoryName=repo)
    assert deleted["registryId"] == registry_id
    assert deleted["repositoryName"] == repo
    assert deleted["lifecyclePolicyText"] == text

    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName=repo)
    expect_error("LifecyclePolicyNotFoundException", ecr.delete_lifecycle_policy, repositoryName=repo)


def test_put_lifecycle_policy_replaces_the_previous_one(ecr, repo):
    first = keep_prod_policy(5)
    second = policy(rule(1, "untagged", count=2, description="keep two untagged images"),
                    rule(2, "any", count=10, description="keep ten images"))
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=first)
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=second)
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == second


def test_lifecycle_policy_belongs_to_its_repository(ecr, new_repo):
    one, other = new_repo("lp-one"), new_repo("lp-other")
    ecr.put_lifecycle_policy(repositoryName=one, lifecyclePolicyText=keep_prod_policy())
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName=other)


def test_get_lifecycle_policy_without_one_fails(ecr, repo):
    error = expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName=repo)
    assert repo in error.response["Error"]["Message"]
    expect_error("LifecyclePolicyNotFoundException", ecr.delete_lifecycle_policy, repositoryName=repo)


def test_lifecycle_policy_operations_on_a_missing_repository_fail(ecr):
    absent = unique_name("absent")
    text = keep_prod_policy()
    expect_error("RepositoryNotFoundException", ecr.put_lifecycle_policy, repositoryName=absent, lifecyclePolicyText=text)
    expect_error("RepositoryNotFoundException", ecr.get_lifecycle_policy, repositoryName=absent)
    expect_error("RepositoryNotFoundException", ecr.delete_lifecycle_policy, repositoryName=absent)
    expect_error("RepositoryNotFoundException", ecr.start_lifecycle_policy_preview, repositoryName=absent,
                 lifecyclePolicyText=text)
    expect_error("RepositoryNotFoundException", ecr.start_lifecycle_policy_preview, repositoryName=absent)
    expect_error("RepositoryNotFoundException", ecr.get_lifecycle_policy_preview, repositoryName=absent)


def test_a_recreated_repository_has_no_lifecycle_policy_or_preview(ecr, registry, repo):
    registry.push_image(repo, "prod1")
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=keep_prod_policy())
    start_preview(ecr, repo)
    ecr.delete_repository(repositoryName=repo, force=True)
    ecr.create_repository(repositoryName=repo)
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName=repo)
    expect_error("LifecyclePolicyPreviewNotFoundException", ecr.get_lifecycle_policy_preview, repositoryName=repo)


def test_lifecycle_policy_examples_of_the_documentation_are_accepted(ecr, repo):
    examples = [
        # Filtering on image age (current and 2023 wording).
        policy(rule(1, "tagged", patterns=["prod*"], count_type="sinceImagePushed", unit="days", count=14,
                    description="Expire images older than 14 days")),
        policy(rule(1, "untagged", count_type="sinceImagePushed", unit="days", count=14,
                    description="Expire images older than 14 days")),
        # Filtering on image count.
        policy(rule(1, "untagged", count=1, description="Expire images older than 14 days")),
        # Multiple rules, example A (pattern and prefix wording).
        policy(rule(1, "tagged", patterns=["prod*"], count=1, description="Rule 1"),
               rule(2, "tagged", patterns=["beta*"], count=1, description="Rule 2")),
        policy(rule(1, "tagged", prefixes=["prod"], count=1, description="Rule 1"),
               rule(2, "tagged", prefixes=["beta"], count=1, description="Rule 2")),
        # Multiple tags in a single rule.
        policy(rule(1, "tagged", patterns=["alpha*", "beta*"], count_type="sinceImagePushed", unit="days",
                    count=5, description="Rule 1")),
        # All images, example B: every rule type together.
        policy(rule(1, "tagged", patterns=["alpha*"], count=1, description="Rule 1"),
               rule(2, "untagged", count_type="sinceImagePushed", unit="days", count=1, description="Rule 2"),
               rule(3, "any", count=1, description="Rule 3")),
        # Priorities need not be sequential; storageClass standard may be explicit;
        # patterns may have up to four wildcards each.
        policy(rule(10, "tagged", patterns=["*test*1*2*3", "test*1*2*3*"], count=3),
               rule(20, "tagged", prefixes=["release-"], count=30, storageClass="standard"),
               rule(99, "any", count=100)),
    ]
    for text in examples:
        out = ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)
        assert json.loads(out["lifecyclePolicyText"]) == json.loads(text)
        assert ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == text


# --------------------------------------------------------------------------
# invalid policies: InvalidParameterException naming the rule and the field


def mentions_priority(message: str, priority: int) -> bool:
    return re.search(rf"(?<![0-9]){priority}(?![0-9])", message) is not None


def expect_invalid(ecr, repo: str, text: str, priority: int | None, *words: str) -> str:
    """PutLifecyclePolicy and StartLifecyclePolicyPreview both refuse `text`
    with InvalidParameterException whose message names `priority` (if given)
    and every one of `words`; nothing is saved."""
    messages = []
    for call, kwargs in [
        (ecr.put_lifecycle_policy, {}),
        (ecr.start_lifecycle_policy_preview, {}),
    ]:
        error = expect_error("InvalidParameterException", call, repositoryName=repo, lifecyclePolicyText=text, **kwargs)
        message = error.response["Error"]["Message"]
        if priority is not None:
            assert mentions_priority(message, priority), f"{message!r} does not name rule {priority}"
        for word in words:
            assert word.lower() in message.lower(), f"{message!r} does not mention {word!r}"
        messages.append(message)
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName=repo)
    return messages[0]


def test_tagged_rule_needs_a_tag_list(ecr, repo):
    text = policy(rule(7, "tagged", count=3, description="tagged but which tags?"))
    message = expect_invalid(ecr, repo, text, 7)
    assert "tagPatternList" in message or "tagPrefixList" in message, message


def test_duplicate_rule_priority_is_refused(ecr, repo):
    text = policy(rule(4, "tagged", prefixes=["prod"], count=3), rule(4, "tagged", prefixes=["beta"], count=3))
    expect_invalid(ecr, repo, text, 4, "rulePriority")


def test_count_unit_with_image_count_is_refused(ecr, repo):
    text = policy(rule(6, "any", count=3, unit="days", description="count unit does not belong here"))
    expect_invalid(ecr, repo, text, 6, "countUnit")


@pytest.mark.parametrize(
    "case, rules, priority, words",
    [
        ("both lists", [rule(3, "tagged", patterns=["prod*"], prefixes=["prod"], count=2)], 3, ["tagPrefixList"]),
        ("untagged with prefixes", [rule(3, "untagged", prefixes=["prod"], count=2)], 3, ["tagPrefixList"]),
        ("any with patterns", [rule(3, "any", patterns=["prod*"], count=2)], 3, ["tagPatternList"]),
        ("five wildcards", [rule(3, "tagged", patterns=["test*1*2*3*4*5*6"], count=2)], 3, ["tagPatternList"]),
        ("empty tag list", [rule(3, "tagged", prefixes=[], count=2)], 3, ["tagPrefixList"]),
        ("count number zero", [rule(3, "any", count=0)], 3, ["countNumber"]),
        ("negative count number", [rule(3, "any", count=-4)], 3, ["countNumber"]),
        ("since without unit", [rule(3, "any", count_type="sinceImagePushed", count=5)], 3, ["countUnit"]),
        ("unit not days", [rule(3, "any", count_type="sinceImagePushed", unit="hours", count=5)], 3, ["countUnit"]),
        ("unknown count type", [rule(3, "any", count_type="imageCountLessThan", count=5)], 3, ["countType"]),
        ("unknown tag status", [rule(3, "TAGGED", prefixes=["prod"], count=5)], 3, ["tagStatus"]),
        ("unknown action", [rule(3, "any", count=5, action={"type": "delete"})], 3, ["type"]),
        ("any is not last", [rule(1, "any", count=5), rule(2, "tagged", prefixes=["prod"], count=5)], 1, ["tagStatus"]),
        ("two untagged rules", [rule(1, "untagged", count=5), rule(2, "untagged", count_type="sinceImagePushed",
                                                                      unit="days", count=3)], 2, ["untagged"]),
        ("same prefixes twice", [rule(1, "tagged", prefixes=["prod"], count=5),
                                 rule(2, "tagged", prefixes=["prod"], count=9)], 2, ["tagPrefixList"]),
        ("priority zero", [rule(0, "any", count=5, description="a rule with priority zero")], 0, ["rulePriority"]),
    ],
)
def test_invalid_lifecycle_policies_are_refused(ecr, repo, case, rules, priority, words):
    expect_invalid(ecr, repo, policy(*rules), priority, *words)


@pytest.mark.parametrize(
    "case, text, words",
    [
        ("not json", '{"rules": [' + " " * 120, []),
        ("not an object", json.dumps([rule(1, "any", count=5)] * 2, indent=2), []),
        ("no rules field", json.dumps({"ruleset": [rule(1, "any", count=5)]}, indent=2), ["rules"]),
        ("no rules", json.dumps({"rules": []}) + " " * 100, ["rules"]),
        ("too many rules", policy(*[rule(p, "tagged", prefixes=[f"p{p}-"], count=5) for p in range(1, 52)]), ["50"]),
    ],
)
def test_malformed_lifecycle_policies_are_refused(ecr, repo, case, text, words):
    expect_invalid(ecr, repo, text, None, *words)


def test_lifecycle_policy_text_length_limits(loose_ecr, repo):
    ecr = loose_ecr
    short = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any"}}]})
    assert len(short) < 100
    error = expect_error("InvalidParameterException", ecr.put_lifecycle_policy, repositoryName=repo,
                         lifecyclePolicyText=short)
    assert "100" in error.response["Error"]["Message"], error.response
    expect_error("InvalidParameterException", ecr.start_lifecycle_policy_preview, repositoryName=repo,
                 lifecyclePolicyText=short)
    long = policy(rule(1, "any", count=5, description="x" * 30_720))
    assert len(long) > 30_720
    error = expect_error("InvalidParameterException", ecr.put_lifecycle_policy, repositoryName=repo,
                         lifecyclePolicyText=long)
    assert "30720" in error.response["Error"]["Message"].replace(",", ""), error.response
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName=repo)


@pytest.mark.parametrize(
    "case, rules, priority",
    [
        ("pulled, transition", [rule(2, "any", count_type="sinceImagePulled", unit="days", count=90,
                                     action={"type": "transition", "targetStorageClass": "archive"})], 2),
        ("pushed, transition", [rule(3, "tagged", patterns=["prod*"], count_type="sinceImagePushed", unit="days",
                                     count=30, action={"type": "transition", "targetStorageClass": "archive"})], 3),
        ("transitioned, expire", [rule(5, "any", count_type="sinceImageTransitioned", unit="days", count=365,
                                       storageClass="archive")], 5),
    ],
)
def test_archive_rules_are_refused_for_want_of_an_archive_tier(ecr, repo, case, rules, priority):
    """ECR's own archive examples are valid ECR policies, but Berth has no
    archive storage class: refused, saying so."""
    message = expect_invalid(ecr, repo, policy(*rules), priority)
    assert "archive tier" in message.lower(), message


def test_since_image_pulled_with_expire_is_refused(ecr, repo):
    # ECR: "The sinceImagePulled count type must be used with the transition action."
    text = policy(rule(2, "any", count_type="sinceImagePulled", unit="days", count=90,
                       description="expire images nobody pulled"))
    expect_invalid(ecr, repo, text, 2)


# ==========================================================================
# previews: the shape of the answers


def test_start_and_get_preview_round_trip(ecr, registry, repo, registry_id):
    images = push_in_order(registry, repo, ["prod1"], ["prod2"], ["prod3"])
    text = keep_prod_policy(2)
    started = start_preview(ecr, repo, text, registry_id)
    assert started["lifecyclePolicyText"] == text

    got = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert got["registryId"] == registry_id
    assert got["repositoryName"] == repo
    assert got["lifecyclePolicyText"] == text
    assert got["status"] == "COMPLETE"
    assert got["summary"]["expiringImageTotalCount"] == 1
    assert not got.get("nextToken")
    [result] = got["previewResults"]
    assert result["imageDigest"] == images[0].digest
    assert result["imageTags"] == ["prod1"]
    assert result["action"] == {"type": "EXPIRE"}
    assert result["appliedRulePriority"] == 1
    assert result["imagePushedAt"] == pushed_at(ecr, repo, images[:1])[images[0].digest]
    assert_recent(result["imagePushedAt"])
    # The preview did not save the policy.
    expect_error("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName=repo)


def test_preview_uses_the_saved_policy_when_given_none(ecr, registry, repo):
    images = push_in_order(registry, repo, ["prod1"], ["prod2"], ["prod3"], ["prod4"])
    text = keep_prod_policy(3)
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)
    started = start_preview(ecr, repo)
    assert started["lifecyclePolicyText"] == text
    got = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert got["lifecyclePolicyText"] == text
    assert [r["imageDigest"] for r in got["previewResults"]] == [images[0].digest]


def test_preview_of_a_given_policy_ignores_the_saved_one(ecr, registry, repo):
    images = push_in_order(registry, repo, ["prod1"], ["prod2"], ["prod3"], ["prod4"])
    saved = keep_prod_policy(3)
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=saved)
    trial = keep_prod_policy(1)
    results = preview(ecr, repo, trial)
    assert_expiring(ecr, repo, results, [(images[0], 1), (images[1], 1), (images[2], 1)])
    assert ecr.get_lifecycle_policy_preview(repositoryName=repo)["lifecyclePolicyText"] == trial
    # Neither saved nor changed.
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == saved


def test_a_new_preview_replaces_the_previous_one(ecr, registry, repo):
    images = push_in_order(registry, repo, ["prod1"], ["prod2"], ["prod3"])
    first = keep_prod_policy(1)
    second = keep_prod_policy(2)
    assert set(preview(ecr, repo, first)) == {images[0].digest, images[1].digest}
    results = preview(ecr, repo, second)
    assert_expiring(ecr, repo, results, [(images[0], 1)])
    assert ecr.get_lifecycle_policy_preview(repositoryName=repo)["lifecyclePolicyText"] == second


def test_start_preview_without_any_policy_fails(ecr, registry, repo):
    registry.push_image(repo, "prod1")
    expect_error("LifecyclePolicyNotFoundException", ecr.start_lifecycle_policy_preview, repositoryName=repo)
    # Nothing was started either.
    expect_error("LifecyclePolicyPreviewNotFoundException", ecr.get_lifecycle_policy_preview, repositoryName=repo)


def test_get_preview_before_any_was_started_fails(ecr, registry, repo):
    registry.push_image(repo, "prod1")
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=keep_prod_policy())
    error = expect_error("LifecyclePolicyPreviewNotFoundException", ecr.get_lifecycle_policy_preview,
                         repositoryName=repo)
    assert error.response["Error"]["Message"]


def test_previews_belong_to_their_repository(ecr, registry, new_repo):
    one, other = new_repo("lpp-one"), new_repo("lpp-other")
    registry.push_image(one, "prod1")
    start_preview(ecr, one, keep_prod_policy())
    expect_error("LifecyclePolicyPreviewNotFoundException", ecr.get_lifecycle_policy_preview, repositoryName=other)


def test_preview_of_an_empty_repository(ecr, repo):
    text = any_policy(1)
    start_preview(ecr, repo, text)
    got = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert got["status"] == "COMPLETE"
    assert got.get("previewResults", []) == []
    assert got["summary"]["expiringImageTotalCount"] == 0


def test_preview_waiter_succeeds_at_once(ecr, registry, repo):
    push_in_order(registry, repo, ["prod1"], ["prod2"], ["prod3"])
    start_preview(ecr, repo, keep_prod_policy(1))
    began = time.monotonic()
    ecr.get_waiter("lifecycle_policy_preview_complete").wait(
        repositoryName=repo, WaiterConfig={"Delay": 5, "MaxAttempts": 2}
    )
    assert time.monotonic() - began < 4, "the waiter had to poll twice: the first answer was not COMPLETE"


def test_a_preview_deletes_nothing(ecr, registry, repo):
    images = push_in_order(registry, repo, ["prod1"], ["prod2"], ["prod3"], [], [], ["latest"])
    text = policy(rule(1, "tagged", prefixes=["prod"], count=1), rule(2, "any", count=1))
    prod1, prod2, _prod3, u1, u2, _latest = images
    assert_expiring(ecr, repo, preview(ecr, repo, text), [(prod1, 1), (prod2, 1), (u1, 2), (u2, 2)])
    assert_all_still_there(ecr, registry, repo, images)
    # And a second look at the preview still finds them.
    assert len(preview_results(ecr, repo)) == 4
    assert_all_still_there(ecr, registry, repo, images)


def test_time_based_rules_expire_nothing_young(ecr, registry, repo):
    """Every image here is seconds old: `sinceImagePushed` 1 day selects none
    of them, whatever their tags."""
    images = push_in_order(registry, repo, ["prod1"], ["prod2"], [], ["beta1"])
    assert_pushed_in_order(ecr, repo, images)
    text = policy(
        rule(1, "tagged", patterns=["prod*"], count_type="sinceImagePushed", unit="days", count=1),
        rule(2, "untagged", count_type="sinceImagePushed", unit="days", count=1),
        rule(3, "any", count_type="sinceImagePushed", unit="days", count=1),
    )
    assert preview(ecr, repo, text) == {}
    got = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert got["summary"]["expiringImageTotalCount"] == 0


# ==========================================================================
# previews: ECR's evaluation rules and worked examples


def test_tagged_prefix_keeps_the_newest(ecr, registry, repo):
    """tagged, tagPrefixList ["prod"], imageCountMoreThan 2: of five prod
    images the three oldest expire; other tags are not selected."""
    images = push_in_order(registry, repo, ["prod1"], ["prod2"], ["preprod1"], ["prod3"], ["prod4"], ["prod5"],
                           ["beta1"], [])
    assert_pushed_in_order(ecr, repo, images)
    prod1, prod2, _preprod, prod3, _prod4, _prod5, _beta, _untagged = images
    results = preview(ecr, repo, keep_prod_policy(2))
    assert_expiring(ecr, repo, results, [(prod1, 1), (prod2, 1), (prod3, 1)])


def test_tagged_pattern_keeps_the_newest(ecr, registry, repo):
    """tagPatternList ["*-rc"]: `*` matches any run of characters; the tag must
    match the whole pattern."""
    images = push_in_order(registry, repo, ["1.0-rc"], ["1.0"], ["2.0-rc"], ["2.0-rc-fixed"], ["3.0-rc"], ["3.0"])
    assert_pushed_in_order(ecr, repo, images)
    rc1, _, rc2, _, _rc3, _ = images
    text = policy(rule(1, "tagged", patterns=["*-rc"], count=1, description="keep the newest release candidate"))
    assert_expiring(ecr, repo, preview(ecr, repo, text), [(rc1, 1), (rc2, 1)])


def test_untagged_rule_keeps_the_newest_untagged(ecr, registry, repo):
    """Filtering on image count: untagged, imageCountMoreThan 1 on three
    untagged images expires the two oldest; tagged images are not selected."""
    images = push_in_order(registry, repo, [], ["v1"], [], ["v2"], [])
    assert_pushed_in_order(ecr, repo, images)
    u1, _, u2, _, _u3 = images
    text = policy(rule(1, "untagged", count=1, description="Keep only one untagged image, expire all others"))
    assert_expiring(ecr, repo, preview(ecr, repo, text), [(u1, 1), (u2, 1)])


def test_multiple_rules_example_a(ecr, registry, repo):
    """[EX] Multiple rules, example A: rule 1 (prod*, keep 1) marks A; rule 2
    (beta*, keep 1) would mark A and B, but B matches rule 1's tags: only A
    expires."""
    a, b, c = push_in_order(registry, repo, ["beta-1", "prod-1"], ["beta-2", "prod-2"], ["beta-3"])
    assert_pushed_in_order(ecr, repo, [a, b, c])
    for rules in [
        (rule(1, "tagged", patterns=["prod*"], count=1, description="Rule 1"),
         rule(2, "tagged", patterns=["beta*"], count=1, description="Rule 2")),
        (rule(1, "tagged", prefixes=["prod"], count=1, description="Rule 1"),
         rule(2, "tagged", prefixes=["beta"], count=1, description="Rule 2")),
    ]:
        assert_expiring(ecr, repo, preview(ecr, repo, policy(*rules)), [(a, 1)])


def test_multiple_rules_example_b(ecr, registry, repo):
    """[EX] Multiple rules, example B (priorities swapped): rule 1 (beta*,
    keep 1) sees all three images and marks A and B."""
    a, b, c = push_in_order(registry, repo, ["beta-1", "prod-1"], ["beta-2", "prod-2"], ["beta-3"])
    assert_pushed_in_order(ecr, repo, [a, b, c])
    text = policy(rule(1, "tagged", patterns=["beta*"], count=1, description="Rule 1"),
                  rule(2, "tagged", patterns=["prod*"], count=1, description="Rule 2"))
    assert_expiring(ecr, repo, preview(ecr, repo, text), [(a, 1), (b, 1)])


def test_multiple_tags_in_a_rule_example_a(ecr, registry, repo):
    """[EX] Multiple tags in a single rule, example A, with "keep 1" for "older
    than five days": only C and F carry both an alpha and a beta tag; F is
    the newest, so C expires."""
    a, b, c, d, e, f = push_in_order(registry, repo, ["alpha-1"], ["beta-1"], ["alpha-2", "beta-2"], ["alpha-3"],
                                     ["beta-3"], ["alpha-4", "beta-4"])
    assert_pushed_in_order(ecr, repo, [a, b, c, d, e, f])
    for selection in [{"patterns": ["alpha*", "beta*"]}, {"prefixes": ["alpha", "beta"]}]:
        text = policy(rule(1, "tagged", count=1, description="Rule 1", **selection))
        assert_expiring(ecr, repo, preview(ecr, repo, text), [(c, 1)])


def test_multiple_tags_in_a_rule_example_b(ecr, registry, repo):
    """[EX] Multiple tags in a single rule, example B ("tags are not
    exclusive"): all three images carry alpha and beta tags; A and B expire."""
    a, b, c = push_in_order(registry, repo, ["alpha-1", "beta-1", "gamma-1"], ["alpha-2", "beta-2"],
                            ["alpha-3", "beta-3", "gamma-2"])
    assert_pushed_in_order(ecr, repo, [a, b, c])
    text = policy(rule(1, "tagged", patterns=["alpha*", "beta*"], count=1, description="Rule 1"))
    assert_expiring(ecr, repo, preview(ecr, repo, text), [(a, 1), (b, 1)])


def test_all_images_example_a(ecr, registry, repo):
    """[EX] All images, example A: any, keep 1: A, B and C expire."""
    a, b, c, d = push_in_order(registry, repo, ["alpha-1"], ["beta-1"], [], ["alpha-2"])
    assert_pushed_in_order(ecr, repo, [a, b, c, d])
    text = policy(rule(1, "any", count=1, description="Rule 1"))
    assert_expiring(ecr, repo, preview(ecr, repo, text), [(a, 1), (b, 1), (c, 1)])


def test_all_images_example_b(ecr, registry, repo):
    """[EX] All images, example B, with rule 2 "untagged, keep 1" for "untagged,
    older than one day": rule 1 marks A, rule 2 marks B, rule 3 (any, keep 1)
    cannot mark A, B, C or E, claimed by higher rules, and marks D."""
    a, b, c, d, e = push_in_order(registry, repo, ["alpha-1", "beta-1"], [], ["alpha-2"], ["git-hash"], [])
    assert_pushed_in_order(ecr, repo, [a, b, c, d, e])
    text = policy(rule(1, "tagged", patterns=["alpha*"], count=1, description="Rule 1"),
                  rule(2, "untagged", count=1, description="Rule 2"),
                  rule(3, "any", count=1, description="Rule 3"))
    assert_expiring(ecr, repo, preview(ecr, repo, text), [(a, 1), (b, 2), (d, 3)])


def test_all_images_example_b_as_documented_with_young_images(ecr, registry, repo):
    """The documented example B verbatim (rule 2: untagged, older than one
    day): the untagged images are seconds old, so rule 2 marks nothing, yet
    it still claims B and E from rule 3. A (rule 1) and D (rule 3) expire."""
    a, b, c, d, e = push_in_order(registry, repo, ["alpha-1", "beta-1"], [], ["alpha-2"], ["git-hash"], [])
    assert_pushed_in_order(ecr, repo, [a, b, c, d, e])
    text = policy(rule(1, "tagged", patterns=["alpha*"], count=1, description="Rule 1"),
                  rule(2, "untagged", count_type="sinceImagePushed", unit="days", count=1, description="Rule 2"),
                  rule(3, "any", count=1, description="Rule 3"))
    assert_expiring(ecr, repo, preview(ecr, repo, text), [(a, 1), (d, 3)])


def test_a_higher_rule_protects_images_from_a_lower_any_rule(ecr, registry, repo):
    """Images matching the tags of rule 1 (keep 10 prod images) are claimed by
    it: the `any` rule 2 (keep 1) counts them but cannot expire them."""
    images = push_in_order(registry, repo, ["prod1"], ["dev1"], ["prod2"], [], ["dev2"], ["prod3"], ["dev3"])
    assert_pushed_in_order(ecr, repo, images)
    _prod1, dev1, _prod2, untagged, dev2, _prod3, _dev3 = images
    text = policy(rule(1, "tagged", prefixes=["prod"], count=10, description="keep ten prod images"),
                  rule(2, "any", count=1, description="keep one of everything else"))
    assert_expiring(ecr, repo, preview(ecr, repo, text), [(dev1, 2), (untagged, 2), (dev2, 2)])


def test_images_referenced_by_an_index_do_not_expire(ecr, registry, repo):
    """An image referenced by a manifest list cannot expire before the list:
    the index's untagged children stay, older loose untagged images go."""
    loose = push_in_order(registry, repo, [], [])
    children = push_in_order(registry, repo, [], [])
    index = registry.push_index(repo, "multi", children)
    index.tags = ["multi"]
    assert_pushed_in_order(ecr, repo, [*loose, *children, index])
    text = policy(rule(1, "untagged", count=1, description="keep one untagged image"))
    results = preview(ecr, repo, text)
    assert children[0].digest not in results and children[1].digest not in results
    assert_expiring(ecr, repo, results, [(loose[0], 1), (loose[1], 1)])


def test_index_children_stay_under_an_any_rule(ecr, registry, repo):
    """any, keep 1: the newest image is the index; its children would expire
    by count but are kept; the older images go."""
    old = push_in_order(registry, repo, ["old1"], [])
    children = push_in_order(registry, repo, [], [], [])
    index = registry.push_index(repo, "multi", children)
    index.tags = ["multi"]
    assert_pushed_in_order(ecr, repo, [*old, *children, index])
    results = preview(ecr, repo, any_policy(1))
    assert not {c.digest for c in children} & set(results)
    assert_expiring(ecr, repo, results, [(old[0], 1), (old[1], 1)])


def test_referrers_expire_with_their_subject(ecr, registry, repo):
    """Referrers of an expiring image (an SBOM, and a signature of the SBOM)
    are listed with it, under its rule; referrers of kept images are not."""
    prod1, prod2, prod3 = push_in_order(registry, repo, ["prod1"], ["prod2"], ["prod3"])
    sbom = registry.push_referrer(repo, prod1, "application/vnd.example.sbom.v1+json")
    signature = registry.push_referrer(repo, sbom, "application/vnd.example.signature.v1+json")
    kept_sbom = registry.push_referrer(repo, prod3, "application/vnd.example.sbom.v1+json")
    for artifact in (sbom, signature, kept_sbom):
        artifact.tags = []
    results = preview(ecr, repo, keep_prod_policy(2))
    assert kept_sbom.digest not in results
    assert_expiring(ecr, repo, results, [(prod1, 1), (sbom, 1), (signature, 1)])
    assert_all_still_there(ecr, registry, repo, [prod1, prod2, prod3, sbom, signature, kept_sbom])


# ==========================================================================
# GetLifecyclePolicyPreview: pagination and filters


def test_preview_results_paginate(ecr, registry, repo):
    images = push_in_order(registry, repo, *[[f"build-{i:02d}"] for i in range(30)])
    assert_pushed_in_order(ecr, repo, images)
    expiring = {i.digest for i in images[:25]}  # the five newest are kept
    assert len(expiring) == 25
    start_preview(ecr, repo, policy(rule(1, "tagged", patterns=["build-*"], count=5, description="keep five")))

    seen = []
    token = None
    pages = 0
    while True:
        kwargs = {"repositoryName": repo, "maxResults": 10}
        if token:
            kwargs["nextToken"] = token
        page = ecr.get_lifecycle_policy_preview(**kwargs)
        pages += 1
        assert page["status"] == "COMPLETE"
        assert page["summary"]["expiringImageTotalCount"] == 25, page["summary"]
        assert len(page["previewResults"]) == (10 if pages < 3 else 5), page["previewResults"]
        seen.extend(r["imageDigest"] for r in page["previewResults"])
        token = page.get("nextToken")
        if not token:
            break
        assert pages < 5, "too many pages"
    assert pages == 3
    assert len(seen) == len(set(seen)) == 25
    assert set(seen) == expiring

    # The paginator agrees.
    paged = list(ecr.get_paginator("get_lifecycle_policy_preview").paginate(
        repositoryName=repo, PaginationConfig={"PageSize": 10}))
    assert [len(p["previewResults"]) for p in paged] == [10, 10, 5]
    assert {r["imageDigest"] for p in paged for r in p["previewResults"]} == expiring
    full = ecr.get_paginator("get_lifecycle_policy_preview").paginate(
        repositoryName=repo, PaginationConfig={"PageSize": 7}).build_full_result()
    assert {r["imageDigest"] for r in full["previewResults"]} == expiring

    # Without maxResults everything fits one page (ECR's default is 100).
    whole = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert len(whole["previewResults"]) == 25
    assert not whole.get("nextToken")
    assert_all_still_there(ecr, registry, repo, images)


def test_preview_max_results_limits(loose_ecr, registry, repo):
    push_in_order(registry, repo, ["prod1"], ["prod2"])
    start_preview(loose_ecr, repo, keep_prod_policy(1))
    for bad in (0, 101, -1):
        expect_error("InvalidParameterException", loose_ecr.get_lifecycle_policy_preview, repositoryName=repo,
                     maxResults=bad)
    assert len(loose_ecr.get_lifecycle_policy_preview(repositoryName=repo, maxResults=100)["previewResults"]) == 1
    assert len(loose_ecr.get_lifecycle_policy_preview(repositoryName=repo, maxResults=1)["previewResults"]) == 1


def test_preview_bad_next_token_fails(ecr, registry, repo):
    push_in_order(registry, repo, ["prod1"], ["prod2"])
    start_preview(ecr, repo, keep_prod_policy(1))
    expect_error("InvalidParameterException", ecr.get_lifecycle_policy_preview, repositoryName=repo,
                 nextToken="not-a-token")


def mixed_repository(ecr, registry, repo):
    """prod1..3 and three untagged images; policy: keep 1 prod, keep 1
    untagged. Expiring: prod1, prod2 (rule 1), u1, u2 (rule 2)."""
    images = push_in_order(registry, repo, ["prod1"], [], ["prod2"], [], ["prod3"], [])
    assert_pushed_in_order(ecr, repo, images)
    prod1, u1, prod2, u2, prod3, u3 = images
    text = policy(rule(1, "tagged", prefixes=["prod"], count=1, description="keep one prod image"),
                  rule(2, "untagged", count=1, description="keep one untagged image"))
    results = preview(ecr, repo, text)
    assert_expiring(ecr, repo, results, [(prod1, 1), (prod2, 1), (u1, 2), (u2, 2)])
    return images


def test_preview_filter_by_tag_status(ecr, registry, repo):
    prod1, u1, prod2, u2, prod3, u3 = mixed_repository(ecr, registry, repo)
    tagged = preview_results(ecr, repo, filter={"tagStatus": "TAGGED"})
    assert {r["imageDigest"] for r in tagged} == {prod1.digest, prod2.digest}
    assert all(r["imageTags"] for r in tagged)
    untagged = preview_results(ecr, repo, filter={"tagStatus": "UNTAGGED"})
    assert {r["imageDigest"] for r in untagged} == {u1.digest, u2.digest}
    assert all(not r.get("imageTags") for r in untagged)
    anything = preview_results(ecr, repo, filter={"tagStatus": "ANY"})
    assert {r["imageDigest"] for r in anything} == {prod1.digest, prod2.digest, u1.digest, u2.digest}
    # Paging through a filtered preview.
    pages = list(ecr.get_paginator("get_lifecycle_policy_preview").paginate(
        repositoryName=repo, filter={"tagStatus": "UNTAGGED"}, PaginationConfig={"PageSize": 1}))
    assert sorted(r["imageDigest"] for p in pages for r in p["previewResults"]) == sorted([u1.digest, u2.digest])
    assert all(len(p["previewResults"]) <= 1 for p in pages)


def test_preview_filter_by_image_ids(ecr, registry, repo):
    prod1, u1, prod2, u2, prod3, u3 = mixed_repository(ecr, registry, repo)
    got = ecr.get_lifecycle_policy_preview(
        repositoryName=repo,
        imageIds=[{"imageTag": "prod1"}, {"imageDigest": u2.digest}, {"imageTag": "prod3"}, {"imageDigest": u3.digest}],
    )
    # Only the images asked for that would expire; prod3 and u3 are kept.
    assert {r["imageDigest"]: r["appliedRulePriority"] for r in got["previewResults"]} == {
        prod1.digest: 1, u2.digest: 2}
    assert got["status"] == "COMPLETE"
    by_digest = ecr.get_lifecycle_policy_preview(repositoryName=repo, imageIds=[{"imageDigest": prod2.digest}])
    [only] = by_digest["previewResults"]
    assert only["imageDigest"] == prod2.digest and only["imageTags"] == ["prod2"]
    kept = ecr.get_lifecycle_policy_preview(repositoryName=repo, imageIds=[{"imageTag": "prod3"}])
    assert kept.get("previewResults", []) == []


def test_preview_image_ids_with_next_token_or_max_results_fails(ecr, registry, repo):
    """nextToken and maxResults: "This option cannot be used when you specify
    images with imageIds" (GetLifecyclePolicyPreview's API reference)."""
    push_in_order(registry, repo, ["prod1"], ["prod2"], ["prod3"])
    start_preview(ecr, repo, keep_prod_policy(1))
    first = ecr.get_lifecycle_policy_preview(repositoryName=repo, maxResults=1)
    assert first.get("nextToken")
    expect_error("InvalidParameterException", ecr.get_lifecycle_policy_preview, repositoryName=repo,
                 imageIds=[{"imageTag": "prod1"}], nextToken=first["nextToken"])
    expect_error("InvalidParameterException", ecr.get_lifecycle_policy_preview, repositoryName=repo,
                 imageIds=[{"imageTag": "prod1"}], maxResults=10)


def test_preview_results_default_page_is_100(ecr, registry, repo):
    """Without maxResults GetLifecyclePolicyPreview "returns up to 100 results
    and a nextToken value, if applicable"."""
    images = push_in_order(registry, repo, *[[f"v{i:03d}"] for i in range(105)])
    start_preview(ecr, repo, any_policy(2))
    first = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert first["summary"]["expiringImageTotalCount"] == 103
    assert len(first["previewResults"]) == 100
    assert first.get("nextToken")
    second = ecr.get_lifecycle_policy_preview(repositoryName=repo, nextToken=first["nextToken"])
    assert len(second["previewResults"]) == 3
    assert not second.get("nextToken")
    got = {r["imageDigest"] for r in first["previewResults"] + second["previewResults"]}
    assert got == {i.digest for i in images[:103]}


# ==========================================================================
# the AWS CLI


def test_cli_put_get_delete_lifecycle_policy(aws, repo, registry_id, tmp_path):
    text = keep_prod_policy(3)
    path = tmp_path / "policy.json"
    path.write_text(text)
    out = aws("ecr", "put-lifecycle-policy", "--repository-name", repo, "--lifecycle-policy-text", f"file://{path}")
    assert out["registryId"] == registry_id
    assert out["repositoryName"] == repo
    assert json.loads(out["lifecyclePolicyText"]) == json.loads(text)
    got = aws("ecr", "get-lifecycle-policy", "--repository-name", repo)
    assert got["repositoryName"] == repo
    assert got["lifecyclePolicyText"] == text
    deleted = aws("ecr", "delete-lifecycle-policy", "--repository-name", repo)
    assert deleted["lifecyclePolicyText"] == text
    stderr = aws.fail("ecr", "get-lifecycle-policy", "--repository-name", repo)
    assert "LifecyclePolicyNotFoundException" in stderr


def test_cli_errors(aws, repo, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(policy(rule(7, "tagged", count=3, description="tagged but which tags?")))
    stderr = aws.fail("ecr", "put-lifecycle-policy", "--repository-name", repo, "--lifecycle-policy-text",
                      f"file://{bad}")
    assert "InvalidParameterException" in stderr
    assert mentions_priority(stderr.split("InvalidParameterException", 1)[1], 7), stderr
    stderr = aws.fail("ecr", "put-lifecycle-policy", "--repository-name", unique_name("absent"),
                      "--lifecycle-policy-text", keep_prod_policy())
    assert "RepositoryNotFoundException" in stderr
    stderr = aws.fail("ecr", "start-lifecycle-policy-preview", "--repository-name", repo)
    assert "LifecyclePolicyNotFoundException" in stderr
    stderr = aws.fail("ecr", "get-lifecycle-policy-preview", "--repository-name", repo)
    assert "LifecyclePolicyPreviewNotFoundException" in stderr


def test_cli_preview(aws, ecr, registry, repo, registry_id):
    images = push_in_order(registry, repo, ["prod1"], ["prod2"], ["prod3"], ["prod4"])
    assert_pushed_in_order(ecr, repo, images)
    text = keep_prod_policy(2)
    aws("ecr", "put-lifecycle-policy", "--repository-name", repo, "--lifecycle-policy-text", text)
    started = aws("ecr", "start-lifecycle-policy-preview", "--repository-name", repo)
    assert started["registryId"] == registry_id
    assert started["repositoryName"] == repo
    assert started["lifecyclePolicyText"] == text
    assert started["status"] == "COMPLETE"
    aws.text("ecr", "wait", "lifecycle-policy-preview-complete", "--repository-name", repo)
    got = aws("ecr", "get-lifecycle-policy-preview", "--repository-name", repo)
    assert got["status"] == "COMPLETE"
    assert got["lifecyclePolicyText"] == text
    assert got["summary"]["expiringImageTotalCount"] == 2
    assert {r["imageDigest"]: (r["imageTags"], r["appliedRulePriority"], r["action"]["type"])
            for r in got["previewResults"]} == {
        images[0].digest: (["prod1"], 1, "EXPIRE"),
        images[1].digest: (["prod2"], 1, "EXPIRE"),
    }
    # The CLI pages by itself: --page-size 1 still returns everything.
    paged = aws("ecr", "get-lifecycle-policy-preview", "--repository-name", repo, "--page-size", "1")
    assert {r["imageDigest"] for r in paged["previewResults"]} == {images[0].digest, images[1].digest}
    one = aws("ecr", "get-lifecycle-policy-preview", "--repository-name", repo, "--max-items", "1")
    assert len(one["previewResults"]) == 1 and one.get("NextToken")
    # A trial policy on the command line, filtered to untagged images: none.
    trial = any_policy(1)
    started = aws("ecr", "start-lifecycle-policy-preview", "--repository-name", repo, "--lifecycle-policy-text", trial)
    assert started["lifecyclePolicyText"] == trial
    untagged = aws("ecr", "get-lifecycle-policy-preview", "--repository-name", repo, "--filter", "tagStatus=UNTAGGED")
    assert untagged.get("previewResults", []) == []
    assert_all_still_there(ecr, registry, repo, images)
