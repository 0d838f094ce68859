//! JSON that a client sends and others read again must mean one thing: an
//! object naming a key twice is refused, since parsers disagree on which of
//! the two wins (Go's and `serde_json::Value` keep the last, derived structs
//! refuse). Nesting stays within serde_json's recursion limit.

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// Checks that no object in the JSON document `bytes` has the same key twice;
/// the error names the key. Invalid JSON is an error too.
pub fn check_unique_keys(bytes: &[u8]) -> Result<(), String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    UniqueKeys
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end())
        .map_err(|e| e.to_string())
}

/// Walks a document, refusing an object that repeats a key.
struct UniqueKeys;

impl<'de> DeserializeSeed<'de> for UniqueKeys {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(UniqueKeys)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(A::Error::custom(format!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            map.next_value_seed(UniqueKeys)?;
            seen.insert(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_in_one_object_is_refused_wherever_it_is() {
        assert_eq!(
            check_unique_keys(br#"{"a":1,"b":[{"a":1}],"c":{"a":2}}"#),
            Ok(())
        );
        for doc in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":[{"a":1,"a":1}]}"#,
            r#"{"x":{"y":{"a":null,"a":null}}}"#,
        ] {
            let error = check_unique_keys(doc.as_bytes()).expect_err(doc);
            assert!(error.contains("\"a\" appears twice"), "{doc}: {error}");
        }
        // Escapes are decoded before comparing: "\u0061" is "a".
        assert!(check_unique_keys(br#"{"a":1,"\u0061":2}"#).is_err());
    }

    #[test]
    fn deep_nesting_and_invalid_json_are_errors_not_overflows() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let error = check_unique_keys(deep.as_bytes()).expect_err("too deep");
        assert!(error.contains("recursion limit"), "{error}");
        assert!(check_unique_keys(b"{\"a\":").is_err());
        assert!(check_unique_keys(b"{} {}").is_err(), "trailing data");
        assert_eq!(
            check_unique_keys(b"[1, -2, 3.5, true, null, \"s\"]"),
            Ok(())
        );
    }
}
