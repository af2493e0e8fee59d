//! Which files a volume gets, in which order: built-ins, then each
//! included configuration of each class, later names replacing earlier ones,
//! then the exclusions.

use std::collections::BTreeMap;
use std::time::Instant;

use gotemplate::{ErrorKind, Limits, Value};

use super::data::{configurations_value, VolumeData};
use super::engine::Engine;
use super::redact::Redactor;
use super::{params, FileOrigin, FilePlan, PlannedFile, RenderError, RenderLimits};
use crate::catalog::ResolvedConnector;
use crate::model::{Configuration, ConnectorClass};
use crate::tokens::Token;
use crate::volume::{is_valid_file_name, VolumeRequest};

/// Everything one volume's rendering needs, borrowed for its duration.
pub(crate) struct Planner<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) limits: &'a RenderLimits,
    pub(crate) request: &'a VolumeRequest,
    pub(crate) connectors: &'a [ResolvedConnector],
    pub(crate) token: &'a Token,
    pub(crate) data: VolumeData,
    pub(crate) started: Instant,
}

/// Files per volume: each is a file and a link on the tmpfs, and kubelet's
/// own projected volumes hold a handful.
pub const MAX_FILES: usize = 1024;

/// Rendered files so far, by name.
type Files = BTreeMap<String, Vec<u8>>;

impl Planner<'_> {
    pub(crate) fn plan(
        &self,
        builtins: &BTreeMap<String, String>,
    ) -> Result<FilePlan, RenderError> {
        let mut files = Files::new();
        self.render_builtins(builtins, &mut files)?;
        for configuration in &self.request.configurations.include {
            self.render_configuration(configuration, &mut files)?;
        }
        for excluded in &self.request.configurations.exclude {
            files.remove(excluded);
        }
        check_file_count(files.len())?;
        let total: usize = files.values().map(Vec::len).sum();
        if total > self.limits.max_volume_bytes {
            return Err(RenderError::VolumeTooLarge {
                total,
                limit: self.limits.max_volume_bytes,
            });
        }
        Ok(FilePlan {
            files: files
                .into_iter()
                .map(|(name, content)| PlannedFile { name, content })
                .collect(),
        })
    }

    fn render_builtins(
        &self,
        templates: &BTreeMap<String, String>,
        files: &mut Files,
    ) -> Result<(), RenderError> {
        let last = self
            .connectors
            .len()
            .checked_sub(1)
            .ok_or(RenderError::NoConnectors)?;
        let class = self
            .connectors
            .get(last)
            .map(|resolved| self.data.class(&resolved.class))
            .unwrap_or_default();
        let data = self
            .data
            .for_file(last, &class, configurations_value(Default::default()));
        for (name, source) in templates {
            let content = self.render_file(&FileOrigin::Builtin, name, source, &data)?;
            files.insert(name.clone(), content);
        }
        Ok(())
    }

    fn render_configuration(
        &self,
        configuration: &str,
        files: &mut Files,
    ) -> Result<(), RenderError> {
        let declarations = self.declarations(configuration);
        if declarations.is_empty() {
            return Err(RenderError::ConfigurationNotFound {
                configuration: configuration.to_owned(),
                classes: self
                    .classes()
                    .iter()
                    .map(|class| class.name().to_owned())
                    .collect(),
            });
        }
        let given = self.request.params.get(configuration);
        let named: Vec<(&str, &Configuration)> = declarations
            .iter()
            .map(|(class, decl)| (class.name(), *decl))
            .collect();
        params::check_known(configuration, &named, given)?;
        for (class, declaration) in declarations {
            let values = params::resolve(class.name(), declaration, given)?;
            let connector_index = self
                .connectors
                .iter()
                .position(|resolved| resolved.class.name() == class.name())
                .unwrap_or_default();
            let data = self.data.for_file(
                connector_index,
                &self.data.class(class),
                configurations_value(values),
            );
            let origin = FileOrigin::Configuration {
                class: class.name().to_owned(),
                configuration: configuration.to_owned(),
            };
            // Before any template runs: a class of 100,000 files fails at once.
            let new_names = declaration
                .data
                .keys()
                .filter(|name| !files.contains_key(*name))
                .count();
            check_file_count(files.len() + new_names)?;
            for (name, source) in &declaration.data {
                let content = self.render_file(&origin, name, source, &data)?;
                files.insert(name.clone(), content);
            }
        }
        Ok(())
    }

    /// The volume's classes, each once, in order of first appearance.
    fn classes(&self) -> Vec<&ConnectorClass> {
        let mut classes: Vec<&ConnectorClass> = Vec::new();
        for resolved in self.connectors {
            if !classes.iter().any(|c| c.name() == resolved.class.name()) {
                classes.push(&resolved.class);
            }
        }
        classes
    }

    fn declarations(&self, configuration: &str) -> Vec<(&ConnectorClass, &Configuration)> {
        self.classes()
            .into_iter()
            .filter_map(|class| class.configuration(configuration).map(|decl| (class, decl)))
            .collect()
    }

    fn render_file(
        &self,
        origin: &FileOrigin,
        name: &str,
        source: &str,
        data: &Value,
    ) -> Result<Vec<u8>, RenderError> {
        if !is_valid_file_name(name) {
            return Err(RenderError::FileName {
                origin: origin.clone(),
                name: name.to_owned(),
            });
        }
        let remaining = self.limits.timeout.saturating_sub(self.started.elapsed());
        let timeout_error = || RenderError::Timeout {
            origin: origin.clone(),
            file: name.to_owned(),
            limit: self.limits.timeout,
        };
        if remaining.is_zero() {
            return Err(timeout_error());
        }
        let limits = Limits {
            max_output_bytes: self.limits.max_file_bytes,
            max_built_bytes: self.limits.max_built_bytes,
            timeout: remaining,
        };
        match self.engine.render(name, source, data, &limits) {
            Ok(text) => Ok(text.into_bytes()),
            Err(err) => Err(match err.kind() {
                ErrorKind::OutputLimit => RenderError::FileTooLarge {
                    origin: origin.clone(),
                    file: name.to_owned(),
                    limit: self.limits.max_file_bytes,
                },
                ErrorKind::BuildLimit => RenderError::BuildLimit {
                    origin: origin.clone(),
                    file: name.to_owned(),
                    limit: self.limits.max_built_bytes,
                },
                ErrorKind::Timeout => timeout_error(),
                ErrorKind::Parse | ErrorKind::Exec => RenderError::Template {
                    origin: origin.clone(),
                    file: name.to_owned(),
                    message: Redactor::new(self.token.secret()).redact(err.message()),
                },
            }),
        }
    }
}

/// Whether a template the volume renders (a built-in file or one of an
/// included configuration) may change maps in place.
pub(crate) fn may_change_maps(
    builtins_may: bool,
    request: &VolumeRequest,
    connectors: &[ResolvedConnector],
) -> bool {
    builtins_may
        || request.configurations.include.iter().any(|name| {
            connectors
                .iter()
                .filter_map(|resolved| resolved.class.configuration(name))
                .any(|configuration| configuration.may_change_maps)
        })
}

fn check_file_count(count: usize) -> Result<(), RenderError> {
    if count > MAX_FILES {
        return Err(RenderError::TooManyFiles {
            count,
            limit: MAX_FILES,
        });
    }
    Ok(())
}
