//! Every error [`parse`] reports: each names the rule and the field.

use super::*;
use LifecycleErrorKind::{Invalid, Json, Length, Shape, Unsupported};

/// Pads a policy with trailing spaces to ECR's 100-character minimum, so that
/// short test policies fail for the reason under test only.
fn padded(text: &str) -> String {
    format!("{text:<width$}", width = MIN_TEXT_CHARS)
}

/// A rule with priority `p`, the given `selection` members and an expire
/// action, as JSON.
fn rule(p: u32, selection: &str) -> String {
    format!(r#"{{"rulePriority":{p},"selection":{{{selection}}},"action":{{"type":"expire"}}}}"#)
}

fn policy(rules: &[String]) -> String {
    padded(&format!(r#"{{"rules":[{}]}}"#, rules.join(",")))
}

const COUNT: &str = r#""countType":"imageCountMoreThan","countNumber":5"#;
const AGE: &str = r#""countType":"sinceImagePushed","countUnit":"days","countNumber":7"#;

fn tagged(list: &str) -> String {
    format!(r#""tagStatus":"tagged","tagPrefixList":[{list}],{COUNT}"#)
}

fn any() -> String {
    format!(r#""tagStatus":"any",{COUNT}"#)
}

struct Case {
    name: &'static str,
    text: String,
    kind: LifecycleErrorKind,
    priority: Option<u32>,
    index: Option<usize>,
    field: Option<&'static str>,
    /// A piece of the message.
    says: &'static str,
}

fn case(
    name: &'static str,
    text: String,
    kind: LifecycleErrorKind,
    priority: Option<u32>,
    field: Option<&'static str>,
    says: &'static str,
) -> Case {
    Case {
        name,
        text,
        kind,
        priority,
        index: None,
        field,
        says,
    }
}

fn one(selection: &str) -> String {
    policy(&[rule(3, selection)])
}

fn with_action(selection: &str, action: &str) -> String {
    padded(&format!(
        r#"{{"rules":[{{"rulePriority":3,"selection":{{{selection}}},"action":{{{action}}}}}]}}"#
    ))
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let p3 = Some(3);
    let mut cases = vec![
        case("too short", r#"{"rules":[]}"#.into(), Length, None, None, "between 100 and 30720"),
        case("too long", format!("{:<30721}", r#"{"rules":[]}"#), Length, None, None, "30721 characters"),
        case("not json", padded("{\"rules\":"), Json, None, None, "not valid JSON"),
        case("not an object", padded("[]"), Shape, None, None, "must be a JSON object"),
        case("unknown top-level field", padded(r#"{"rules":[],"version":1}"#), Shape, None, Some("version"), "unknown field"),
        case("no rules field", padded("{}"), Shape, None, Some("rules"), "is required"),
        case("rules not an array", padded(r#"{"rules":{}}"#), Shape, None, Some("rules"), "must be an array"),
        case("no rules", policy(&[]), Invalid, None, Some("rules"), "at least one rule"),
        case("rule priority missing", padded(&format!(r#"{{"rules":[{{"selection":{{{}}},"action":{{"type":"expire"}}}}]}}"#, any())), Shape, None, Some("rulePriority"), "is required"),
        case("rule priority zero", one(&any()).replace(":3,", ":0,"), Invalid, None, Some("rulePriority"), "positive integer"),
        case("rule priority negative", one(&any()).replace(":3,", ":-2,"), Invalid, None, Some("rulePriority"), "positive integer"),
        case("rule priority too large", one(&any()).replace(":3,", ":2147483648,"), Invalid, None, Some("rulePriority"), "positive integer"),
        case("rule priority huge", one(&any()).replace(":3,", ":18446744073709551615,"), Invalid, None, Some("rulePriority"), "positive integer"),
        case("rule priority fraction", one(&any()).replace(":3,", ":1.5,"), Shape, None, Some("rulePriority"), "must be an integer"),
        case("rule priority string", one(&any()).replace(":3,", ":\"3\","), Shape, None, Some("rulePriority"), "must be an integer"),
        case("unknown rule field", one(&any()).replace("\"selection\"", "\"priority\":1,\"selection\""), Shape, p3, Some("priority"), "unknown field"),
        case("description not a string", one(&any()).replace("\"selection\"", "\"description\":7,\"selection\""), Shape, p3, Some("description"), "must be a string"),
        case("selection missing", padded(r#"{"rules":[{"rulePriority":3,"action":{"type":"expire"}}]}"#), Shape, p3, Some("selection"), "is required"),
        case("action missing", padded(&format!(r#"{{"rules":[{{"rulePriority":3,"selection":{{{}}}}}]}}"#, any())), Shape, p3, Some("action"), "is required"),
        case("unknown selection field", one(&format!(r#"{},"tagList":["a"]"#, any())), Shape, p3, Some("selection.tagList"), "unknown field"),
        case("tag status missing", one(COUNT), Shape, p3, Some("selection.tagStatus"), "is required"),
        case("tag status unknown", one(&format!(r#""tagStatus":"TAGGED",{COUNT}"#)), Shape, p3, Some("selection.tagStatus"), "\"TAGGED\" is not allowed"),
        case("count type missing", one(r#""tagStatus":"any","countNumber":5"#), Shape, p3, Some("selection.countType"), "is required"),
        case("count type unknown", one(r#""tagStatus":"any","countType":"imageCountLessThan","countNumber":5"#), Shape, p3, Some("selection.countType"), "not allowed"),
        case("count number missing", one(r#""tagStatus":"any","countType":"imageCountMoreThan""#), Shape, p3, Some("selection.countNumber"), "is required"),
        case("count number zero", one(r#""tagStatus":"any","countType":"imageCountMoreThan","countNumber":0"#), Invalid, p3, Some("selection.countNumber"), "positive integer"),
        case("count number negative", one(r#""tagStatus":"any","countType":"imageCountMoreThan","countNumber":-1"#), Invalid, p3, Some("selection.countNumber"), "positive integer"),
        case("count unit not days", one(r#""tagStatus":"any","countType":"sinceImagePushed","countUnit":"hours","countNumber":5"#), Shape, p3, Some("selection.countUnit"), "\"hours\" is not allowed"),
        case("count unit with image count", one(&format!(r#""tagStatus":"any","countUnit":"days",{COUNT}"#)), Invalid, p3, Some("selection.countUnit"), "only allowed with countType sinceImagePushed"),
        case("count unit missing for since", one(r#""tagStatus":"any","countType":"sinceImagePushed","countNumber":5"#), Invalid, p3, Some("selection.countUnit"), "is required"),
        case("storage class unknown", one(&format!(r#""tagStatus":"any","storageClass":"glacier",{COUNT}"#)), Shape, p3, Some("selection.storageClass"), "not allowed"),
        case("tag list not an array", one(&format!(r#""tagStatus":"tagged","tagPrefixList":"prod",{COUNT}"#)), Shape, p3, Some("selection.tagPrefixList"), "array of strings"),
        case("tag list of numbers", one(&format!(r#""tagStatus":"tagged","tagPatternList":[1],{COUNT}"#)), Shape, p3, Some("selection.tagPatternList"), "array of strings"),
        case("tag list null", one(&format!(r#""tagStatus":"tagged","tagPatternList":null,{COUNT}"#)), Shape, p3, Some("selection.tagPatternList"), "not null"),
        case("tagged without a list", one(&format!(r#""tagStatus":"tagged",{COUNT}"#)), Invalid, p3, Some("selection.tagStatus"), "needs a tagPatternList or a tagPrefixList"),
        case("tagged with both lists", one(&format!(r#""tagStatus":"tagged","tagPatternList":["a*"],"tagPrefixList":["a"],{COUNT}"#)), Invalid, p3, Some("selection.tagPrefixList"), "not both"),
        case("untagged with a prefix list", one(&format!(r#""tagStatus":"untagged","tagPrefixList":["a"],{COUNT}"#)), Invalid, p3, Some("selection.tagPrefixList"), "only allowed when tagStatus is \"tagged\""),
        case("any with a pattern list", one(&format!(r#""tagStatus":"any","tagPatternList":["a*"],{COUNT}"#)), Invalid, p3, Some("selection.tagPatternList"), "only allowed when tagStatus is \"tagged\""),
        case("empty tag list", one(&tagged("")), Invalid, p3, Some("selection.tagPrefixList"), "must not be empty"),
        case("empty tag entry", one(&tagged(r#""""#)), Invalid, p3, Some("selection.tagPrefixList"), "empty strings"),
        case("five wildcards", one(&format!(r#""tagStatus":"tagged","tagPatternList":["test*1*2*3*4*5*6"],{COUNT}"#)), Invalid, p3, Some("selection.tagPatternList"), "at most 4"),
        case("unknown action field", with_action(&any(), r#""type":"expire","when":"now""#), Shape, p3, Some("action.when"), "unknown field"),
        case("action type missing", with_action(&any(), ""), Shape, p3, Some("action.type"), "is required"),
        case("action type unknown", with_action(&any(), r#""type":"delete""#), Shape, p3, Some("action.type"), "\"delete\" is not allowed"),
        case("target storage class null", with_action(&any(), r#""type":"expire","targetStorageClass":null"#), Shape, p3, Some("action.targetStorageClass"), "must be a string, not null"),
        case("target storage class with expire", with_action(&any(), r#""type":"expire","targetStorageClass":"archive""#), Invalid, p3, Some("action.targetStorageClass"), "only allowed with the transition action"),
        case("transition without target", with_action(&any(), r#""type":"transition""#), Invalid, p3, Some("action.targetStorageClass"), "is required"),
        case("transition to standard", with_action(&any(), r#""type":"transition","targetStorageClass":"standard""#), Invalid, p3, Some("action.targetStorageClass"), "only supported value is \"archive\""),
        case("pulled with expire", one(r#""tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":9"#), Invalid, p3, Some("action.type"), "only be used with the transition action"),
        case("transitioned without archive", one(r#""tagStatus":"any","countType":"sinceImageTransitioned","countUnit":"days","countNumber":99"#), Invalid, p3, Some("selection.storageClass"), "needs storageClass \"archive\""),
        case("transitioned with transition", with_action(r#""tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":99"#, r#""type":"transition","targetStorageClass":"archive""#), Invalid, p3, Some("action.type"), "only be used with the expire action"),
        case("transitioned under 90 days", one(r#""tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":30"#), Invalid, p3, Some("selection.countNumber"), "at least 90 days"),
        case("archive class with image count", one(&format!(r#""tagStatus":"any","storageClass":"archive",{COUNT}"#)), Invalid, p3, Some("selection.storageClass"), "only storage class is \"standard\""),
        case("transition action", with_action(&format!(r#""tagStatus":"tagged","tagPatternList":["prod*"],{AGE}"#), r#""type":"transition","targetStorageClass":"archive""#), Unsupported, p3, Some("action.type"), "no archive tier yet"),
        case("archive class", one(r#""tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90"#), Unsupported, p3, Some("selection.countType"), "no archive tier yet"),
        case("duplicate priority", policy(&[rule(2, &tagged(r#""a""#)), rule(2, &tagged(r#""b""#))]), Invalid, Some(2), Some("rulePriority"), "also used by rules[0]"),
        case("any not last", policy(&[rule(1, &any()), rule(2, &tagged(r#""a""#))]), Invalid, Some(1), Some("selection.tagStatus"), "must have the highest rulePriority"),
        case("any not last, out of order", policy(&[rule(9, &tagged(r#""a""#)), rule(4, &any())]), Invalid, Some(4), Some("selection.tagStatus"), "rule 9"),
        case("two any rules", policy(&[rule(1, &any()), rule(2, &any())]), Invalid, Some(1), Some("selection.tagStatus"), "highest rulePriority"),
        case("two untagged rules", policy(&[rule(1, &format!(r#""tagStatus":"untagged",{COUNT}"#)), rule(2, &format!(r#""tagStatus":"untagged",{AGE}"#))]), Invalid, Some(2), Some("selection.tagStatus"), "rule 1 already does"),
        case("same prefixes twice", policy(&[rule(1, &tagged(r#""a","b""#)), rule(2, &tagged(r#""b","a","a""#))]), Invalid, Some(2), Some("selection.tagPrefixList"), "rule 1 already selects the same tags"),
        case("too many rules", policy(&(1..=51) .map(|p| rule(p, &tagged(&format!("\"t{p}\"")))) .collect::<Vec<_>>()), Invalid, None, Some("rules"), "at most 50 rules"),
    ];
    // A rule that is not an object has no priority: the error names its index.
    cases.push(Case {
        index: Some(1),
        ..case(
            "rule not an object",
            policy(&[rule(1, &tagged(r#""a""#)), "7".into()]),
            Shape,
            None,
            None,
            "must be an object",
        )
    });
    cases
}

#[test]
fn every_validation_error_names_the_rule_and_field() {
    for c in cases() {
        let e = match parse(&c.text) {
            Ok(_) => panic!("{}: accepted\n{}", c.name, c.text),
            Err(e) => e,
        };
        let got = (e.kind, e.rule_priority, e.field.as_deref());
        assert_eq!(got, (c.kind, c.priority, c.field), "{}: {e}", c.name);
        if c.index.is_some() {
            assert_eq!(e.rule_index, c.index, "{}: {e}", c.name);
        }
        assert!(
            e.to_string().contains(c.says),
            "{}: {e:?} does not say {:?}",
            c.name,
            c.says
        );
    }
}

#[test]
fn errors_read_as_rule_then_field() {
    let e = parse(&one(
        r#""tagStatus":"any","countType":"sinceImagePushed","countNumber":5"#,
    ))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "rule 3, selection.countUnit: is required (\"days\") with countType \"sinceImagePushed\""
    );
    let e = parse(&one(&any()).replace(":3,", ":0,")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "rules[0], rulePriority: must be a positive integer (1 to 2147483647), not 0"
    );
    let e = parse("{}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the policy text has 2 characters; it must have between 100 and 30720"
    );
}

#[test]
fn validation_errors_lists_every_problem() {
    let text = policy(&[
        rule(1, &format!(r#""tagStatus":"tagged",{COUNT}"#)),
        rule(
            1,
            &format!(r#""tagStatus":"any","countUnit":"days",{COUNT}"#),
        ),
    ]);
    let errors = validation_errors(&parse_document(&text).unwrap());
    let fields: Vec<_> = errors
        .iter()
        .map(|e| e.field.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        [
            "selection.tagStatus",
            "selection.countUnit",
            "rulePriority",
            "selection.tagStatus"
        ],
        "{errors:?}"
    );
}

#[test]
fn limits_that_are_allowed() {
    // Exactly 50 rules, four wildcards, the docs' valid pattern list, explicit
    // standard storage class, priorities neither sequential nor in order, an
    // untagged and an any rule together (§5.10), overlapping prefix sets.
    let mut rules: Vec<String> = (1..=46)
        .map(|p| rule(p * 10, &tagged(&format!("\"t{p}\""))))
        .collect();
    rules.push(rule(5, r#""tagStatus":"tagged","tagPatternList":["*test*1*2*3","test*1*2*3*"],"storageClass":"standard","countType":"imageCountMoreThan","countNumber":5"#));
    rules.push(rule(3, &tagged(r#""t1","t2""#)));
    rules.push(rule(999, &format!(r#""tagStatus":"untagged",{AGE}"#)));
    rules.push(rule(1000, &any()));
    rules.swap(0, 49);
    let text = policy(&rules);
    let p = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.rules.len(), MAX_RULES);
    // Lengths at both ends: 99 characters is too short, 100 passes the
    // length check (and fails the next one), 30,720 is accepted.
    assert_eq!(parse(&format!("{:<99}", "{}")).unwrap_err().kind, Length);
    assert_eq!(parse(&format!("{:<100}", "{}")).unwrap_err().kind, Shape);
    let long = format!("{:<30720}", one(&any()).trim_end());
    assert_eq!(parse(&long).map(|_| ()), Ok(()));
    // Characters, not bytes: 89 characters in 166 bytes are too few.
    let wide = format!(r#"{{"rules":"{}"}}"#, "\u{e9}".repeat(77));
    assert_eq!((wide.chars().count(), wide.len()), (89, 166));
    assert_eq!(parse(&wide).unwrap_err().kind, Length);
}

#[test]
fn policies_built_in_code_are_range_checked() {
    let mut p = parse(&one(&any())).unwrap();
    p.rules[0].selection.count_number = 0;
    p.rules[0].rule_priority = u32::MAX;
    let fields: Vec<_> = validation_errors(&p)
        .into_iter()
        .map(|e| e.field.unwrap())
        .collect();
    assert_eq!(fields, ["rulePriority", "selection.countNumber"]);
}
