//! ECR's severity of a finding, from an OSV record.
//!
//! A CVSS v3 vector (the affected package's, else the record's) is scored
//! with RustSec's `cvss` crate and mapped as ECR maps scores: 9.0 and above
//! CRITICAL, 7.0 HIGH, 4.0 MEDIUM, above 0 LOW, 0 INFORMATIONAL. Without one,
//! a CVSS v4 vector is scored the same way. Without either, the rating the
//! distribution or database published is used: Ubuntu's priority (a
//! `severity` entry of type `Ubuntu`), Debian's urgency
//! (`ecosystem_specific.urgency`), GitHub's and others' `database_specific`
//! severity word. Otherwise the finding's severity is UNDEFINED.

use super::osv::{Affected, Record, SeverityScore};
use super::Severity;
use cvss::Cvss;
use serde_json::Value;
use std::str::FromStr;

/// ECR's severity of a CVSS base score.
pub fn from_score(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Informational
    }
}

/// A rating word as distributions and databases publish it (Ubuntu's
/// priorities, Debian's urgencies, GitHub's and Red Hat's severities).
fn from_word(word: &str) -> Option<Severity> {
    // Debian marks urgencies it has not confirmed with trailing `*`s.
    let word = word.trim().trim_end_matches('*').to_ascii_lowercase();
    Some(match word.as_str() {
        "critical" => Severity::Critical,
        "high" | "important" => Severity::High,
        "medium" | "moderate" => Severity::Medium,
        "low" => Severity::Low,
        "negligible" | "unimportant" | "none" | "informational" => Severity::Informational,
        "not yet assigned" | "untriaged" | "unknown" | "end-of-life" => Severity::Undefined,
        _ => return None,
    })
}

/// The first vector of `kind` (`CVSS_V3`, `CVSS_V4`) that parses, the
/// affected package's own before the record's.
fn vector<'a>(
    record: &'a Record,
    affected: &'a Affected,
    kind: &str,
) -> Option<(&'a SeverityScore, Cvss)> {
    affected
        .severity
        .iter()
        .chain(&record.severity)
        .filter(|s| s.kind == kind)
        .find_map(|s| Cvss::from_str(s.score.trim()).ok().map(|cvss| (s, cvss)))
}

/// A `severity` word inside a `database_specific` or `ecosystem_specific`
/// object.
fn word_in(value: Option<&Value>, key: &str) -> Option<Severity> {
    value?.get(key)?.as_str().and_then(from_word)
}

