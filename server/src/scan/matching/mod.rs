//! Matching an inventory against OSV records.
//!
//! A package is looked up by the name its ecosystem's advisories use (Debian
//! and Ubuntu: the source package; Alpine: the origin; Go: `stdlib` for the
//! toolchain), only records whose affected `package.ecosystem` is exactly the
//! package's count (a `Debian:11` advisory never hits a `Debian:12` package),
//! withdrawn records are ignored, and the version is placed in the record's
//! ranges with the ecosystem's own order ([`super::version::Scheme`]), as the
//! OSV schema's evaluation says. Records of one package that share an id or
//! alias are folded into one finding, named by its CVE when it has one.
//!
//! Deciding whether a record affects a package needs only its [`Entries`]
//! for that package (the database stores them beside its index, see
//! `service::vulndb`); the whole record is read only for the records that
//! do ([`findings_of_candidates`]).
//!
//! The parts: version ranges (`ranges`), the names advisories use
//! (`names`), what is stored per record and package (`entries`), and
//! making one finding of the records that hit (`finding`); choosing the
//! records that affect each package is here.

mod entries;
mod finding;
mod names;
mod ranges;

pub use entries::{Candidate, Entries};
pub use ranges::{affects, fixed_version};

use super::osv::Record;
use super::version::Scheme;
use super::{Finding, Package};
use entries::withdrawn;
use finding::{bundled, finding, fold, Hit};
use names::{advisory_key, names};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The findings for `packages`. `lookup(ecosystem, name)` returns the records
/// that name the package in that ecosystem; it is called once per distinct
/// (ecosystem, name). Findings come in a fixed order: severity (most severe
/// first), then name, then package, version and path.
pub fn findings(
    packages: &[Package],
    mut lookup: impl FnMut(&str, &str) -> Vec<Arc<Record>>,
) -> Vec<Finding> {
    let seen = std::cell::RefCell::new(Vec::<Arc<Record>>::new());
    findings_of_candidates(
        packages,
        |keys| {
            let mut seen = seen.borrow_mut();
            keys.iter()
                .map(|(ecosystem, name)| {
                    lookup(ecosystem.as_str(), name.as_str())
                        .into_iter()
                        .map(|record| {
                            seen.push(record.clone());
                            Candidate {
                                record: seen.len() as i64 - 1,
                                entries: Arc::new(Entries {
                                    withdrawn: withdrawn(&record),
                                    affected: record.affected.clone(),
                                }),
                            }
                        })
                        .collect()
                })
                .collect()
        },
        |handles| {
            let seen = seen.borrow();
            handles
                .iter()
                .map(|&i| seen.get(i as usize).cloned())
                .collect()
        },
    )
}

/// One package of an inventory as matching sees it.
struct Wanted<'p> {
    package: &'p Package,
    ecosystem: &'p str,
    scheme: Scheme,
    name: &'p str,
    version: Cow<'p, str>,
    /// Its key's index in the keys looked up.
    key: usize,
}

