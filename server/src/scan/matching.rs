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

use super::osv::{Affected, Range, Record};
use super::severity;
use super::version::Scheme;
use super::{Finding, Package, PackageKind, Severity};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// How long a description taken from a record's details may be.
const DESCRIPTION_CHARS: usize = 300;

/// `version` compared with an event's version; `"0"` as `introduced` is
/// below every version.
fn at_or_above(scheme: Scheme, version: &str, event: &str, introduced: bool) -> Option<Ordering> {
    if introduced && event == "0" {
        return Some(Ordering::Greater);
    }
    scheme.compare(version, event)
}

/// Whether `version` is inside `range`: the state left by the last event,
/// in version order, that applies to it (an `introduced` or `fixed` at or
/// below it, a `last_affected` below it). Equal event versions keep their
/// order in the record, as a stable sort would. Events whose version does not
/// parse are ignored; `GIT` ranges never match.
fn range_affects(scheme: Scheme, range: &Range, version: &str) -> bool {
    let scheme = match range.kind.as_str() {
        "ECOSYSTEM" => scheme,
        "SEMVER" => Scheme::Semver,
        _ => return false,
    };
    // (the event's version, whether it is `introduced "0"`, whether it opens)
    let mut last: Option<(&str, bool, bool)> = None;
    for event in &range.events {
        let (at, introduced, applies) = if let Some(at) = &event.introduced {
            (
                at,
                true,
                at_or_above(scheme, version, at, true).is_some_and(Ordering::is_ge),
            )
        } else if let Some(at) = &event.fixed {
            (
                at,
                false,
                scheme.compare(version, at).is_some_and(Ordering::is_ge),
            )
        } else if let Some(at) = &event.last_affected {
            (
                at,
                false,
                scheme.compare(version, at) == Some(Ordering::Greater),
            )
        } else {
            continue;
        };
        if !applies {
            continue;
        }
        let zero = introduced && at == "0";
        let later = match last {
            None => true,
            Some((_, true, _)) => true,
            Some(_) if zero => false,
            Some((previous, false, _)) => scheme.compare(at, previous).is_some_and(Ordering::is_ge),
        };
        if later {
            last = Some((at, zero, introduced));
        }
    }
    last.is_some_and(|(_, _, opens)| opens)
}

/// Whether the affected entry `affected` covers `version` in `scheme`: an
/// explicit `versions` entry or any of its `ECOSYSTEM`/`SEMVER` ranges.
pub fn affects(scheme: Scheme, affected: &Affected, version: &str) -> bool {
    affected.versions.iter().any(|v| v == version)
        || affected
            .ranges
            .iter()
            .any(|range| range_affects(scheme, range, version))
}

/// The lowest `fixed` version above `version` among the ranges of
/// `affected` that cover it.
pub fn fixed_version(scheme: Scheme, affected: &Affected, version: &str) -> Option<String> {
    let mut lowest: Option<(&str, Scheme)> = None;
    for range in affected
        .ranges
        .iter()
        .filter(|r| range_affects(scheme, r, version))
    {
        let scheme = if range.kind == "SEMVER" {
            Scheme::Semver
        } else {
            scheme
        };
        for fixed in range.events.iter().filter_map(|e| e.fixed.as_deref()) {
            if scheme.compare(fixed, version) != Some(Ordering::Greater) {
                continue;
            }
            if lowest.is_none_or(|(low, s)| s.compare(fixed, low) == Some(Ordering::Less)) {
                lowest = Some((fixed, scheme));
            }
        }
    }
    lowest.map(|(v, _)| v.to_owned())
}

/// PEP 503's normalized project name: PyPI compares names this way.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
            continue;
        }
        if separator && !out.is_empty() {
            out.push('-');
        }
        separator = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A Go toolchain version (`go1.20.2`, `go1.21rc2`, `go1.22.1 X:boringcrypto`)
