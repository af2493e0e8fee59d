//! Service-account tokens for the proxy: from kubelet, a file, or a TokenRequest.
