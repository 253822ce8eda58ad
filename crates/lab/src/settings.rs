//! The run-level keys every config has, owned by the lab: `seed`, `name`
//! and the `[output]` table.
//!
//! A config file holds them beside the study's own keys:
//!
//! ```toml
//! seed = 2022            # every stream of the run derives from it
//! name = "large"         # optional: a second config writes `large_<file>`
//! [output]               # optional
//! arrays = true
//! # … the study's own keys
//! ```
//!
//! The runner reads them ([`Configured`]) and hands the study only its own
//! part; the study reads the settings back from [`crate::Ctx`] in its report
//! and gets the arrays sink in [`crate::Study::run`]. So no study declares a
//! seed, an output table or a record name, and a study made of two parts
//! (noisy-mnist) has one seed by construction.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, StringDeserializer};
use serde::de::{DeserializeSeed, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::arrays::Output;
use crate::config::{Validate, check_name};
use crate::error::LabError;

/// The run-level keys of a config (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSettings {
    /// `seed`: the runner derives every stream from it
    /// ([`crate::streams`]).
    pub seed: u64,
    /// `name`: the stem of the run's files. Absent, the study's own (its
    /// binary name with `_` for `-`), and files keep their plain names;
    /// given, every file is `<name>_<file>` ([`crate::config::named_file`]),
    /// so a second config (`large.toml`) writes beside the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `[output]`: what is written beside the CSVs.
    pub output: Output,
}

impl RunSettings {
    /// The keys the lab owns; a study's config must not use them.
    pub const KEYS: [&'static str; 3] = ["seed", "name", "output"];

    /// Settings with `seed` and everything else at its default.
    pub fn with_seed(seed: u64) -> Self {
        RunSettings {
            seed,
            name: None,
            output: Output::default(),
        }
    }

    /// The stem of the run's files for the study called `study` (its binary
    /// name): the `name` key, else `study` with `_` for `-`.
    pub fn stem(&self, study: &str) -> String {
        self.name.clone().unwrap_or_else(|| default_stem(study))
    }
}

/// A study's default file stem: its name with `_` for `-`.
pub(crate) fn default_stem(study: &str) -> String {
    study.replace('-', "_")
}

/// A config as its file holds it: the lab's [`RunSettings`] beside the
/// study's own config `C`. Deserialized from one table (unknown keys are
/// still rejected, by `C`; errors keep their key path and position);
/// serialized flat, as the file was, into `record.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Configured<C> {
    /// The run-level keys.
    #[serde(flatten)]
    pub run: RunSettings,
    /// The study's own keys.
    #[serde(flatten)]
    pub study: C,
}

impl<C: Validate> Validate for Configured<C> {
    fn validate(&self) -> Result<(), LabError> {
        if let Some(name) = &self.run.name {
            check_name(name)?;
        }
        self.study.validate()
    }

    fn memory(&self) -> Option<crate::memory::MemoryEstimate> {
        self.study.memory()
    }

    fn resolve_paths(&mut self, config_dir: &std::path::Path) -> Result<(), LabError> {
        self.study.resolve_paths(config_dir)
    }
}

impl<'de, C: Deserialize<'de>> Deserialize<'de> for Configured<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ConfiguredVisitor(PhantomData))
    }
}

struct ConfiguredVisitor<C>(PhantomData<C>);

impl<'de, C: Deserialize<'de>> Visitor<'de> for ConfiguredVisitor<C> {
    type Value = Configured<C>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a config table")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Configured<C>, A::Error> {
        let mut found = Found::default();
        // The study reads the table through a filter that takes the lab's
        // keys out as they pass: its own keys, values and errors go through
        // the original map untouched (positions and key paths kept).
        let study = C::deserialize(MapAccessDeserializer::new(Split {
            inner: map,
            found: &mut found,
        }))?;
        let seed = found.seed.ok_or_else(|| A::Error::missing_field("seed"))?;
        Ok(Configured {
            run: RunSettings {
                seed,
                name: found.name,
                output: found.output.unwrap_or_default(),
            },
            study,
        })
    }
}

/// The lab's keys as they were met.
#[derive(Default)]
struct Found {
    seed: Option<u64>,
    name: Option<String>,
    output: Option<Output>,
}

/// A map that hands the study every key but the lab's.
struct Split<'a, A> {
    inner: A,
    found: &'a mut Found,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Split<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.inner.next_key::<String>()? else {
                return Ok(None);
            };
            let twice = || A::Error::duplicate_field(static_key(&key));
            match key.as_str() {
                "seed" if self.found.seed.is_some() => return Err(twice()),
                "seed" => self.found.seed = Some(self.inner.next_value()?),
                "name" if self.found.name.is_some() => return Err(twice()),
                "name" => self.found.name = Some(self.inner.next_value()?),
                "output" if self.found.output.is_some() => return Err(twice()),
                "output" => self.found.output = Some(self.inner.next_value()?),
                _ => return seed.deserialize(StringDeserializer::<A::Error>::new(key)).map(Some),
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

fn static_key(key: &str) -> &'static str {
    RunSettings::KEYS.into_iter().find(|k| *k == key).unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Own {
        d: usize,
        #[serde(default)]
        lr: Option<f64>,
    }

    impl Validate for Own {
        fn validate(&self) -> Result<(), LabError> {
            Ok(())
        }
    }

    fn parse(text: &str) -> Result<Configured<Own>, LabError> {
        crate::config::parse_config(text, std::path::Path::new("t.toml"))
    }

    #[test]
    fn the_lab_takes_its_keys_and_the_study_gets_the_rest() {
        let c = parse("d = 3\nseed = 7\n[output]\narrays = true\n").unwrap();
        assert_eq!(c.study, Own { d: 3, lr: None });
        assert_eq!(c.run.seed, 7);
        assert!(c.run.output.arrays);
        assert_eq!(c.run.stem("label-noise"), "label_noise");
        let named = parse("seed = 1\nname = \"large\"\nd = 1").unwrap();
        assert_eq!(named.run.stem("label-noise"), "large");
        assert!(!named.run.output.arrays);
    }

    #[test]
    fn errors_keep_their_key_and_position() {
        let e = parse("seed = 1\nd = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("t.toml:2:5") && e.contains("`d`"), "{e}");
        let e = parse("d = 1\nseed = -4\n").unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("`seed`"), "{e}");
        let e = parse("seed = 1\nd = 1\nlearning_rate = 2\n").unwrap_err().to_string();
        assert!(e.contains("unknown field `learning_rate`"), "{e}");
        let e = parse("d = 1\n").unwrap_err().to_string();
        assert!(e.contains("missing field `seed`"), "{e}");
        let e = parse("seed = 1\nd = 1\n[output]\nkeep = true\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `keep`") && e.contains("output"), "{e}");
        let e = parse("seed = 1\nd = 1\nname = \"a b\"\n").unwrap_err().to_string();
        assert!(e.contains("`name`") && e.contains("a b"), "{e}");
    }

    #[test]
    fn the_record_holds_the_whole_config_flat() {
        let c = parse("seed = 7\nd = 3\n").unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"seed":7,"output":{"arrays":false},"d":3,"lr":null}"#);
    }
}
