//! The key service, against a real database.

use super::*;
use crate::db::{Db, Schema};
use crate::keys::material::{self, MaterialSealer};
use crate::service::{Registry, ServiceError, ServiceResult};
use crate::storage::FsBlobStore;
use std::sync::Arc;

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const ID: &str = "6f1c4a52-5d3e-4a53-9b7e-0f4f3b7a9c11";

#[test]
fn keys_are_named_by_id_arn_alias_or_alias_arn_of_this_registry_only() {
    let parse = |n: &str| parse_key_name(n, REGION, ACCOUNT);
    assert_eq!(parse(ID), Some(KeyName::Id(ID.into())));
    assert_eq!(
        parse(&format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{ID}")),
        Some(KeyName::Id(ID.into()))
    );
    assert_eq!(
        parse("alias/team-a"),
        Some(KeyName::Alias("alias/team-a".into()))
    );
    assert_eq!(
        parse(&format!("arn:aws:kms:{REGION}:{ACCOUNT}:alias/team-a")),
        Some(KeyName::Alias("alias/team-a".into()))
    );
    assert_eq!(
        parse(&format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{ID}")),
        None
    );
    assert_eq!(
        parse(&format!("arn:aws:kms:{REGION}:999999999999:key/{ID}")),
        None
    );
    assert_eq!(parse("not-a-key"), None);
    assert_eq!(parse(&ID.to_uppercase()), None);
}

#[test]
fn aliases_are_checked_as_aws_checks_them() {
    assert_eq!(normalize_alias("team-a").unwrap(), "alias/team-a");
    assert_eq!(normalize_alias("alias/team/a_b").unwrap(), "alias/team/a_b");
    assert!(matches!(
        normalize_alias("alias/"),
        Err(KmsError::Invalid(_))
    ));
    assert!(matches!(normalize_alias("a b"), Err(KmsError::Invalid(_))));
    assert!(matches!(
        normalize_alias("alias/aws/ecr"),
        Err(KmsError::Invalid(_))
    ));
}

async fn registry() -> (Registry, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("berth.db"), Schema::Migrate)
        .await
        .unwrap();
    db.ensure_registry(ACCOUNT, REGION).await.unwrap();
    let store = Arc::new(FsBlobStore::open(dir.path()).await.unwrap());
    (
        Registry::new(db, store, ACCOUNT.into(), true)
            .with_key_sealer(Arc::new(MaterialSealer::new(&[3; 32]))),
        dir,
    )
}

fn repository(encryption_type: &str, kms_key: Option<&str>) -> crate::model::Repository {
    crate::model::Repository {
        id: 1,
        name: "team/app".into(),
        created_at: 0,
        tag_mutability: "MUTABLE".into(),
        exclusions: vec![],
        scan_on_push: false,
        encryption_type: encryption_type.into(),
        kms_key: kms_key.map(Into::into),
        image_count: 0,
    }
}

fn kms_error(result: ServiceResult<impl std::fmt::Debug>) -> KmsError {
    match result {
        Err(ServiceError::Kms(e)) => e,
        other => panic!("expected a KMS error, got {other:?}"),
    }
}

#[tokio::test]
async fn data_keys_open_after_rotation_and_not_once_the_key_is_disabled() {
    let (registry, _dir) = registry().await;
    let made = registry
        .kms_create_key(Some("team"), "for team")
        .await
        .unwrap();
    let key = registry
        .repository_key(&repository("KMS", Some("alias/team")))
        .await
        .unwrap();
    assert_eq!(key.key_id, made.key.id);
    let first = registry.new_data_key(&key).await.unwrap();
    registry.kms_rotate_now("alias/team").await.unwrap();
    let second = registry.new_data_key(&key).await.unwrap();
    assert_eq!(material::wrapped_version(&first.wrapped), Ok(1));
    assert_eq!(material::wrapped_version(&second.wrapped), Ok(2));
    assert_eq!(
        *registry.open_data_key(&key, &first.wrapped).await.unwrap(),
        *first.plaintext,
        "the data key made before the rotation still opens"
    );
    assert_eq!(
        *registry.open_data_key(&key, &second.wrapped).await.unwrap(),
        *second.plaintext
    );
    let mut tampered = second.wrapped.clone();
    tampered[30] ^= 1;
    assert!(matches!(
        kms_error(registry.open_data_key(&key, &tampered).await),
        KmsError::InvalidCiphertext(_)
    ));

    registry.kms_disable_key(&made.arn).await.unwrap();
    let refused = kms_error(registry.open_data_key(&key, &first.wrapped).await);
    assert!(
        matches!(refused, KmsError::Disabled(ref arn) if arn == &made.arn),
        "{refused}"
    );
    assert_eq!(refused.kms_error(), "DisabledException");
    assert!(matches!(
        kms_error(registry.new_data_key(&key).await),
        KmsError::Disabled(_)
    ));
    assert!(matches!(
        kms_error(
            registry
                .repository_key(&repository("KMS", Some(&made.key.id)))
                .await
        ),
        KmsError::Disabled(_)
    ));
    registry.kms_enable_key(&made.key.id).await.unwrap();
    registry.open_data_key(&key, &first.wrapped).await.unwrap();
}

#[tokio::test]
async fn the_registry_key_and_the_default_key_are_made_once_and_kept_by_berth() {
    let (registry, _dir) = registry().await;
    let aes = registry
        .repository_key(&repository("AES256", None))
        .await
        .unwrap();
    let again = registry
        .repository_key(&repository("AES256", None))
        .await
        .unwrap();
    assert_eq!(aes, again, "one registry key");
    let default = registry
        .repository_key(&repository("KMS", None))
        .await
        .unwrap();
    assert_ne!(default, aes);
    let by_alias = registry
        .repository_key(&repository("KMS", Some(DEFAULT_KEY_ALIAS)))
        .await
        .unwrap();
    assert_eq!(by_alias, default, "the default key is alias/aws/ecr");
    let data = registry.new_data_key(&aes).await.unwrap();
    assert_eq!(
        *registry.open_data_key(&aes, &data.wrapped).await.unwrap(),
        *data.plaintext
    );
    assert!(
        registry
            .open_data_key(&default, &data.wrapped)
            .await
            .is_err(),
        "a data key made under one key does not open under another"
    );
    for name in [aes.key_id.as_str(), DEFAULT_KEY_ALIAS] {
        assert!(matches!(
            kms_error(registry.kms_disable_key(name).await),
            KmsError::InvalidState(_)
        ));
        assert!(matches!(
            kms_error(registry.kms_schedule_deletion(name, None).await),
            KmsError::InvalidState(_)
        ));
    }
    let keys = registry.kms_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys
        .iter()
        .all(|k| k.is_managed() && k.key.rotation_enabled));
}

