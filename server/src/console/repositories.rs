//! Repositories and images for the console: the same service calls and the
//! same ECR actions the ECR API checks.

use super::{from_service, internal, ConsoleRequest};
use crate::auth::authorize::Resource;
use crate::service::repositories::RepositorySettings;
use crate::service::{Image, Repository, RepositoryOrder, TagStatus};
use crate::service::{ImageFailure, ImageId, ManifestRef, ServiceError};
use berth_app::console::api::repositories::{
    DescriptorSummary, ImageDetail, ImageSummary, RepositoryBackend, RepositoryDetail,
    RepositoryForm, RepositoryPage, RepositoryQuery, RepositorySummary, REPOSITORY_PAGE_SIZE,
};
use berth_app::console::ConsoleError;
use berth_app::oci::Digest;

/// Images the images table shows at most (newest first).
const IMAGES_SHOWN: usize = 1000;
/// Referrers the image page lists at most.
const REFERRERS_SHOWN: usize = 100;

impl ConsoleRequest {
    fn summary(&self, row: Repository) -> RepositorySummary {
        RepositorySummary {
            uri: self.console.info.repository_uri(&row.name),
            name: row.name,
            created_at: super::format_utc(row.created_at),
            tag_mutability: row.tag_mutability,
            scan_on_push: row.scan_on_push,
            encryption_type: row.encryption_type,
            image_count: row.image_count.max(0) as u64,
        }
    }
}

fn image_summary(row: &Image) -> ImageSummary {
    ImageSummary {
        digest: row.digest.clone(),
        tags: row.tags.clone(),
        size: row.size.max(0) as u64,
        pushed_at: super::format_utc(row.pushed_at),
        last_pulled_at: row.last_pulled_at.map(super::format_utc),
        media_type: row.media_type.clone(),
        artifact_type: row.artifact_type.clone(),
        subject: row.subject_digest.clone(),
        scan: None,
    }
}

fn descriptor(value: &serde_json::Value) -> Option<DescriptorSummary> {
    let platform = value.get("platform").map(|p| {
        let part = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("");
        let mut text = format!("{}/{}", part("os"), part("architecture"));
        if !part("variant").is_empty() {
            text = format!("{text}/{}", part("variant"));
        }
        text
    });
    Some(DescriptorSummary {
        digest: value.get("digest")?.as_str()?.to_owned(),
        media_type: value
            .get("mediaType")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned(),
        size: value.get("size").and_then(|v| v.as_u64()).unwrap_or(0),
        platform,
    })
}

fn descriptors(manifest: &serde_json::Value, key: &str) -> Vec<DescriptorSummary> {
    manifest
        .get(key)
        .and_then(|v| v.as_array())
        .map(|list| list.iter().filter_map(descriptor).collect())
        .unwrap_or_default()
}

fn order_of(query: &RepositoryQuery) -> RepositoryOrder {
    match (query.sort.as_str(), query.order.as_str()) {
        ("created", "desc") => RepositoryOrder::CreatedDescending,
        ("created", _) => RepositoryOrder::CreatedAscending,
        (_, "desc") => RepositoryOrder::NameDescending,
        _ => RepositoryOrder::NameAscending,
    }
}

#[async_trait::async_trait]
impl RepositoryBackend for ConsoleRequest {
    async fn list_repositories(
        &self,
        query: RepositoryQuery,
    ) -> Result<RepositoryPage, ConsoleError> {
        let identity = self.identity()?;
        let page_size = REPOSITORY_PAGE_SIZE as usize;
        let needle = query.q.trim().to_lowercase();
        let registry = &self.console.registry;
        let order = order_of(&query);
        let wanted = query.page.max(1);
        let (mut rows, total) = registry
            .search_repositories(&needle, order, page_size, (wanted as usize - 1) * page_size)
            .await
            .map_err(internal)?;
        let pages = total.div_ceil(page_size as u64).max(1) as u32;
        let page = wanted.min(pages);
        if page != wanted {
            // Past the end (the list shrank): show the last page instead.
            rows = registry
                .search_repositories(&needle, order, page_size, (page as usize - 1) * page_size)
                .await
                .map_err(internal)?
                .0;
        }
        let mut visible = Vec::with_capacity(rows.len());
        for row in rows {
            // As DescribeRepositories does: only what the caller may describe.
            if self
                .may(
                    &identity,
                    "ecr:DescribeRepositories",
                    Resource::Repository(&row.name),
                )
                .await?
            {
                visible.push(self.summary(row));
            }
        }
        Ok(RepositoryPage {
            rows: visible,
            total,
            page,
            pages,
        })
    }