/// [`findings`], deciding from each record's [`Entries`], in batches:
/// `lookup(keys)` returns the candidates for each distinct (ecosystem,
/// name) the packages are looked up by (one list per key, in order; called
/// once), and `records(handles)` the records of those that affect some
/// package, in the same order (`None` for one that cannot be read, which
/// then yields no finding; called once). Those records' own `affected` is
/// not read (the candidates' entries are), so it may be left out.
pub fn findings_of_candidates(
    packages: &[Package],
    lookup: impl FnOnce(&[(String, String)]) -> Vec<Vec<Candidate>>,
    records: impl FnOnce(&[i64]) -> Vec<Option<Arc<Record>>>,
) -> Vec<Finding> {
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut key_of: HashMap<(&str, &str), usize> = HashMap::new();
    let mut wanted = Vec::new();
    for package in packages {
        let Some(ecosystem) = package.ecosystem.as_deref() else {
            continue;
        };
        let Some(scheme) = Scheme::for_ecosystem(ecosystem) else {
            continue;
        };
        let (name, version) = advisory_key(package);
        let key = *key_of.entry((ecosystem, name)).or_insert_with(|| {
            keys.push((ecosystem.to_owned(), name.to_owned()));
            keys.len() - 1
        });
        wanted.push(Wanted {
            package,
            ecosystem,
            scheme,
            name,
            version,
            key,
        });
    }
    if keys.is_empty() {
        return Vec::new();
    }
    let found = lookup(&keys);
    // Per package: (candidate, affected entry, fixed version) of each record
    // that applies.
    let chosen: Vec<Vec<(usize, usize, Option<String>)>> = wanted
        .iter()
        .map(|w| {
            found
                .get(w.key)
                .map(|candidates| choose(w, candidates))
                .unwrap_or_default()
        })
        .collect();
    let mut handles: Vec<i64> = chosen
        .iter()
        .zip(&wanted)
        .flat_map(|(chosen, w)| chosen.iter().map(|(c, _, _)| found[w.key][*c].record))
        .collect();
    handles.sort_unstable();
    handles.dedup();
    let whole: HashMap<i64, Arc<Record>> = if handles.is_empty() {
        HashMap::new()
    } else {
        handles
            .iter()
            .copied()
            .zip(records(&handles))
            .filter_map(|(handle, record)| Some((handle, record?)))
            .collect()
    };
    let mut out = Vec::new();
    for (w, chosen) in wanted.iter().zip(chosen) {
        if chosen.is_empty() {
            continue;
        }
        let candidates = &found[w.key];
        let hits: Vec<Hit<'_>> = chosen
            .into_iter()
            .filter_map(|(c, a, fixed)| {
                Some(Hit {
                    record: whole.get(&candidates[c].record)?,
                    affected: &candidates[c].entries.affected[a],
                    fixed,
                })
            })
            .collect();
        let groups = fold(&hits);
        let found: Vec<Finding> = groups
            .iter()
            .map(|group| finding(w.package, w.ecosystem, w.scheme, group))
            .collect();
        let named: HashSet<&str> = found.iter().map(|f| f.name.as_str()).collect();
        let repeats: Vec<bool> = groups.iter().map(|g| bundled(g, &named)).collect();
        out.extend(
            found
                .into_iter()
                .zip(repeats)
                .filter(|(_, repeat)| !repeat)
                .map(|(f, _)| f),
        );
    }
    out.sort_by(|a, b| {
        (
            a.severity,
            &a.name,
            &a.package_name,
            &a.package_version,
            &a.path,
        )
            .cmp(&(
                b.severity,
                &b.name,
                &b.package_name,
                &b.package_version,
                &b.path,
            ))
    });
    out
}

/// The candidates that affect the package: `(candidate, affected entry,
/// fixed version)` of each, in the candidates' order.
fn choose(w: &Wanted<'_>, candidates: &[Candidate]) -> Vec<(usize, usize, Option<String>)> {
    let mut chosen = Vec::new();
    for (c, candidate) in candidates.iter().enumerate() {
        if candidate.entries.withdrawn {
            continue;
        }
        let mut hit: Option<(usize, Option<String>)> = None;
        for (a, affected) in candidate.entries.affected.iter().enumerate() {
            if !names(affected, w.ecosystem, w.name) || !affects(w.scheme, affected, &w.version) {
                continue;
            }
            let fixed = fixed_version(w.scheme, affected, &w.version);
            match &mut hit {
                None => hit = Some((a, fixed)),
                // The same package listed twice: keep the lowest fix.
                Some((_, old)) => {
                    if let Some(f) = fixed {
                        if old
                            .as_deref()
                            .is_none_or(|o| w.scheme.compare(&f, o) == Some(Ordering::Less))
                        {
                            *old = Some(f);
                        }
                    }
                }
            }
        }
        if let Some((a, fixed)) = hit {
            chosen.push((c, a, fixed));
        }
    }
    chosen
}

#[cfg(test)]
mod tests;
