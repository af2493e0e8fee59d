//! Connector and ConnectorClass, typed as their CRDs (connectors.alauda.io/v1alpha1).
