//! The settings a manifest PUT acts on (the registry's scanning
//! configuration and the signing configuration), kept parsed in memory as
//! of a generation counter that every change to either bumps: a database
//! trigger (`migrations/0020_push_settings_generation.sql`), so a change
//! made by any face, by `berth` beside the server, or by another node
//! sharing the database counts from the very next push. A push reads only
//! the counter, once; the configurations are read and parsed again only
//! when it moved (as `auth::authorize` caches policies).

use super::scanning::RegistryScanningConfiguration;
use super::signing::SigningConfiguration;
use super::{Registry, ServiceResult};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The push settings as of one generation.
#[derive(Debug)]
pub(super) struct PushSettings {
    generation: i64,
    /// The registry's scanning configuration.
    pub(super) scanning: RegistryScanningConfiguration,
    /// The signing configuration, if one is set.
    pub(super) signing: Option<SigningConfiguration>,
}

/// The last push settings read, by generation.
#[derive(Debug, Default)]
pub(super) struct PushSettingsCache(Mutex<Option<Arc<PushSettings>>>);

tokio::task_local! {
    /// The settings a push already checked against the counter: the calls
    /// it makes while deciding what to queue reuse them rather than read
    /// the counter again.
    static CHECKED: Arc<PushSettings>;
}

impl Registry {
    /// The current push settings: the cached ones when the generation has
    /// not moved since they were read, else read and parsed again.
    pub(super) async fn push_settings(&self) -> ServiceResult<Arc<PushSettings>> {
        if let Ok(checked) = CHECKED.try_with(Arc::clone) {
            return Ok(checked);
        }
        let generation = self.db.push_settings_generation().await?;
        let cached = self.push_settings.0.lock().expect("not poisoned").clone();
        if let Some(settings) = cached.filter(|s| s.generation == generation) {
            return Ok(settings);
        }
        // Read after the counter: a change in between is read now and
        // counted again by the next push, never missed.
        let settings = Arc::new(PushSettings {
            generation,
            scanning: self.stored_scanning_configuration().await?,
            signing: self.stored_signing_configuration().await?,
        });
        *self.push_settings.0.lock().expect("not poisoned") = Some(Arc::clone(&settings));
        Ok(settings)
    }

    /// Runs `decide` (a push deciding what to queue) with `settings` as the
    /// push settings, without reading the counter again.
    pub(super) async fn with_push_settings<F: Future>(
        &self,
        settings: Arc<PushSettings>,
        decide: F,
    ) -> F::Output {
        CHECKED.scope(settings, decide).await
    }
}
