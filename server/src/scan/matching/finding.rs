//! One finding made of the records that affect a package: their ids and
//! aliases folded together, named by a CVE, described, linked and rated.

use crate::scan::osv::{Affected, Record};
use crate::scan::severity;
use crate::scan::version::Scheme;
use crate::scan::{Finding, Package, Severity};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// How long a description taken from a record's details may be.
pub(super) const DESCRIPTION_CHARS: usize = 300;

/// Every id a record is known by: its own, its aliases, and for the
/// distributions' per-CVE records (`DEBIAN-CVE-…`, `UBUNTU-CVE-…`,
/// `ALPINE-CVE-…`, which name their CVE only in `upstream`) that CVE. A
/// bundled advisory's several upstream CVEs are not aliases of it: folding
/// through them would merge different vulnerabilities (see [`bundled`]).
fn record_ids(record: &Record) -> impl Iterator<Item = &str> {
    let renamed = ["DEBIAN-", "UBUNTU-", "ALPINE-"]
        .iter()
        .find_map(|prefix| record.id.strip_prefix(prefix))
        .filter(|rest| rest.starts_with("CVE-"));
    let single_upstream = match record.upstream.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    };
    std::iter::once(record.id.as_str())
        .chain(record.aliases.iter().map(String::as_str))
        .chain(renamed)
        .chain(single_upstream)
}

/// Whether a finding only repeats others: every record folded into it is a
/// bundled advisory (a DSA naming several CVEs in `upstream`) whose CVEs all
/// have findings of their own for the package. Such an advisory is shown
/// through those CVEs, not a second time under its own name.
pub(super) fn bundled(group: &[&Hit<'_>], named: &HashSet<&str>) -> bool {
    group.iter().all(|hit| {
        hit.record.upstream.len() > 1
            && hit
                .record
                .upstream
                .iter()
                .all(|cve| named.contains(cve.as_str()))
    })
}

/// One record that affects one package.
pub(super) struct Hit<'a> {
    pub(super) record: &'a Record,
    pub(super) affected: &'a Affected,
    pub(super) fixed: Option<String>,
}

/// The start of a record's details: its first paragraph of text (Markdown
/// heading lines left out), whitespace folded, cut at a word near
/// [`DESCRIPTION_CHARS`].
pub(super) fn details_start(details: &str) -> String {
    let folded = details
        .split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .filter(|line| !line.trim_start().starts_with('#'))
                .flat_map(str::split_whitespace)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .find(|text| !text.is_empty())
        .unwrap_or_default();
    if folded.chars().count() <= DESCRIPTION_CHARS {
        return folded;
    }
    let cut: String = folded.chars().take(DESCRIPTION_CHARS).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

/// One finding from the hits folded together.
pub(super) fn finding(
    package: &Package,
    ecosystem: &str,
    scheme: Scheme,
    hits: &[&Hit<'_>],
) -> Finding {
    let mut ids: Vec<String> = hits
        .iter()
        .flat_map(|h| record_ids(h.record))
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.dedup();
    let name = ids
        .iter()
        .find(|id| id.starts_with("CVE-"))
        .unwrap_or(&ids[0])
        .clone();
    // The record named like the finding speaks first, then the others in
    // the order the database gave them.
    let mut ordered: Vec<&Hit<'_>> = hits.to_vec();
    ordered.sort_by_key(|h| h.record.id != name);
    let description = ordered
        .iter()
        .find_map(|h| {
            h.record
                .summary
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        })
        .or_else(|| {
            ordered.iter().find_map(|h| {
                h.record
                    .details
                    .as_deref()
                    .filter(|d| !d.trim().is_empty())
                    .map(details_start)
            })
        })
        .unwrap_or_default();
    let reference = |kind: &str| {
        ordered.iter().find_map(|h| {
            h.record
                .references
                .iter()
                .find(|r| r.kind == kind)
                .map(|r| r.url.clone())
        })
    };
    let uri = reference("ADVISORY")
        .or_else(|| reference("WEB"))
        .unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", ordered[0].record.id));
    // A computed score wins (the highest); else the most severe rating.
    let ratings: Vec<_> = ordered
        .iter()
        .map(|h| severity::rate(h.record, h.affected))
        .collect();
    let (severity, cvss3_score, cvss3_vector) = ratings
        .iter()
        .filter(|r| r.1.is_some())
        .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal))
        .or_else(|| {
            ratings
                .iter()
                .filter(|r| r.0 != Severity::Undefined)
                .min_by_key(|r| r.0)
        })
        .cloned()
        .unwrap_or((Severity::Undefined, None, None));
    // The version that fixes every folded record that names a fix.
    let fixed_version = hits
        .iter()
        .filter_map(|h| h.fixed.as_deref())
        .reduce(|a, b| {
            if scheme.compare(b, a) == Some(Ordering::Greater) {
                b
            } else {
                a
            }
        })
        .map(str::to_owned);
    Finding {
        name,
        ids,
        description,
        uri: Some(uri),
        severity,
        cvss3_score,
        cvss3_vector,
        package_name: package.found.name.clone(),
        package_version: package.found.version.clone(),
        ecosystem: ecosystem.to_owned(),
        fixed_version,
        layer: package.layer.clone(),
        path: package.path.clone(),
    }
}

/// Groups of hits that share an id or an alias (a union-find over the hits).
pub(super) fn fold<'h, 'a>(hits: &'h [Hit<'a>]) -> Vec<Vec<&'h Hit<'a>>> {
    let mut parent: Vec<usize> = (0..hits.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, hit) in hits.iter().enumerate() {
        for id in record_ids(hit.record) {
            match owner.get(id) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    owner.insert(id, i);
                }
            }
        }
    }
    let mut groups: Vec<Vec<&Hit<'a>>> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for (i, hit) in hits.iter().enumerate() {
        let r = root(&mut parent, i);
        let g = *group_of.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(hit);
    }
    groups
}