#[tokio::test]
async fn another_installation_secret_opens_no_key_material() {
    let (registry, dir) = registry().await;
    let key = registry
        .repository_key(&repository("AES256", None))
        .await
        .unwrap();
    let data = registry.new_data_key(&key).await.unwrap();
    let db = Db::open(&dir.path().join("berth.db"), Schema::Current)
        .await
        .unwrap();
    let store = Arc::new(FsBlobStore::open(dir.path()).await.unwrap());
    let elsewhere = Registry::new(db, store, ACCOUNT.into(), true)
        .with_key_sealer(Arc::new(MaterialSealer::new(&[4; 32])));
    assert!(matches!(
        kms_error(elsewhere.open_data_key(&key, &data.wrapped).await),
        KmsError::MaterialSealedElsewhere(_)
    ));
}

#[tokio::test]
async fn deletion_waits_for_its_window_and_erases_the_material() {
    let (registry, _dir) = registry().await;
    let made = registry.kms_create_key(None, "").await.unwrap();
    let key = KeyRef {
        key_id: made.key.id.clone(),
    };
    let data = registry.new_data_key(&key).await.unwrap();
    for days in [6, 31] {
        assert!(matches!(
            kms_error(registry.kms_schedule_deletion(&made.arn, Some(days)).await),
            KmsError::Invalid(_)
        ));
    }
    let pending = registry
        .kms_schedule_deletion(&made.arn, Some(7))
        .await
        .unwrap();
    assert_eq!(pending.key.state, "PendingDeletion");
    assert_eq!(pending.key.pending_window_days, Some(7));
    let refused = kms_error(registry.open_data_key(&key, &data.wrapped).await);
    assert_eq!(refused.kms_error(), "KMSInvalidStateException");
    assert_eq!(
        registry.kms_maintain().await.unwrap().deleted.len(),
        0,
        "not yet due"
    );
    let cancelled = registry.kms_cancel_deletion(&made.key.id).await.unwrap();
    assert_eq!(cancelled.key.state, "Disabled");
    registry
        .kms_schedule_deletion(&made.key.id, Some(7))
        .await
        .unwrap();
    // The waiting period ends: run the periodic work as if 7 days passed.
    let later = crate::clock::now_millis() + 7 * DAY_MS + 1;
    let done = registry.kms_maintain_at(later).await.unwrap();
    assert_eq!(done.deleted, vec![made.arn.clone()]);
    let gone = registry.kms_key(&made.arn).await.unwrap();
    assert_eq!(gone.key.state, "Deleted");
    assert_eq!(gone.key.versions, 0, "the material is erased");
    assert!(matches!(
        kms_error(registry.open_data_key(&key, &data.wrapped).await),
        KmsError::Deleted(_)
    ));
    assert!(matches!(
        kms_error(registry.kms_enable_key(&made.arn).await),
        KmsError::Deleted(_)
    ));
}

