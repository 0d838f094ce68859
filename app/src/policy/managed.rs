//! The AWS managed policies for ECR.

use super::*;

// ---------------------------------------------------------------------------
// Managed policies
// ---------------------------------------------------------------------------

/// AmazonEC2ContainerRegistryFullAccess v3, without AWS's second statement
/// (`iam:CreateServiceLinkedRole` under a Condition, meaningless in Berth).
pub(super) const FULL_ACCESS_JSON: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["ecr:*", "cloudtrail:LookupEvents"],
      "Resource": "*"
    }
  ]
}"#;

/// AmazonEC2ContainerRegistryPowerUser v3, verbatim.
pub(super) const POWER_USER_JSON: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage"
      ],
      "Resource": "*"
    }
  ]
}"#;

/// AmazonEC2ContainerRegistryReadOnly v3, verbatim.
pub(super) const READ_ONLY_JSON: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings"
      ],
      "Resource": "*"
    }
  ]
}"#;

/// AmazonEC2ContainerRegistryPullOnly v1 (2024-10-04), verbatim.
pub(super) const PULL_ONLY_JSON: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchImportUpstreamImage"
      ],
      "Resource": "*"
    }
  ]
}"#;

/// The JSON text of a built-in managed policy, by name or by its AWS ARN
/// (`arn:aws:iam::aws:policy/<name>`), for display in the console.
pub fn managed_policy_json(name: &str) -> Option<&'static str> {
    match name.strip_prefix(MANAGED_POLICY_ARN_PREFIX).unwrap_or(name) {
        "AmazonEC2ContainerRegistryFullAccess" => Some(FULL_ACCESS_JSON),
        "AmazonEC2ContainerRegistryPowerUser" => Some(POWER_USER_JSON),
        "AmazonEC2ContainerRegistryReadOnly" => Some(READ_ONLY_JSON),
        "AmazonEC2ContainerRegistryPullOnly" => Some(PULL_ONLY_JSON),
        _ => None,
    }
}

/// A built-in managed policy (an identity policy), by name or by its AWS ARN;
/// see [`MANAGED_POLICIES`].
pub fn managed_policy(name: &str) -> Option<PolicyDocument> {
    managed_policy_json(name)
        .map(|text| parse(text).expect("built-in managed policies are valid policy documents"))
}
