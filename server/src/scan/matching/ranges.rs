//! Whether an OSV affected entry covers a version: its explicit `versions`
//! and its `ECOSYSTEM` and `SEMVER` ranges, evaluated as the OSV schema says,
//! in the ecosystem's own version order.

use crate::scan::osv::{Affected, Range};
use crate::scan::version::Scheme;
use std::cmp::Ordering;

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
pub(super) fn range_affects(scheme: Scheme, range: &Range, version: &str) -> bool {
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