/// as OSV writes it (`1.20.2`, `1.21.0-rc.2`, `1.22.1`); a module version
/// without its `v`.
fn go_version(name: &str, version: &str) -> String {
    if name != "stdlib" {
        return version.strip_prefix('v').unwrap_or(version).to_owned();
    }
    let version = version.split_whitespace().next().unwrap_or_default();
    let version = version.strip_prefix("go").unwrap_or(version);
    match version.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => {
            let (core, pre) = version.split_at(i);
            let digits = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
            let core = if core.matches('.').count() == 1 {
                format!("{core}.0")
            } else {
                core.to_owned()
            };
            format!("{core}-{}.{}", &pre[..digits], &pre[digits..])
                .trim_end_matches('.')
                .to_owned()
        }
        None => version.to_owned(),
    }
}

/// The name and version a package's advisories are published under.
fn advisory_key(package: &Package) -> (&str, Cow<'_, str>) {
    let found = &package.found;
    match found.kind {
        PackageKind::Dpkg => (
            found.source_name.as_deref().unwrap_or(&found.name),
            Cow::Borrowed(found.source_version.as_deref().unwrap_or(&found.version)),
        ),
        PackageKind::Apk => (
            found.source_name.as_deref().unwrap_or(&found.name),
            Cow::Borrowed(&found.version),
        ),
        PackageKind::Go => (
            &found.name,
            Cow::Owned(go_version(&found.name, &found.version)),
        ),
        _ => (&found.name, Cow::Borrowed(&found.version)),
    }
}

/// Whether the record names the package `name` in `ecosystem`.
fn names(affected: &Affected, ecosystem: &str, name: &str) -> bool {
    affected.package.as_ref().is_some_and(|p| {
        p.ecosystem == ecosystem
            && if ecosystem == "PyPI" {
                p.name == name || pep503(&p.name) == pep503(name)
            } else {
                p.name == name
            }
    })
}

/// What matching needs of one record to decide whether it affects one
/// package: whether it was withdrawn, and its affected entries that name
/// the package.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entries {
    /// Whether the record was withdrawn (see [`withdrawn`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    /// Its affected entries that name the package.
    #[serde(default)]
    pub affected: Vec<Affected>,
}

impl Entries {
    /// What matching needs of `record` for the package `name` of
    /// `ecosystem` (PyPI names compared as PEP 503 says).
    pub fn of(record: &Record, ecosystem: &str, name: &str) -> Entries {
        Entries {
            withdrawn: withdrawn(record),
            affected: record
                .affected
                .iter()
                .filter(|a| names(a, ecosystem, name))
                .cloned()
                .collect(),
        }
    }
}

/// A record a lookup found for a package: what deciding whether it affects
/// the package needs, and the handle its whole record is fetched by when
/// it does.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The handle (the database's row id).
    pub record: i64,
    /// Its entries for the package.
    pub entries: Arc<Entries>,
}

