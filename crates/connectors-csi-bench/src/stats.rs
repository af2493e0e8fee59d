//! Latency and throughput summaries, and their ratios to the floor.

use std::time::Duration;

use serde::Serialize;

/// What one run (driver or floor) measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunSummary {
    pub cycles: usize,
    pub errors: usize,
    pub cycles_per_s: f64,
    pub publish_p50_us: u64,
    pub publish_p90_us: u64,
    pub publish_p99_us: u64,
    pub publish_max_us: u64,
    pub unpublish_p50_us: u64,
    pub unpublish_p90_us: u64,
    pub unpublish_p99_us: u64,
    pub unpublish_max_us: u64,
    /// With `--republish`: an identical publish of the mounted volume, as
    /// kubelet sends about once a minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub republish_p50_us: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub republish_p99_us: Option<u64>,
}

/// Timings collected during a run.
#[derive(Default)]
pub struct Samples {
    pub publish: Vec<Duration>,
    pub unpublish: Vec<Duration>,
    pub republish: Vec<Duration>,
    pub errors: usize,
}

impl Samples {
    pub fn merge(&mut self, other: Samples) {
        self.publish.extend(other.publish);
        self.unpublish.extend(other.unpublish);
        self.republish.extend(other.republish);
        self.errors += other.errors;
    }

    pub fn summarize(mut self, wall: Duration) -> RunSummary {
        self.publish.sort_unstable();
        self.unpublish.sort_unstable();
        self.republish.sort_unstable();
        let republish =
            |percent| (!self.republish.is_empty()).then(|| percentile_us(&self.republish, percent));
        let cycles = self.unpublish.len();
        RunSummary {
            cycles,
            errors: self.errors,
            cycles_per_s: cycles as f64 / wall.as_secs_f64().max(f64::MIN_POSITIVE),
            publish_p50_us: percentile_us(&self.publish, 50.0),
            publish_p90_us: percentile_us(&self.publish, 90.0),
            publish_p99_us: percentile_us(&self.publish, 99.0),
            publish_max_us: percentile_us(&self.publish, 100.0),
            unpublish_p50_us: percentile_us(&self.unpublish, 50.0),
            unpublish_p90_us: percentile_us(&self.unpublish, 90.0),
            unpublish_p99_us: percentile_us(&self.unpublish, 99.0),
            unpublish_max_us: percentile_us(&self.unpublish, 100.0),
            republish_p50_us: republish(50.0),
            republish_p99_us: republish(99.0),
        }
    }
}

/// Nearest-rank percentile of sorted samples, in microseconds.
pub fn percentile_us(sorted: &[Duration], percent: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted
        .get(index)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Ours relative to the floor: latencies as ours/floor (lower is better),
/// throughput as ours/floor (higher is better).
#[derive(Clone, Debug, Serialize)]
pub struct Ratios {
    pub publish_p50: f64,
    pub publish_p99: f64,
    pub unpublish_p50: f64,
    pub unpublish_p99: f64,
    pub throughput: f64,
}

impl Ratios {
    pub fn of(ours: &RunSummary, floor: &RunSummary) -> Ratios {
        let ratio = |a: u64, b: u64| a as f64 / (b.max(1)) as f64;
        Ratios {
            publish_p50: ratio(ours.publish_p50_us, floor.publish_p50_us),
            publish_p99: ratio(ours.publish_p99_us, floor.publish_p99_us),
            unpublish_p50: ratio(ours.unpublish_p50_us, floor.unpublish_p50_us),
            unpublish_p99: ratio(ours.unpublish_p99_us, floor.unpublish_p99_us),
            throughput: ours.cycles_per_s / floor.cycles_per_s.max(f64::MIN_POSITIVE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_micros(*v)).collect()
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = micros(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile_us(&samples, 50.0), 50);
        assert_eq!(percentile_us(&samples, 99.0), 99);
        assert_eq!(percentile_us(&samples, 100.0), 100);
        assert_eq!(percentile_us(&micros(&[7]), 50.0), 7);
        assert_eq!(percentile_us(&[], 50.0), 0);
    }

    #[test]
    fn a_summary_counts_cycles_and_errors_and_ratios_compare_to_the_floor() {
        let samples = Samples {
            publish: micros(&[300, 100, 200]),
            unpublish: micros(&[10, 30, 20]),
            republish: Vec::new(),
            errors: 1,
        };
        let ours = samples.summarize(Duration::from_secs(1));
        assert_eq!((ours.cycles, ours.errors), (3, 1));
        assert_eq!(ours.publish_p50_us, 200);
        assert_eq!(ours.publish_max_us, 300);
        assert!((ours.cycles_per_s - 3.0).abs() < 1e-9);
        assert_eq!(ours.republish_p50_us, None, "no republish was measured");
        let floor = RunSummary {
            publish_p50_us: 100,
            publish_p99_us: 150,
            cycles_per_s: 6.0,
            ..RunSummary::default()
        };
        let ratios = Ratios::of(&ours, &floor);
        assert!((ratios.publish_p50 - 2.0).abs() < 1e-9);
        assert!((ratios.publish_p99 - 2.0).abs() < 1e-9);
        assert!((ratios.throughput - 0.5).abs() < 1e-9);
    }
}
