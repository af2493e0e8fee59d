//! The file set of a volume whose access was rejected: only `.error.json`,
//! a google.rpc.Status in protobuf JSON, so the workload starts and fails
//! promptly with a reason instead of waiting on a mount that never comes.

use super::{FilePlan, PlannedFile};

/// The only file of a rejected volume.
pub const ERROR_FILE: &str = ".error.json";

/// google.rpc.Code PERMISSION_DENIED.
const PERMISSION_DENIED: u8 = 7;

/// `.error.json` alone, holding `message` (which names the connector and
/// the AccessRequest, never a token).
pub fn rejection_plan(message: &str) -> FilePlan {
    let message = serde_json::Value::String(message.to_owned());
    let content = format!("{{\"code\":{PERMISSION_DENIED},\"message\":{message},\"details\":[]}}");
    FilePlan {
        files: vec![PlannedFile {
            name: ERROR_FILE.to_owned(),
            content: content.into_bytes(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_one_status_file_with_code_7() {
        let plan = rejection_plan("access to connector \"team-a/github\" was \"rejected\"");
        assert_eq!(plan.files.len(), 1);
        let file = plan.get(ERROR_FILE).unwrap();
        let status: serde_json::Value = serde_json::from_slice(&file.content).unwrap();
        assert_eq!(
            status,
            serde_json::json!({
                "code": 7,
                "message": "access to connector \"team-a/github\" was \"rejected\"",
                "details": []
            })
        );
    }
}