/// Whether a record was withdrawn. Debian's converter writes the zero time
/// (`0001-01-01T00:00:00Z`) where nothing was withdrawn, so that is not one.
fn withdrawn(record: &Record) -> bool {
    record
        .withdrawn
        .as_deref()
        .is_some_and(|w| !w.trim().is_empty() && !w.starts_with("0001-01-01"))
}

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
fn bundled(group: &[&Hit<'_>], named: &HashSet<&str>) -> bool {
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
struct Hit<'a> {
    record: &'a Record,
    affected: &'a Affected,
    fixed: Option<String>,
}

/// The start of a record's details: its first paragraph of text (Markdown
/// heading lines left out), whitespace folded, cut at a word near
/// [`DESCRIPTION_CHARS`].
fn details_start(details: &str) -> String {
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
fn finding(package: &Package, ecosystem: &str, scheme: Scheme, hits: &[&Hit<'_>]) -> Finding {
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
fn fold<'h, 'a>(hits: &'h [Hit<'a>]) -> Vec<Vec<&'h Hit<'a>>> {
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
mod tests {
    use super::*;
    use crate::scan::osv::testdata::record;
    use crate::scan::Found;
    use std::cell::RefCell;

    fn package(
        kind: PackageKind,
        name: &str,
        version: &str,
        source: Option<(&str, &str)>,
        ecosystem: &str,
    ) -> Package {
        Package {
            found: Found {
                kind,
                name: name.into(),
                version: version.into(),
                source_name: source.map(|s| s.0.into()),
                source_version: source.map(|s| s.1.into()),
            },
            ecosystem: Some(ecosystem.into()),
            layer: "sha256:0000000000000000000000000000000000000000000000000000000000000001".into(),
            path: "var/lib/dpkg/status".into(),
        }
    }

    /// What a test checks of each finding: name, package, version, fix,
    /// severity.
    fn summary(found: &[Finding]) -> Vec<(&str, &str, &str, Option<&str>, Severity)> {
        found
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.package_name.as_str(),
                    f.package_version.as_str(),
                    f.fixed_version.as_deref(),
                    f.severity,
                )
            })
            .collect()
    }

    /// Matches `packages` against `records` the way the database is asked:
    /// by (ecosystem, name) as an affected entry spells them. Returns the
    /// findings and every lookup made.
    fn run(packages: &[Package], records: Vec<Record>) -> (Vec<Finding>, Vec<(String, String)>) {
        let records: Vec<Arc<Record>> = records.into_iter().map(Arc::new).collect();
        let calls = RefCell::new(Vec::new());
        let found = findings(packages, |ecosystem, name| {
            calls
                .borrow_mut()
                .push((ecosystem.to_owned(), name.to_owned()));
            records
                .iter()
                .filter(|r| {
                    r.affected.iter().any(|a| {
                        a.package
                            .as_ref()
                            .is_some_and(|p| p.ecosystem == ecosystem && p.name == name)
                    })
                })
                .cloned()
                .collect()
        });
        (found, calls.into_inner())
    }

    /// A Debian record in the shape osv.dev publishes: `id`, `upstream`, one
    /// affected `Debian:12` source package fixed in `fixed`.
    fn debian_record(id: &str, upstream: &[&str], fixed: &str) -> Record {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "upstream": upstream,
            "affected": [{
                "package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
            }]
        }))
        .unwrap()
    }

    /// A bundled advisory (DSA naming two CVEs) is not shown a second time
    /// when both CVEs have findings of their own, and does not merge them;
    /// one whose CVEs have no records of their own is still a finding.
    #[test]
    fn a_bundled_advisory_is_shown_through_its_cves() {
        let openssl = [package(
            PackageKind::Dpkg,
            "libssl3",
            "3.0.9-1",
            Some(("openssl", "3.0.9-1")),
            "Debian:12",
        )];
        let records = vec![
            debian_record(
                "DSA-5532-1",
                &["CVE-2023-5363", "CVE-2023-5678"],
                "3.0.11-1~deb12u2",
            ),
            debian_record(
                "DEBIAN-CVE-2023-5363",
                &["CVE-2023-5363"],
                "3.0.11-1~deb12u2",
            ),
            debian_record(
                "DEBIAN-CVE-2023-5678",
                &["CVE-2023-5678"],
                "3.0.13-1~deb12u1",
            ),
        ];
        let (found, _) = run(&openssl, records);
        let names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["CVE-2023-5363", "CVE-2023-5678"]);
        assert_eq!(found[0].ids, ["CVE-2023-5363", "DEBIAN-CVE-2023-5363"]);

        let only_the_advisory = vec![debian_record(
            "DSA-5532-1",
            &["CVE-2023-5363", "CVE-2023-5678"],
            "3.0.11-1~deb12u2",
        )];
        let (found, _) = run(&openssl, only_the_advisory);
        let names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["DSA-5532-1"]);
    }

    #[test]
    fn a_pypi_package_in_range() {
        let packages = [package(
            PackageKind::Python,
            "requests",
            "2.25.1",
            None,
            "PyPI",
        )];
        let (found, _) = run(&packages, vec![record("GHSA-j8r2-6x86-q33q.json")]);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.name, "CVE-2023-32681");
        assert_eq!(f.ids, ["CVE-2023-32681", "GHSA-j8r2-6x86-q33q"]);
        assert_eq!(
            f.description,
            "Unintended leak of Proxy-Authorization header in requests"
        );
        // The first ADVISORY reference, though a WEB one comes first.
        assert_eq!(
            f.uri.as_deref(),
            Some("https://nvd.nist.gov/vuln/detail/CVE-2023-32681")
        );
        assert_eq!((f.severity, f.cvss3_score), (Severity::Medium, Some(6.1)));
        assert_eq!(f.fixed_version.as_deref(), Some("2.31.0"));
        assert_eq!(
            (f.package_name.as_str(), f.package_version.as_str()),
            ("requests", "2.25.1")
        );
        assert_eq!(f.ecosystem, "PyPI");
        assert_eq!(f.path, "var/lib/dpkg/status");
    }

    /// The record's fix (2.31.0) is below what is installed, equal to it, or
    /// the installed version predates the flaw (introduced 2.3.0).
    #[test]
    fn versions_outside_the_range_do_not_match() {
        for version in ["2.32.3", "2.31.0", "2.2.1"] {
            let packages = [package(
                PackageKind::Python,
                "requests",
                version,
                None,
                "PyPI",
            )];
            let (found, _) = run(&packages, vec![record("GHSA-j8r2-6x86-q33q.json")]);
            assert!(found.is_empty(), "requests {version}: {found:#?}");
        }
    }

    /// `last_affected` is inclusive; a record with no fix names none.
    #[test]
    fn last_affected_is_inclusive() {
        let packages = [package(PackageKind::Python, "py", "1.11.0", None, "PyPI")];
        let (found, _) = run(&packages, vec![record("GHSA-w596-4wvx-j9j6.json")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "CVE-2022-42969");
        assert_eq!(found[0].fixed_version, None);
        let packages = [package(PackageKind::Python, "py", "1.11.1", None, "PyPI")];
        assert!(run(&packages, vec![record("GHSA-w596-4wvx-j9j6.json")])
            .0
            .is_empty());
    }

    /// PyPI compares names after PEP 503 normalization.
    #[test]
    fn pypi_names_are_normalized() {
        let mut r = record("GHSA-j8r2-6x86-q33q.json");
        r.affected[0].package.as_mut().expect("package").name = "Requests".into();
        let packages = [package(
            PackageKind::Python,
            "requests",
            "2.25.1",
            None,
            "PyPI",
        )];
        let records: Vec<Arc<Record>> = vec![Arc::new(r)];
        let found = findings(&packages, |_, _| records.clone());
        assert_eq!(found.len(), 1);
    }

    /// A withdrawn record matches nothing, though 3.2 is in its range and its
    /// versions list; the same record not withdrawn would match.
    #[test]
    fn withdrawn_records_are_ignored() {
        let packages = [package(
            PackageKind::Python,
            "cryptography",
            "3.2",
            None,
            "PyPI",
        )];
        assert!(run(&packages, vec![record("PYSEC-2021-63.json")])
            .0
            .is_empty());
        let mut live = record("PYSEC-2021-63.json");
        live.withdrawn = None;
        assert_eq!(run(&packages, vec![live.clone()]).0.len(), 1);
        // Debian's converter writes the zero time where nothing was withdrawn.
        live.withdrawn = Some("0001-01-01T00:00:00Z".into());
        assert_eq!(run(&packages, vec![live]).0.len(), 1);
    }

    /// Go: the toolchain as `stdlib` (`go1.20.2` read as `1.20.2`), modules
    /// without their `v`; GO-2023-2102 and GHSA-4374-p667-p6c8 share their
    /// CVE and fold into one finding named by it; each distinct package is
    /// looked up once.
    #[test]
    fn go_modules_the_toolchain_and_folded_aliases() {
        let packages = [
            package(PackageKind::Go, "stdlib", "go1.20.2", None, "Go"),
            package(PackageKind::Go, "golang.org/x/net", "v0.10.0", None, "Go"),
            package(PackageKind::Go, "stdlib", "go1.19.8", None, "Go"),
        ];
        let (found, calls) = run(
            &packages,
            vec![
                record("GO-2023-1704.json"),
                record("GO-2023-2102.json"),
                record("GHSA-4374-p667-p6c8.json"),
            ],
        );
        assert_eq!(
            summary(&found),
            [
                (
                    "CVE-2023-39325",
                    "golang.org/x/net",
                    "v0.10.0",
                    Some("0.17.0"),
                    Severity::High
                ),
                (
                    "CVE-2023-24534",
                    "stdlib",
                    "go1.20.2",
                    Some("1.20.3"),
                    Severity::Undefined
                ),
                (
                    "CVE-2023-39325",
                    "stdlib",
                    "go1.19.8",
                    Some("1.20.10"),
                    Severity::Undefined
                ),
                (
                    "CVE-2023-39325",
                    "stdlib",
                    "go1.20.2",
                    Some("1.20.10"),
                    Severity::Undefined
                ),
            ]
        );
        let net = &found[0];
        assert_eq!(
            net.ids,
            ["CVE-2023-39325", "GHSA-4374-p667-p6c8", "GO-2023-2102"]
        );
        assert_eq!(net.cvss3_score, Some(7.5));
        assert_eq!(
            net.uri.as_deref(),
            Some("https://nvd.nist.gov/vuln/detail/CVE-2023-39325")
        );
        assert_eq!(
            net.description,
            "HTTP/2 rapid reset can cause excessive work in net/http"
        );
        // 1.19.8 is GO-2023-1704's fix: not affected.
        assert!(!found
            .iter()
            .any(|f| f.name == "CVE-2023-24534" && f.package_version == "go1.19.8"));
        assert_eq!(
            calls,
            [
                ("Go".to_owned(), "stdlib".to_owned()),
                ("Go".to_owned(), "golang.org/x/net".to_owned())
            ]
        );
    }

    /// Debian: looked up by the source package and version; a record for
    /// another release never matches.
    #[test]
    fn debian_source_packages_and_releases() {
        let nginx = |version: &str, ecosystem: &str| {
            package(
                PackageKind::Dpkg,
                "nginx-common",
                version,
                Some(("nginx", version)),
                ecosystem,
            )
        };
        let (found, calls) = run(
            &[nginx("1.2.1-2.2+wheezy2", "Debian:7")],
            vec![record("DSA-3029-1.json")],
        );
        assert_eq!(calls, [("Debian:7".to_owned(), "nginx".to_owned())]);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.name, "CVE-2014-3616");
        assert_eq!(f.ids, ["CVE-2014-3616", "DSA-3029-1"]);
        assert_eq!(f.package_name, "nginx-common");
        assert_eq!(f.fixed_version.as_deref(), Some("1.2.1-2.2+wheezy3"));
        assert_eq!(f.description, "nginx - security update");
        assert_eq!(
            f.uri.as_deref(),
            Some("https://osv.dev/vulnerability/DSA-3029-1")
        );
        // The same version on Debian 12: the wheezy advisory does not apply.
        assert!(run(
            &[nginx("1.2.1-2.2+wheezy2", "Debian:12")],
            vec![record("DSA-3029-1.json")]
        )
        .0
        .is_empty());
        // Fixed.
        assert!(run(
            &[nginx("1.2.1-2.2+wheezy3", "Debian:7")],
            vec![record("DSA-3029-1.json")]
        )
        .0
        .is_empty());
    }

    /// Ubuntu: an explicit versions list, the CVE known only from the
    /// record's id, Ubuntu's own priority; another release does not match.
    #[test]
    fn ubuntu_records() {
        let linux = |ecosystem: &str| {
            package(
                PackageKind::Dpkg,
                "linux-image-3.13.0-100-generic",
                "3.13.0-100.147",
                Some(("linux", "3.13.0-100.147")),
                ecosystem,
            )
        };
        let (found, _) = run(
            &[linux("Ubuntu:Pro:14.04:LTS")],
            vec![record("UBUNTU-CVE-2025-38094.json")],
        );
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!(f.name, "CVE-2025-38094");
        assert_eq!(f.ids, ["CVE-2025-38094", "UBUNTU-CVE-2025-38094"]);
        assert_eq!((f.severity, f.cvss3_score), (Severity::Medium, None));
        assert_eq!(f.fixed_version, None);
        assert_eq!(
            f.uri.as_deref(),
            Some("https://osv.dev/vulnerability/UBUNTU-CVE-2025-38094")
        );
        assert!(f
            .description
            .starts_with("In the Linux kernel, the following vulnerability has been resolved:"));
        assert!(
            f.description.ends_with('…') && f.description.chars().count() <= DESCRIPTION_CHARS + 1
        );
        assert!(run(
            &[linux("Ubuntu:14.04:LTS")],
            vec![record("UBUNTU-CVE-2025-38094.json")]
        )
        .0
        .is_empty());
    }

    /// The packages of a real apk database, on `ecosystem`.
    fn apk_installed(text: &str, ecosystem: &str) -> Vec<Package> {
        crate::scan::packages::apk::parse(text)
            .unwrap()
            .into_iter()
            .map(|found| Package {
                found,
                ecosystem: Some(ecosystem.into()),
                layer: "sha256:0000000000000000000000000000000000000000000000000000000000000001"
                    .into(),
                path: "lib/apk/db/installed".into(),
            })
            .collect()
    }

    /// Alpine: real installed databases against Alpine's real record for
    /// CVE-2025-26519 (musl), which has one affected entry per release.
    /// Packages are looked up by their origin, and only the entry of their
    /// own release decides.
    #[test]
    fn alpine_packages_by_origin_and_release() {
        let alpine_318 = include_str!("packages/testdata/alpine-3.18-aarch64.installed");
        let cve = || vec![record("ALPINE-CVE-2025-26519.json")];
        let (found, calls) = run(&apk_installed(alpine_318, "Alpine:v3.18"), cve());
        // musl and musl-utils (origin musl) 1.2.4-r1: v3.18's entry is
        // fixed in 1.2.4-r3; CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H
        // is 7.0, HIGH.
        let high = |package| {
            let fix = Some("1.2.4-r3");
            ("CVE-2025-26519", package, "1.2.4-r1", fix, Severity::High)
        };
        assert_eq!(summary(&found), [high("musl"), high("musl-utils")]);
        let f = &found[0];
        assert_eq!(f.ids, ["ALPINE-CVE-2025-26519", "CVE-2025-26519"]);
        assert_eq!(f.ecosystem, "Alpine:v3.18");
        assert_eq!(f.cvss3_score, Some(7.0));
        assert_eq!(
            f.uri.as_deref(),
            Some("https://security.alpinelinux.org/vuln/CVE-2025-26519")
        );
        assert!(f.description.starts_with("musl libc 0.9.13 through 1.2.5"));
        // Looked up by origin: musl once, never musl-utils.
        assert!(calls.contains(&("Alpine:v3.18".to_owned(), "musl".to_owned())));
        assert!(!calls.iter().any(|(_, name)| name == "musl-utils"));

        // v3.16's entry was fixed in 1.2.3-r4, below the installed 1.2.4-r1.
        assert!(run(&apk_installed(alpine_318, "Alpine:v3.16"), cve())
            .0
            .is_empty());

        // A real Alpine 3.19 database: musl 1.2.4_git20230717-r4, below
        // v3.19's fix 1.2.4_git20230717-r5 (apk orders `_git` after the
        // release it follows)...
        let alpine_319 = include_str!("../../../.ci/scan-fixtures/apk-installed");
        let (found, _) = run(&apk_installed(alpine_319, "Alpine:v3.19"), cve());
        let (installed, fix) = ("1.2.4_git20230717-r4", Some("1.2.4_git20230717-r5"));
        assert_eq!(
            summary(&found),
            [("CVE-2025-26519", "musl", installed, fix, Severity::High)]
        );
        // ...and above v3.18's fix 1.2.4-r3: v3.18's entry does not match it.
        assert!(run(&apk_installed(alpine_319, "Alpine:v3.18"), cve())
            .0
            .is_empty());
    }

    /// Maven's order, and one package in several affected entries: the
    /// entry that covers the version gives the fix.
    #[test]
    fn maven_backport_ranges() {
        let log4j = "org.apache.logging.log4j:log4j-core";
        for (version, want) in [
            ("2.14.1", Some("2.15.0")),
            ("2.12.1", Some("2.12.2")),
            ("2.0-beta9", Some("2.3.1")),
            ("2.3", Some("2.3.1")),
            ("2.3.1", None),
            ("2.12.2", None),
            ("2.15.0", None),
            ("2.17.1", None),
        ] {
            let packages = [package(PackageKind::Maven, log4j, version, None, "Maven")];
            let (found, _) = run(&packages, vec![record("GHSA-jfh8-c2jp-5v3q.json")]);
            match want {
                None => assert!(found.is_empty(), "log4j-core {version}: {found:#?}"),
                Some(fix) => {
                    assert_eq!(found.len(), 1, "log4j-core {version}: {found:#?}");
                    assert_eq!(
                        found[0].fixed_version.as_deref(),
                        Some(fix),
                        "log4j-core {version}"
                    );
                    assert_eq!(found[0].name, "CVE-2021-44228");
                    assert_eq!(
                        (found[0].severity, found[0].cvss3_score),
                        (Severity::Critical, Some(10.0))
                    );
                }
            }
        }
    }

    /// Without a summary, the description is the details' first paragraph
    /// of text, not a Markdown heading.
    #[test]
    fn description_from_details() {
        let mut r = record("GHSA-jfh8-c2jp-5v3q.json");
        r.summary = None;
        let packages = [package(
            PackageKind::Maven,
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
            None,
            "Maven",
        )];
        let (found, _) = run(&packages, vec![r]);
        assert!(
            found[0].description.starts_with(
                "Log4j versions prior to 2.16.0 are subject to a remote code execution vulnerability via the ldap JNDI parser. As per"
            ),
            "{}",
            found[0].description
        );
        assert!(found[0].description.ends_with('…'));
        let (found, _) = run(
            &[package(
                PackageKind::Dpkg,
                "nginx",
                "1.2.1-2.2",
                Some(("nginx", "1.2.1-2.2")),
                "Debian:7",
            )],
            vec![{
                let mut dsa = record("DSA-3029-1.json");
                dsa.summary = None;
                dsa
            }],
        );
        assert_eq!(
            found[0].description,
            "Antoine Delignat-Lavaud and Karthikeyan Bhargavan discovered that it was possible to reuse cached SSL \
             sessions in unrelated contexts, allowing virtual host confusion attacks in some configurations by an \
             attacker in a privileged network position."
        );
    }

    fn affected(json: serde_json::Value) -> Affected {
        serde_json::from_value(json).expect("affected")
    }

    #[test]
    fn range_evaluation() {
        // Events given out of order, two introduced/fixed pairs.
        let a = affected(
            serde_json::json!({"ranges": [{"type": "ECOSYSTEM", "events": [
                {"fixed": "2.0.5"}, {"introduced": "2.0.0"}, {"fixed": "1.4.2"}, {"introduced": "0"}
            ]}]}),
        );
        for (version, want) in [
            ("1.0", true),
            ("1.4.2", false),
            ("1.9", false),
            ("2.0.0", true),
            ("2.0.5", false),
        ] {
            assert_eq!(affects(Scheme::Pep440, &a, version), want, "{version}");
        }
        assert_eq!(
            fixed_version(Scheme::Pep440, &a, "1.0").as_deref(),
            Some("1.4.2")
        );
        assert_eq!(
            fixed_version(Scheme::Pep440, &a, "2.0.1").as_deref(),
            Some("2.0.5")
        );
        // GIT ranges never match; a version that does not parse matches only
        // the explicit list.
        let a = affected(serde_json::json!({
            "ranges": [{"type": "GIT", "repo": "https://example.org/x", "events": [{"introduced": "0"}]}],
            "versions": ["not-a-version"]
        }));
        assert!(!affects(Scheme::Pep440, &a, "1.0"));
        assert!(affects(Scheme::Pep440, &a, "not-a-version"));
        // Several ranges are OR'ed; SEMVER ranges use SemVer whatever the
        // ecosystem.
        let a = affected(serde_json::json!({"ranges": [
            {"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.2.0"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "3.0"}, {"last_affected": "3.1"}]}
        ]}));
        for (version, want) in [
            ("1.1.0", true),
            ("1.2.0", false),
            ("3.1", true),
            ("3.1.1", false),
        ] {
            assert_eq!(affects(Scheme::Pep440, &a, version), want, "{version}");
        }
    }

    #[test]
    fn go_toolchain_versions() {
        assert_eq!(go_version("stdlib", "go1.20.2"), "1.20.2");
        assert_eq!(go_version("stdlib", "go1.21rc2"), "1.21.0-rc.2");
        assert_eq!(go_version("stdlib", "go1.22.1 X:boringcrypto"), "1.22.1");
        assert_eq!(go_version("golang.org/x/net", "v0.10.0"), "0.10.0");
    }
}
