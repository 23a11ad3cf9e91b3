//! Turning a source's values into domain codes: the source's value map first, then the domain's
//! codes, Chinese labels, English labels and aliases, all compared on a folded key
//! ([`super::text::lookup_key`]).

use std::collections::HashMap;

use crate::config::plan::{CodedColumn, Domain};

/// Lookup from folded value to leaf index of a domain.
#[derive(Debug)]
pub struct CodeLookup {
    map: HashMap<String, u32>,
    other: Option<u32>,
}

/// The result of looking one value up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coded {
    Known(u32),
    /// Unknown, mapped to the domain's declared `other` code.
    Other(u32),
    Unknown,
}

impl CodeLookup {
    /// Builds the lookup of one source column. Earlier entries win: value map, codes, zh, en, aliases.
    #[must_use]
    pub fn new(column: &CodedColumn, domain: &Domain) -> Self {
        let index = |code: &str| {
            domain
                .codes
                .iter()
                .position(|c| c.code == code)
                .and_then(|p| u32::try_from(p).ok())
        };
        let mut map = HashMap::new();
        for (from, to) in &column.values {
            if let Some(i) = index(to) {
                map.entry(super::text::lookup_key(from)).or_insert(i);
            }
        }
        let names = |pick: fn(&crate::config::plan::Code) -> Vec<&str>| {
            domain
                .codes
                .iter()
                .zip(0u32..)
                .flat_map(move |(c, i)| pick(c).into_iter().map(move |n| (n, i)))
        };
        for (name, i) in names(|c| vec![c.code.as_str()])
            .chain(names(|c| vec![c.label.zh.as_str()]))
            .chain(names(|c| vec![c.label.en.as_str()]))
            .chain(names(|c| c.aliases.iter().map(String::as_str).collect()))
        {
            map.entry(super::text::lookup_key(name)).or_insert(i);
        }
        let other = match domain.unknown {
            crate::config::raw::UnknownPolicy::Other => {
                domain.other.and_then(|o| u32::try_from(o).ok())
            }
            crate::config::raw::UnknownPolicy::Quarantine => None,
        };
        Self { map, other }
    }

    /// Looks one raw value up.
    #[must_use]
    pub fn get(&self, raw: &str) -> Coded {
        match (self.map.get(&super::text::lookup_key(raw)), self.other) {
            (Some(&i), _) => Coded::Known(i),
            (None, Some(o)) => Coded::Other(o),
            (None, None) => Coded::Unknown,
        }
    }
}
