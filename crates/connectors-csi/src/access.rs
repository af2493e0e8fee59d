//! Authorisation: may the pod's service account use these connectors.
