//! The load both benches drive: `concurrency` clients sharing `cycles`
//! publish + unpublish cycles over the socket.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::client::CsiClient;
use crate::stats::Samples;

/// How much load, and of which kind.
#[derive(Clone, Copy)]
pub struct Load {
    pub concurrency: usize,
    pub cycles: usize,
    /// Each cycle also republishes its volume unchanged once.
    pub republish: bool,
}

/// Cycle k publishes a volume of `volumes[k % len]` below `targets`.
pub async fn drive(
    client: &CsiClient,
    volumes: Vec<BTreeMap<String, String>>,
    targets: &Path,
    load: Load,
) -> Samples {
    let next = Arc::new(AtomicUsize::new(0));
    let volumes = Arc::new(volumes);
    let workers: Vec<_> = (0..load.concurrency.max(1))
        .map(|_| {
            let (client, next, volumes) = (client.clone(), next.clone(), volumes.clone());
            let targets = targets.to_path_buf();
            tokio::spawn(async move {
                let mut samples = Samples::default();
                loop {
                    let cycle = next.fetch_add(1, Ordering::Relaxed);
                    if cycle >= load.cycles || volumes.is_empty() {
                        return samples;
                    }
                    let id = format!("vol-{cycle}");
                    let target = targets.join(&id);
                    let attributes = &volumes[cycle % volumes.len()];
                    let start = Instant::now();
                    if client.publish(&id, &target, attributes).await.is_err() {
                        samples.errors += 1;
                        continue;
                    }
                    let published = start.elapsed();
                    if load.republish {
                        let start = Instant::now();
                        if client.publish(&id, &target, attributes).await.is_err() {
                            samples.errors += 1;
                        }
                        samples.republish.push(start.elapsed());
                    }
                    let start = Instant::now();
                    if client.unpublish(&id, &target).await.is_err() {
                        samples.errors += 1;
                        continue;
                    }
                    samples.publish.push(published);
                    samples.unpublish.push(start.elapsed());
                }
            })
        })
        .collect();
    let mut all = Samples::default();
    for worker in workers {
        match worker.await {
            Ok(samples) => all.merge(samples),
            Err(_) => all.errors += 1,
        }
    }
    all
}
