//! The real `connectors-csi serve` binary as a DaemonSet runs it: spawned
//! with flags, stopped with SIGTERM, killed if a failed assertion leaves it
//! running.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct ServeProcess {
    pub child: Child,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServeProcess {
    /// `connectors-csi serve ARGS`, stdout discarded; stderr piped when
    /// `capture_stderr` (read it after [`ServeProcess::terminate`]).
    pub fn spawn(command: &mut Command, capture_stderr: bool) -> ServeProcess {
        let stderr = if capture_stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        ServeProcess { child }
    }

    /// A `serve` command for the binary under test.
    pub fn command() -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_connectors-csi"));
        command.arg("serve");
        command
    }

    /// `serve` for a node whose kubelet root is `dir`: socket `dir/csi.sock`,
    /// state in `dir/state`, node id `node-a`.
    pub fn on_node(dir: &Path) -> Command {
        let mut command = ServeProcess::command();
        command
            .arg(format!(
                "--endpoint=unix://{}",
                dir.join("csi.sock").display()
            ))
            .args(["--node-id", "node-a"])
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--kubelet-root-dir")
            .arg(dir);
        command
    }

    /// SIGTERM, then waits (yielding to the runtime, so a client's open
    /// connection sees the GOAWAY) for at most 10 s.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the driver ignored SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What it wrote on stderr (when captured), once it has exited.
    pub fn stderr(&mut self) -> String {
        let mut logs = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut stderr, &mut logs).unwrap();
        }
        logs
    }
}

/// Waits up to 20 s until something listens on `socket`.
pub async fn wait_for_socket(socket: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::UnixStream::connect(socket).await.is_err() {
        assert!(Instant::now() < deadline, "the driver did not listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
