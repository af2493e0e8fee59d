//! The fake's authoriser: RBAC-like grants in the `connectors.alauda.io`
//! API group, matched the way Kubernetes RBAC matches a request.
//!
//! A rule's resource is `resource` or `resource/subresource`; it matches a
//! request whose combined `resource/subresource` is exactly that string, or
//! `*` (anything), or `*/subresource`. A rule for `connectors` does not cover
//! `connectors/proxy`, and there is no prefix or wildcard inside a
//! subresource (`connectors/proxy/*` matches only a subresource literally
//! named `proxy/*`), as in `k8s.io/kubernetes/pkg/apis/rbac/v1` helpers.

use k8s_openapi::api::authorization::v1::SubjectAccessReviewSpec;

const API_GROUP: &str = "connectors.alauda.io";

/// Who a grant is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    User(String),
    Group(String),
}

/// One Role rule bound to one subject in one namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub subject: Subject,
    pub namespace: String,
    pub verbs: Vec<String>,
    /// `connectors`, `connectors/proxy`, `*`, `*/proxy`, ...
    pub resources: Vec<String>,
    /// Empty: every name.
    pub names: Vec<String>,
}

impl Grant {
    /// A grant to `system:serviceaccount:NAMESPACE:NAME` (no rules yet).
    pub fn service_account(namespace: &str, name: &str) -> Grant {
        Grant::to(Subject::User(format!(
            "system:serviceaccount:{namespace}:{name}"
        )))
    }

    /// A grant to a group, e.g. `system:serviceaccounts:team-a`.
    pub fn group(group: &str) -> Grant {
        Grant::to(Subject::Group(group.to_owned()))
    }

    fn to(subject: Subject) -> Grant {
        Grant {
            subject,
            namespace: String::new(),
            verbs: Vec::new(),
            resources: Vec::new(),
            names: Vec::new(),
        }
    }

    /// The namespace of the Role and RoleBinding.
    pub fn in_namespace(mut self, namespace: &str) -> Grant {
        self.namespace = namespace.to_owned();
        self
    }

    pub fn verbs(mut self, verbs: &[&str]) -> Grant {
        self.verbs = verbs.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    pub fn resources(mut self, resources: &[&str]) -> Grant {
        self.resources = resources.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    pub fn names(mut self, names: &[&str]) -> Grant {
        self.names = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// Whether this grant allows the review's request.
    pub(super) fn allows(&self, spec: &SubjectAccessReviewSpec) -> bool {
        let Some(attributes) = &spec.resource_attributes else {
            return false;
        };
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        self.covers_subject(spec)
            && text(&attributes.group) == API_GROUP
            && Some(self.namespace.as_str()) == attributes.namespace.as_deref()
            && self
                .verbs
                .iter()
                .any(|verb| verb == "*" || *verb == text(&attributes.verb))
            && self.resources.iter().any(|rule| {
                resource_matches(
                    rule,
                    &text(&attributes.resource),
                    &text(&attributes.subresource),
                )
            })
            && (self.names.is_empty() || self.names.contains(&text(&attributes.name)))
    }

    fn covers_subject(&self, spec: &SubjectAccessReviewSpec) -> bool {
        match &self.subject {
            Subject::User(user) => spec.user.as_deref() == Some(user.as_str()),
            Subject::Group(group) => spec.groups.iter().flatten().any(|g| g == group),
        }
    }
}

/// RBAC's resource match for a rule's resource string.
pub(super) fn resource_matches(rule: &str, resource: &str, subresource: &str) -> bool {
    if rule == "*" {
        return true;
    }
    if subresource.is_empty() {
        return rule == resource;
    }
    rule == format!("{resource}/{subresource}") || rule == format!("*/{subresource}")
}