#[tokio::test]
async fn aliases_name_one_key_each() {
    let (registry, _dir) = registry().await;
    let a = registry.kms_create_key(Some("alias/a"), "").await.unwrap();
    assert_eq!(a.key.aliases, vec!["alias/a".to_owned()]);
    assert!(matches!(
        kms_error(registry.kms_create_key(Some("a"), "").await),
        KmsError::AlreadyExists(_)
    ));
    assert_eq!(registry.kms_keys().await.unwrap().len(), 1, "nothing made");
    let b = registry.kms_create_key(None, "").await.unwrap();
    registry.kms_create_alias("b", &b.key.id).await.unwrap();
    assert_eq!(registry.kms_key("alias/b").await.unwrap().key.id, b.key.id);
    registry.kms_delete_alias("alias/b").await.unwrap();
    assert!(matches!(
        kms_error(registry.kms_key("alias/b").await),
        KmsError::NotFound(_)
    ));
    assert!(matches!(
        kms_error(registry.kms_key("alias/nope").await),
        KmsError::NotFound(_)
    ));
}

#[tokio::test]
async fn maintenance_goes_on_past_a_key_that_fails_and_reports_each_failure() {
    let (registry, dir) = registry().await;
    let mut rotating = Vec::new();
    for _ in 0..3 {
        let made = registry.kms_create_key(None, "").await.unwrap();
        registry.kms_set_rotation(&made.arn, true).await.unwrap();
        rotating.push(made);
    }
    let mut deleting = Vec::new();
    for _ in 0..3 {
        let made = registry.kms_create_key(None, "").await.unwrap();
        registry
            .kms_schedule_deletion(&made.arn, Some(7))
            .await
            .unwrap();
        deleting.push(made);
    }
    // The database refuses the work on the first key of each kind (ordered
    // as the maintenance takes them), as a failing disk or a broken row would.
    let (fail_rotation, fail_deletion) = (&rotating[0].key.id, &deleting[0].key.id);
    let raw = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("berth.db").display()
    ))
    .await
    .unwrap();
    for (table, event, id) in [
        ("kms_key_versions", "INSERT", fail_rotation),
        ("kms_key_versions", "DELETE", fail_deletion),
    ] {
        sqlx::query(&format!(
            "CREATE TRIGGER refuse_{}_{} BEFORE {event} ON {table}
             WHEN {}.key_id = '{id}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            table,
            event.to_lowercase(),
            if event == "INSERT" { "NEW" } else { "OLD" },
        ))
        .execute(&raw)
        .await
        .unwrap();
    }
    let later = crate::clock::now_millis() + 400 * DAY_MS;
    let done = registry.kms_maintain_at(later).await.unwrap();
    let sorted = |arns: Vec<&str>| {
        let mut arns: Vec<String> = arns.into_iter().map(str::to_owned).collect();
        arns.sort();
        arns
    };
    let arns_of = |keys: &[KeyDescription]| sorted(keys.iter().map(|k| k.arn.as_str()).collect());
    assert_eq!(
        sorted(done.rotated.iter().map(String::as_str).collect()),
        arns_of(&rotating[1..]),
        "the others are rotated"
    );
    assert_eq!(
        sorted(done.deleted.iter().map(String::as_str).collect()),
        arns_of(&deleting[1..]),
        "the others are deleted"
    );
    assert_eq!(
        sorted(done.failed.iter().map(|(arn, _)| arn.as_str()).collect()),
        sorted(vec![rotating[0].arn.as_str(), deleting[0].arn.as_str()]),
        "each failure is reported"
    );
    assert!(done
        .failed
        .iter()
        .all(|(_, error)| error.contains("refused by the test")));
    assert_eq!(
        registry.kms_key(&deleting[0].arn).await.unwrap().key.state,
        "PendingDeletion",
        "the key that failed is left whole, to be deleted at the next run"
    );
    assert_eq!(
        registry
            .kms_key(&rotating[0].arn)
            .await
            .unwrap()
            .key
            .versions,
        1,
        "the key that failed kept its one version"
    );
    assert_eq!(
        registry
            .kms_key(&rotating[1].arn)
            .await
            .unwrap()
            .key
            .versions,
        2
    );
}