/// The finding's severity, with the CVSS v3 base score and vector when a v3
/// vector decided it.
pub fn rate(record: &Record, affected: &Affected) -> (Severity, Option<f64>, Option<String>) {
    if let Some((entry, cvss)) = vector(record, affected, "CVSS_V3") {
        let score = cvss.score();
        return (
            from_score(score),
            Some(score),
            Some(entry.score.trim().to_owned()),
        );
    }
    if let Some((_, cvss)) = vector(record, affected, "CVSS_V4") {
        return (from_score(cvss.score()), None, None);
    }
    let published = affected
        .severity
        .iter()
        .chain(&record.severity)
        .filter(|s| s.kind == "Ubuntu")
        .find_map(|s| from_word(&s.score))
        .or_else(|| word_in(affected.ecosystem_specific.as_ref(), "urgency"))
        .or_else(|| word_in(affected.ecosystem_specific.as_ref(), "severity"))
        .or_else(|| word_in(affected.database_specific.as_ref(), "severity"))
        .or_else(|| word_in(record.database_specific.as_ref(), "severity"));
    (published.unwrap_or(Severity::Undefined), None, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::osv::testdata::record;

    fn rate_first(file: &str) -> (Severity, Option<f64>, Option<String>) {
        let record = record(file);
        rate(&record, &record.affected[0])
    }

    #[test]
    fn ecr_score_bands() {
        for (score, want) in [
            (10.0, Severity::Critical),
            (9.0, Severity::Critical),
            (8.9, Severity::High),
            (7.0, Severity::High),
            (6.9, Severity::Medium),
            (4.0, Severity::Medium),
            (3.9, Severity::Low),
            (0.1, Severity::Low),
            (0.0, Severity::Informational),
        ] {
            assert_eq!(from_score(score), want, "{score}");
        }
    }

    /// GitHub's record carries a CVSS 3.1 vector (6.1) and its own MODERATE:
    /// the computed score decides.
    #[test]
    fn a_cvss_v3_vector_is_scored() {
        let (severity, score, vector) = rate_first("GHSA-j8r2-6x86-q33q.json");
        assert_eq!(severity, Severity::Medium);
        assert_eq!(score, Some(6.1));
        assert_eq!(
            vector.as_deref(),
            Some("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N")
        );
        let (severity, score, _) = rate_first("GHSA-w596-4wvx-j9j6.json");
        assert_eq!((severity, score), (Severity::Medium, Some(5.3)));
    }

    /// Ubuntu rates by priority and publishes no vector here.
    #[test]
    fn ubuntus_priority_without_a_vector() {
        assert_eq!(
            rate_first("UBUNTU-CVE-2025-38094.json"),
            (Severity::Medium, None, None)
        );
    }

    /// Go's database publishes no severity at all.
    #[test]
    fn no_rating_anywhere_is_undefined() {
        assert_eq!(
            rate_first("GO-2023-1704.json"),
            (Severity::Undefined, None, None)
        );
    }

    /// Without a vector, GitHub's own word is used (MODERATE is ECR's MEDIUM).
    #[test]
    fn githubs_word_when_there_is_no_vector() {
        let mut record = record("GHSA-j8r2-6x86-q33q.json");
        record.severity.clear();
        assert_eq!(
            rate(&record, &record.affected[0]),
            (Severity::Medium, None, None)
        );
    }

    /// Debian's urgency, in the spellings the tracker uses.
    ///
    /// A modified record, because no real one can serve: a published record
    /// carries one urgency per affected entry, and this test needs each of
    /// the tracker's spellings; none of the real Debian records in
    /// `testdata/osv/` carries `ecosystem_specific.urgency` at all (DSA
    /// records do not). So the parsed copy of the real DSA-3029-1 gets, on
    /// its one affected entry, `ecosystem_specific` = `{"urgency": …}` and
    /// nothing else is changed; the file on disk stays as published.
    #[test]
    fn debians_urgency() {
        let mut record = record("DSA-3029-1.json");
        for (urgency, want) in [
            ("unimportant", Severity::Informational),
            ("low", Severity::Low),
            ("medium**", Severity::Medium),
            ("high", Severity::High),
            ("not yet assigned", Severity::Undefined),
        ] {
            record.affected[0].ecosystem_specific = Some(serde_json::json!({ "urgency": urgency }));
            assert_eq!(rate(&record, &record.affected[0]).0, want, "{urgency}");
        }
    }

    /// A CVSS v4 vector is scored when there is no v3 one; its score is not
    /// reported as a v3 score.
    #[test]
    fn a_cvss_v4_vector_is_scored_too() {
        let mut record = record("GO-2023-1704.json");
        record.severity = vec![SeverityScore {
            kind: "CVSS_V4".into(),
            score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N".into(),
        }];
        assert_eq!(
            rate(&record, &record.affected[0]),
            (Severity::High, None, None)
        );
    }

    /// A vector that does not parse is passed over, not trusted.
    #[test]
    fn a_broken_vector_falls_back() {
        let mut record = record("GHSA-j8r2-6x86-q33q.json");
        record.severity[0].score = "CVSS:3.1/AV:N/nonsense".into();
        assert_eq!(
            rate(&record, &record.affected[0]),
            (Severity::Medium, None, None)
        );
    }
}