    async fn create_repository(&self, form: RepositoryForm) -> Result<(), ConsoleError> {
        self.allowed("ecr:CreateRepository", Resource::Repository(&form.name))
            .await?;
        let encryption = match form.encryption_type.as_str() {
            "KMS" => "KMS",
            _ => "AES256",
        };
        let kms_key = form.kms_key.trim();
        if encryption == "KMS" && kms_key.is_empty() {
            return Err(ConsoleError::invalid(
                "kms_key",
                "Enter the KMS key (ARN, id or alias) to encrypt this repository with.",
            ));
        }
        let settings = RepositorySettings {
            tag_mutability: Some(form.mutability_setting()),
            exclusions: form.exclusion_list(),
            scan_on_push: form.scan_on_push,
            encryption_type: Some(encryption.to_owned()),
            kms_key: (encryption == "KMS").then(|| kms_key.to_owned()),
            tags: Vec::new(),
        };
        let repo = self
            .console
            .registry
            .create_repository(&form.name, &settings)
            .await
            .map_err(|e| match e {
                // Shown under the KMS key field: the key is unknown, disabled
                // or pending deletion, in the service's words.
                ServiceError::Kms(_) => ConsoleError::invalid("kms_key", e.to_string()),
                e => from_service(e, "exclusions"),
            })?;
        tracing::info!(repository = %repo.name, "repository created in the console");
        leptos_axum::redirect(&format!("/repositories/{}?created=1", repo.name));
        Ok(())
    }

    async fn delete_repositories(
        &self,
        names: Vec<String>,
        force: bool,
    ) -> Result<(), ConsoleError> {
        // Check every permission first, so a refusal deletes nothing.
        for name in &names {
            self.allowed("ecr:DeleteRepository", Resource::Repository(name))
                .await?;
        }
        for name in &names {
            self.console
                .registry
                .delete_repository(name, force)
                .await
                .map_err(|e| from_service(e, "names"))?;
            tracing::info!(repository = %name, force, "repository deleted in the console");
        }
        leptos_axum::redirect(&format!("/?deleted={}", names.len()));
        Ok(())
    }

    async fn repository(&self, name: &str) -> Result<RepositoryDetail, ConsoleError> {
        self.allowed("ecr:DescribeRepositories", Resource::Repository(name))
            .await?;
        let registry = &self.console.registry;
        let row = registry
            .repository(name)
            .await
            .map_err(|e| from_service(e, "name"))?;
        let image_count = registry
            .image_count(name)
            .await
            .map_err(|e| from_service(e, "name"))?;
        let exclusions = row.exclusions.clone();
        let kms_key = row.kms_key.clone();
        let mut summary = self.summary(row);
        summary.image_count = image_count;
        Ok(RepositoryDetail {
            arn: self.console.info.repository_arn(name),
            summary,
            exclusions,
            kms_key,
        })
    }

    async fn update_repository(&self, form: RepositoryForm) -> Result<(), ConsoleError> {
        let resource = Resource::Repository(&form.name);
        self.allowed("ecr:PutImageTagMutability", resource).await?;
        self.allowed("ecr:PutImageScanningConfiguration", resource)
            .await?;
        let registry = &self.console.registry;
        registry
            .set_tag_mutability(
                &form.name,
                &form.mutability_setting(),
                &form.exclusion_list(),
            )
            .await
            .map_err(|e| from_service(e, "exclusions"))?;
        registry
            .set_scan_on_push(&form.name, form.scan_on_push)
            .await
            .map_err(|e| from_service(e, "scan_on_push"))?;
        tracing::info!(repository = %form.name, "repository settings changed in the console");
        Ok(())
    }

