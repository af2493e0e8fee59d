//! The template engine as the driver uses it: Go text/template with sprig,
//! and a bounded cache of parsed templates shared by every publish.
//!
//! The same ConnectorClass templates are rendered on every publish and every
//! token refresh, so parsing once per distinct (file name, source) pays off.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use gotemplate::{FuncMap, Limits, Template, Value};

/// Parses and executes templates; `Send + Sync`, shared across publishes.
pub struct Engine {
    funcs: Arc<FuncMap>,
    cache: Mutex<ParseCache>,
}

impl Engine {
    pub fn new(cache_entries: usize) -> Engine {
        Engine {
            funcs: Arc::new(sprig::functions()),
            cache: Mutex::new(ParseCache::new(cache_entries)),
        }
    }

    /// Renders `source` (named `name` in Go's messages) over `data`.
    pub fn render(
        &self,
        name: &str,
        source: &str,
        data: &Value,
        limits: &Limits,
    ) -> Result<String, gotemplate::Error> {
        let template = self.parsed(name, source)?;
        let mut out = String::new();
        template.execute(data, &mut out, limits)?;
        Ok(out)
    }

    /// Parsed templates currently cached.
    pub fn cached(&self) -> usize {
        self.lock().entries.len()
    }

    fn parsed(&self, name: &str, source: &str) -> Result<Arc<Template>, gotemplate::Error> {
        let key = cache_key(name, source);
        if let Some(template) = self.lock().get(key, name, source) {
            return Ok(template);
        }
        // Parse outside the lock: other publishes keep rendering meanwhile.
        let template = Arc::new(Template::parse(name, source, &self.funcs)?);
        self.lock().insert(key, name, source, Arc::clone(&template));
        Ok(template)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ParseCache> {
        // The cache holds no invariant a panicking thread could break halfway.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn cache_key(name: &str, source: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    name.hash(&mut hasher);
    source.hash(&mut hasher);
    hasher.finish()
}

struct CacheEntry {
    name: Box<str>,
    source: Box<str>,
    template: Arc<Template>,
    last_used: u64,
}

/// At most `capacity` templates; the least recently used goes first.
struct ParseCache {
    capacity: usize,
    clock: u64,
    entries: HashMap<u64, CacheEntry>,
}

impl ParseCache {
    fn new(capacity: usize) -> ParseCache {
        ParseCache {
            capacity,
            clock: 0,
            entries: HashMap::new(),
        }
    }

    fn get(&mut self, key: u64, name: &str, source: &str) -> Option<Arc<Template>> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self.entries.get_mut(&key)?;
        // A hash collision is only a miss: the text decides.
        if &*entry.name != name || &*entry.source != source {
            return None;
        }
        entry.last_used = clock;
        Some(Arc::clone(&entry.template))
    }

    fn insert(&mut self, key: u64, name: &str, source: &str, template: Arc<Template>) {
        if self.capacity == 0 {
            return;
        }
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.evict_oldest();
        }
        self.clock += 1;
        self.entries.insert(
            key,
            CacheEntry {
                name: name.into(),
                source: source.into(),
                template,
                last_used: self.clock,
            },
        );
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, entry)| entry.last_used)
            .map(|(key, _)| *key);
        if let Some(key) = oldest {
            self.entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn renders_with_sprig_functions() {
        let engine = Engine::new(8);
        let data = Value::from(serde_json::json!({"name": "git"}));
        let out = engine
            .render(
                "t",
                "{{ .name | upper }}-{{ \"x\" | b64enc }}",
                &data,
                &limits(),
            )
            .unwrap();
        assert_eq!(out, "GIT-eA==");
    }

    #[test]
    fn the_same_template_is_parsed_once() {
        let engine = Engine::new(8);
        let data = Value::from(serde_json::json!({}));
        engine.render("a", "x", &data, &limits()).unwrap();
        engine.render("a", "x", &data, &limits()).unwrap();
        assert_eq!(engine.cached(), 1);
        engine.render("b", "x", &data, &limits()).unwrap();
        assert_eq!(
            engine.cached(),
            2,
            "the name is part of the key: Go's messages carry it"
        );
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_the_recently_used() {
        let engine = Engine::new(2);
        let data = Value::from(serde_json::json!({}));
        engine.render("a", "1", &data, &limits()).unwrap();
        engine.render("b", "2", &data, &limits()).unwrap();
        engine.render("a", "1", &data, &limits()).unwrap();
        engine.render("c", "3", &data, &limits()).unwrap();
        assert_eq!(engine.cached(), 2);
        let mut cache = engine.lock();
        assert!(cache.get(cache_key("a", "1"), "a", "1").is_some());
        assert!(!cache.entries.contains_key(&cache_key("b", "2")));
    }

    #[test]
    fn parse_errors_carry_the_name_and_are_not_cached() {
        let engine = Engine::new(8);
        let data = Value::from(serde_json::json!({}));
        let err = engine
            .render(".gitconfig", "{{ .x", &data, &limits())
            .unwrap_err();
        assert!(
            err.to_string().starts_with("template: .gitconfig:1:"),
            "{err}"
        );
        assert_eq!(engine.cached(), 0);
    }
}
