//! SubjectAccessReviews answered from the RBAC-like grants, and TokenRequests
//! issuing tokens the fake records.

use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestStatus};
use k8s_openapi::api::authorization::v1::{SubjectAccessReview, SubjectAccessReviewStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::http::{json_response, status_response};
use super::world::Shared;
use super::IssuedToken;

pub(super) fn review(shared: &Shared, body: &[u8]) -> Response {
    let Ok(mut review) = serde_json::from_slice::<SubjectAccessReview>(body) else {
        return status_response(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "not a SubjectAccessReview",
        );
    };
    let mut world = shared.world();
    let allowed = world.grants.iter().any(|grant| grant.allows(&review.spec));
    world.reviews.push(review.clone());
    review.status = Some(SubjectAccessReviewStatus {
        allowed,
        reason: (!allowed).then(|| "no RBAC rule allows it".to_owned()),
        ..SubjectAccessReviewStatus::default()
    });
    json_response(StatusCode::CREATED, &review)
}

pub(super) fn issue_token(shared: &Shared, ns: &str, sa: &str, body: &[u8]) -> Response {
    let Ok(mut request) = serde_json::from_slice::<TokenRequest>(body) else {
        return status_response(StatusCode::BAD_REQUEST, "BadRequest", "not a TokenRequest");
    };
    let seconds = request.spec.expiration_seconds.unwrap_or(3600);
    let expires = Timestamp::now()
        .checked_add(SignedDuration::from_secs(seconds))
        .unwrap();
    let mut world = shared.world();
    let token = format!(
        "fake-sa-token-{}-{}",
        world.tokens.len() + 1,
        std::process::id()
    );
    let bound = request.spec.bound_object_ref.clone().unwrap_or_default();
    world.tokens.push(IssuedToken {
        namespace: ns.to_owned(),
        service_account: sa.to_owned(),
        audiences: request.spec.audiences.clone(),
        expiration_seconds: request.spec.expiration_seconds,
        bound_kind: bound.kind,
        bound_name: bound.name,
        bound_uid: bound.uid,
        token: token.clone(),
        expires_at: SystemTime::from(expires),
    });
    request.status = Some(TokenRequestStatus {
        token,
        expiration_timestamp: Time(expires),
    });
    json_response(StatusCode::CREATED, &request)
}
