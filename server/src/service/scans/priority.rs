//! At which CPU priority a scan does its CPU work: the server's scans on a thread of
//! their own at `SCHED_IDLE`, `berth scan`'s on tokio's blocking pool.

/// At which CPU priority a scan does its CPU work: reading its layers (the
/// gunzip and parsing that make nearly all of a scan's CPU time), then
/// matching the inventory, serializing the findings and making the SBOM.
///
/// The server's scans ([`Registry::start_queued_scans`]) do it on a
/// thread of their own at the lowest priority Linux has, `SCHED_IDLE`
/// (`sched_setscheduler` on that thread only): on a small machine the
/// scanner otherwise takes a whole core from the pushes and pulls it shares
/// the server with (issue 17 §4: pulls ran 43 % slower while scans ran).
/// An idle thread gets the CPU the request handlers leave, and still a
/// little when they leave none (the kernel gives `SCHED_IDLE` a tiny weight,
/// not nothing), so scans slow down under load but do not stop. A dedicated
/// thread rather than tokio's shared blocking pool, because a priority set
/// on a pool thread would stay with it for the file reads of later
/// requests. The thread enters the runtime: the work blocks on it for the
/// blob store's reads and the database's. Those reads themselves are not
/// bounded: the blob store's run on tokio's blocking pool (the page cache
/// mostly serves them), the database's on its connection's thread.
/// `berth scan` ([`Registry::scan_and_wait`]) serves no requests, so the
/// scans it runs keep the normal priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScanPriority {
    /// `SCHED_IDLE`, on a thread of its own: inside the server.
    Idle,
    /// tokio's blocking pool: in `berth scan`.
    Normal,
}

impl ScanPriority {
    /// Runs `work` off the async threads at this priority; its result.
    pub(super) async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> std::io::Result<T> {
        let stopped =
            |e: &dyn std::fmt::Display| std::io::Error::other(format!("the scanner stopped: {e}"));
        match self {
            ScanPriority::Normal => tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| stopped(&e)),
            ScanPriority::Idle => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let runtime = tokio::runtime::Handle::current();
                std::thread::Builder::new()
                    .name("berth-scan".into())
                    .spawn(move || {
                        // The work may block on the runtime (the blob store,
                        // the database) and drop what must be dropped in it
                        // (a database connection).
                        let _inside = runtime.enter();
                        lower_this_threads_priority();
                        // The receiver is gone only when the scan's task was.
                        let _ = tx.send(work());
                    })?;
                rx.await.map_err(|e| stopped(&e))
            }
        }
    }

    /// Drops `value` off the async threads at this priority, without waiting.
    pub(super) fn discard<T: Send + 'static>(self, value: T) {
        let run = self.run(move || drop(value));
        tokio::spawn(async move {
            if let Err(error) = run.await {
                tracing::warn!(%error, "could not free what a scan used");
            }
        });
    }
}

/// Puts the calling thread (not the process) in `SCHED_IDLE`; where that is
/// refused, gives it the highest niceness, 19. Either way it yields the CPU
/// to the server's other threads.
fn lower_this_threads_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` outlives the call.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0 {
        return;
    }
    let idle_error = std::io::Error::last_os_error();
    // SAFETY: gettid has no preconditions; setpriority with a thread id
    // changes that thread alone on Linux.
    let lowered = unsafe {
        let tid = libc::gettid() as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19)
    } == 0;
    if !lowered {
        tracing::warn!(error = %idle_error, "could not lower the priority of a scan thread; it competes with requests");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_servers_scans_read_layers_on_an_idle_thread_and_berth_scans_do_not() {
        let policy = || unsafe { libc::sched_getscheduler(0) };
        let idle = ScanPriority::Idle.run(policy).await.unwrap();
        assert_eq!(idle, libc::SCHED_IDLE);
        let normal = ScanPriority::Normal.run(policy).await.unwrap();
        assert_eq!(normal, libc::SCHED_OTHER);
        // The caller's own thread is untouched.
        assert_eq!(policy(), libc::SCHED_OTHER);
    }
}
