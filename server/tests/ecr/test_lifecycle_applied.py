"""A saved lifecycle policy is applied by the server on its own, a short,
configurable delay after the save (here 1 second), and recorded."""

import json
import time

from conftest import Registry, Server, make_ecr, unique_name

POLICY = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "keep only the newest untagged image",
                "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
                "action": {"type": "expire"},
            }
        ]
    }
)


def test_a_saved_policy_is_applied_after_the_configured_delay(tmp_path):
    server = Server(tmp_path, env={"BERTH_LIFECYCLE_DELAY_AFTER_SAVE": "1"})
    try:
        key = server.create_access_key()
        ecr = make_ecr(server, key["accessKeyId"], key["secretAccessKey"])
        name = unique_name("applied")
        ecr.create_repository(repositoryName=name)
        registry = Registry(server)
        images = []
        for _ in range(3):
            images.append(registry.push_image(name, None))
            time.sleep(0.01)
        ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=POLICY)

        deadline = time.time() + 20
        remaining, policy = None, {}
        while time.time() < deadline:
            remaining = {i["imageDigest"] for i in ecr.list_images(repositoryName=name)["imageIds"]}
            # The run deletes first and records its time last: wait for both.
            policy = ecr.get_lifecycle_policy(repositoryName=name)
            if len(remaining) == 1 and "lastEvaluatedAt" in policy:
                break
            time.sleep(0.25)
        assert remaining == {images[-1].digest}, "only the newest untagged image is left"
        assert "lastEvaluatedAt" in policy, policy
        history = json.loads(server.admin("lifecycle", "history", "--repository", name, "--json").stdout)
        assert {h["imageDigest"] for h in history} == {i.digest for i in images[:2]}
        assert all(h["appliedRulePriority"] == 1 for h in history)
    finally:
        server.stop()


def test_delete_lifecycle_policy_answers_when_it_was_last_applied(tmp_path):
    server = Server(tmp_path, env={"BERTH_LIFECYCLE_DELAY_AFTER_SAVE": "1"})
    try:
        key = server.create_access_key()
        ecr = make_ecr(server, key["accessKeyId"], key["secretAccessKey"])
        name = unique_name("deleted-after-applied")
        ecr.create_repository(repositoryName=name)
        Registry(server).push_image(name, None)
        ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=POLICY)
        deadline = time.time() + 20
        policy = {}
        while time.time() < deadline:
            policy = ecr.get_lifecycle_policy(repositoryName=name)
            if "lastEvaluatedAt" in policy:
                break
            time.sleep(0.25)
        assert "lastEvaluatedAt" in policy, policy
        deleted = ecr.delete_lifecycle_policy(repositoryName=name)
        assert deleted["lastEvaluatedAt"] == policy["lastEvaluatedAt"], deleted
        assert deleted["lifecyclePolicyText"] == POLICY
    finally:
        server.stop()