    async fn list_images(
        &self,
        name: &str,
        status: &str,
    ) -> Result<Vec<ImageSummary>, ConsoleError> {
        self.allowed("ecr:DescribeImages", Resource::Repository(name))
            .await?;
        let status = match status {
            "tagged" => TagStatus::Tagged,
            "untagged" => TagStatus::Untagged,
            _ => TagStatus::Any,
        };
        let registry = &self.console.registry;
        let mut rows: Vec<Image> = Vec::new();
        let mut after = 0;
        loop {
            let batch = registry
                .images_after(name, status, after, 500)
                .await
                .map_err(|e| from_service(e, "name"))?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            rows.extend(batch);
        }
        rows.sort_by(|a, b| b.pushed_at.cmp(&a.pushed_at).then(b.id.cmp(&a.id)));
        let mut images = Vec::with_capacity(rows.len().min(IMAGES_SHOWN));
        for row in rows.iter().take(IMAGES_SHOWN) {
            let mut image = image_summary(row);
            image.scan = self.scan_summary(name, &row.digest).await?;
            images.push(image);
        }
        Ok(images)
    }

    async fn delete_images(&self, name: &str, digests: Vec<String>) -> Result<u32, ConsoleError> {
        self.allowed("ecr:BatchDeleteImage", Resource::Repository(name))
            .await?;
        let ids: Vec<ImageId> = digests
            .into_iter()
            .map(|digest| ImageId {
                digest: Some(digest),
                tag: None,
            })
            .collect();
        let results = self
            .console
            .registry
            .delete_images(name, &ids)
            .await
            .map_err(|e| from_service(e, "name"))?;
        let mut deleted = 0;
        let mut refused = Vec::new();
        for result in results {
            match result {
                Ok(_) => deleted += 1,
                Err((id, ImageFailure::ImageNotFound)) => {
                    tracing::info!(image = ?id.digest, "image already gone");
                }
                Err((id, failure)) => refused.push(format!(
                    "{}: {}",
                    id.digest.unwrap_or_default(),
                    failure.reason()
                )),
            }
        }
        tracing::info!(repository = name, deleted, "images deleted in the console");
        if refused.is_empty() {
            Ok(deleted)
        } else {
            Err(ConsoleError::Conflict(format!(
                "{deleted} deleted; not deleted: {}",
                refused.join("; ")
            )))
        }
    }

    async fn image(&self, name: &str, digest: &str) -> Result<ImageDetail, ConsoleError> {
        self.allowed("ecr:BatchGetImage", Resource::Repository(name))
            .await?;
        let digest = Digest::parse(digest)
            .map_err(|e| ConsoleError::NotFound(format!("No such image: {e}")))?;
        let registry = &self.console.registry;
        let found = registry
            .find_images(
                name,
                &[ImageId {
                    digest: Some(digest.to_string()),
                    tag: None,
                }],
            )
            .await
            .map_err(|e| from_service(e, "name"))?;
        let Some(Ok((_, row))) = found.into_iter().next() else {
            return Err(ConsoleError::NotFound(format!(
                "The image {digest} is not in the repository {name}."
            )));
        };
        let stored = registry
            .get_manifest(name, &ManifestRef::Digest(digest.clone()), false)
            .await
            .map_err(|e| from_service(e, "digest"))?;
        let parsed: serde_json::Value =
            serde_json::from_slice(&stored.body).unwrap_or(serde_json::Value::Null);
        let manifest = if parsed.is_null() {
            String::from_utf8_lossy(&stored.body).into_owned()
        } else {
            serde_json::to_string_pretty(&parsed).unwrap_or_default()
        };
        let referrers = registry
            .referrer_images(name, &digest, "", REFERRERS_SHOWN)
            .await
            .map_err(|e| from_service(e, "digest"))?;
        let mut image = image_summary(&row);
        image.scan = self.scan_summary(name, &image.digest).await?;
        Ok(ImageDetail {
            image,
            manifest,
            config: parsed.get("config").and_then(descriptor),
            layers: descriptors(&parsed, "layers"),
            manifests: descriptors(&parsed, "manifests"),
            referrers: referrers.iter().map(image_summary).collect(),
        })
    }
}
