//! Where a call's volume work (render, tmpfs, files, state record) runs.
//!
//! The work is a few hundred microseconds of local system calls. Handing it
//! to the blocking pool and back costs two thread wake-ups, and a wake-up is
//! dear wherever an idle CPU must be woken first (a VM's vCPU is woken by
//! its host): on the 2-vCPU bench machine they were a good part of a
//! publish. So one call at a time does its work on the async worker that
//! received it, provided the runtime has another worker for everything
//! else (watches, health, metrics, other calls' lookups); any call that
//! finds that slot taken goes to the blocking pool as before. At most one
//! worker is ever busy with volume work, and never the only one.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::runtime::{Handle, RuntimeFlavor};

use super::PublishError;

/// The one slot for volume work on an async worker.
#[derive(Default)]
pub(super) struct VolumeWork {
    on_worker: AtomicBool,
}

impl VolumeWork {
    /// Runs `work` on this worker when the slot is free and another worker
    /// exists, else on the blocking pool.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, PublishError> + Send + 'static,
    ) -> Result<T, PublishError> {
        if let Some(_slot) = self.take_slot() {
            return catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
                Err(PublishError::Task {
                    reason: "the volume work panicked".into(),
                })
            });
        }
        match tokio::task::spawn_blocking(work).await {
            Ok(result) => result,
            Err(err) => Err(PublishError::Task {
                reason: err.to_string(),
            }),
        }
    }

    fn take_slot(&self) -> Option<Slot<'_>> {
        let runtime = Handle::try_current().ok()?;
        let spare_worker = runtime.runtime_flavor() == RuntimeFlavor::MultiThread
            && runtime.metrics().num_workers() > 1;
        if !spare_worker {
            return None;
        }
        self.on_worker
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        Some(Slot(&self.on_worker))
    }
}

/// Frees the slot when the work ends, panics included.
struct Slot<'a>(&'a AtomicBool);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread::ThreadId;

    fn current_thread() -> Result<ThreadId, PublishError> {
        Ok(std::thread::current().id())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_call_works_on_its_worker_and_a_second_at_once_goes_to_the_pool() {
        let work = std::sync::Arc::new(VolumeWork::default());
        let caller = std::thread::current().id();
        assert_eq!(work.run(current_thread).await.unwrap(), caller);

        // Hold the slot with a call that waits until the second has run.
        let (release, wait) = mpsc::channel::<()>();
        let (started, on_start) = tokio::sync::oneshot::channel();
        let holder = {
            let work = work.clone();
            tokio::spawn(async move {
                work.run(move || {
                    started.send(std::thread::current().id()).unwrap();
                    wait.recv().unwrap();
                    current_thread()
                })
                .await
            })
        };
        let holder_thread = on_start.await.unwrap();
        let second = work.run(current_thread).await.unwrap();
        assert_ne!(
            second, holder_thread,
            "the second call ran beside the first"
        );
        assert_ne!(second, std::thread::current().id(), "on the blocking pool");
        release.send(()).unwrap();
        assert_eq!(holder.await.unwrap().unwrap(), holder_thread);
        // The slot is free again.
        let caller = std::thread::current().id();
        assert_eq!(work.run(current_thread).await.unwrap(), caller);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_the_work_is_an_error_and_frees_the_slot() {
        let work = VolumeWork::default();
        let err = work
            .run(|| -> Result<(), PublishError> { panic!("boom") })
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::Task { .. }), "{err}");
        let caller = std::thread::current().id();
        assert_eq!(work.run(current_thread).await.unwrap(), caller);
    }

    #[tokio::test]
    async fn the_only_worker_is_never_blocked() {
        let work = VolumeWork::default();
        let caller = std::thread::current().id();
        assert_ne!(work.run(current_thread).await.unwrap(), caller);
    }
}
