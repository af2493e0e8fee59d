//! Where Connectors, ConnectorClasses and the built-in templates come from.
