//! The driver under test, started as its own process (so its memory is its
//! own), and its resident memory read from `/proc`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A running `connectors-csi serve`; stopped (SIGTERM, then kill) on drop.
pub struct DriverProcess {
    child: Child,
    pub socket: PathBuf,
    /// From spawn to the socket answering a Probe.
    pub start_to_ready: Duration,
}

/// Paths the driver is started with.
pub struct DriverSetup<'a> {
    /// The `connectors-csi` binary.
    pub binary: &'a Path,
    pub dir: &'a Path,
    pub source: CatalogSource<'a>,
}

/// Where the driver reads its objects from.
pub enum CatalogSource<'a> {
    /// `--manifests`, with a token file for volumes kubelet gives none.
    Manifests {
        manifests: &'a Path,
        token_file: &'a Path,
    },
    /// An API server through a kubeconfig; tokens come from kubelet.
    Cluster {
        kubeconfig: &'a Path,
        /// The driver's own namespace.
        namespace: &'a str,
        audience: &'a str,
    },
}

impl DriverProcess {
    /// Spawns the driver and waits until `ready` (a Probe over the socket)
    /// answers, at most `timeout`.
    pub async fn start<F, Fut>(
        setup: &DriverSetup<'_>,
        timeout: Duration,
        ready: F,
    ) -> anyhow::Result<DriverProcess>
    where
        F: Fn(PathBuf) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let socket = setup.dir.join("csi.sock");
        let state = setup.dir.join("state");
        let started = Instant::now();
        let mut command = Command::new(setup.binary);
        command
            .arg("serve")
            .arg(format!("--endpoint=unix://{}", socket.display()))
            .arg("--node-id=bench")
            .arg(format!("--state-dir={}", state.display()))
            // The bench's targets are below its directory.
            .arg(format!("--kubelet-root-dir={}", setup.dir.display()));
        match setup.source {
            CatalogSource::Manifests {
                manifests,
                token_file,
            } => command
                .arg(format!("--manifests={}", manifests.display()))
                .arg(format!("--token-file={}", token_file.display())),
            CatalogSource::Cluster {
                kubeconfig,
                namespace,
                audience,
            } => command
                .arg(format!("--kubeconfig={}", kubeconfig.display()))
                .arg(format!("--namespace={namespace}"))
                .arg(format!("--token-audience={audience}")),
        };
        let child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} serve", setup.binary.display()))?;
        let mut driver = DriverProcess {
            child,
            socket,
            start_to_ready: Duration::ZERO,
        };
        while !ready(driver.socket.clone()).await {
            if started.elapsed() > timeout {
                anyhow::bail!("the driver did not answer a Probe within {timeout:?}");
            }
            if let Some(status) = driver.child.try_wait()? {
                anyhow::bail!("the driver exited during start: {status}");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        driver.start_to_ready = started.elapsed();
        Ok(driver)
    }

    /// Current resident set (VmRSS), KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        proc_status_kib(self.child.id(), "VmRSS")
    }

    /// Peak resident set (VmHWM), KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        proc_status_kib(self.child.id(), "VmHWM")
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `KEY: N kB` line of `/proc/PID/status`.
fn proc_status_kib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_kib(&status, key).with_context(|| format!("no {key} in /proc/{pid}/status"))
}

fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|number| number.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read_from_proc_status_lines() {
        let status = "Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(1024));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(2048));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
        assert!(proc_status_kib(std::process::id(), "VmRSS").unwrap() > 0);
    }
}
