//! Message properties: the key constants, the reserved-name check, and the
//! `name<01>value<02>…` wire string in the exact order a Java client writes it.
//!
//! Java: `MessageConst`, `MessageDecoder.messageProperties2String` / `string2messageProperties`,
//! `Message.putUserProperty`.

use std::collections::HashMap;
use std::fmt;

use bytestring::ByteString;

pub mod keys;

pub use keys::is_reserved;

/// Separates a property name from its value (U+0001).
///
/// Java: `MessageDecoder.NAME_VALUE_SEPARATOR`
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';

/// Terminates (or, before 5.2.0, separates) property entries (U+0002).
///
/// Java: `MessageDecoder.PROPERTY_SEPARATOR`
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Joins several message keys inside the `KEYS` property.
///
/// Java: `MessageConst.KEY_SEPARATOR`
pub const KEY_SEPARATOR: &str = " ";

/// Whether the last entry of an encoded properties string keeps its U+0002.
///
/// Java: `MessageDecoder.messageProperties2String` (the trailing `deleteCharAt` was dropped in
/// 5.2.0 by "Add the CRC check of commitlog", ISSUE #7437).
///
/// ```
/// use rmq_common::properties::{Properties, SeparatorStyle};
///
/// let props: Properties = [("WAIT", "true")].into_iter().collect();
/// assert_eq!(props.encode(SeparatorStyle::NoTrailing), "WAIT\u{1}true");
/// assert_eq!(props.encode(SeparatorStyle::Trailing), "WAIT\u{1}true\u{2}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SeparatorStyle {
    /// No separator after the last entry: 4.9.8 up to and including 5.1.4.
    #[default]
    NoTrailing,
    /// Every entry ends with U+0002: 5.2.0 and later.
    Trailing,
}

/// Why a user-supplied property was refused.
///
/// Java: the exceptions thrown by `Message.putUserProperty`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    /// The name belongs to the client or broker (`MessageConst.STRING_HASH_SET`).
    #[error("The Property<{name}> is used by system, input another please")]
    Reserved {
        /// The refused name.
        name: String,
    },
    /// The name or the value is empty or only Java-whitespace (`IllegalArgumentException`).
    #[error("The name or value of property can not be null or blank string!")]
    Blank,
    /// The name or value contains U+0001 or U+0002, which would corrupt the wire string.
    #[error(
        "The name or value of property {name:?} contains a separator character (U+0001 or U+0002)"
    )]
    IllegalCharacter {
        /// The name of the offending entry.
        name: String,
    },
}

/// Checks a user-supplied property the way `Message.putUserProperty` does, and additionally
/// refuses the separator characters (neither the Java nor the Go client checks them).
///
/// Java: `Message.putUserProperty`
///
/// ```
/// use rmq_common::properties::{validate_entry, PropertyError};
///
/// assert!(validate_entry("a", "1").is_ok());
/// assert_eq!(
///     validate_entry("KEYS", "x").unwrap_err().to_string(),
///     "The Property<KEYS> is used by system, input another please"
/// );
/// assert_eq!(validate_entry("a", " "), Err(PropertyError::Blank));
/// ```
pub fn validate_entry(name: &str, value: &str) -> Result<(), PropertyError> {
    if is_reserved(name) {
        return Err(PropertyError::Reserved {
            name: name.to_owned(),
        });
    }
    if is_java_blank(name) || is_java_blank(value) {
        return Err(PropertyError::Blank);
    }
    check_separators(name, value)
}

/// Refuses U+0001 and U+0002 in a name or value; internal writers (tags, keys) use this too.
pub(crate) fn check_separators(name: &str, value: &str) -> Result<(), PropertyError> {
    if has_separator(name) || has_separator(value) {
        return Err(PropertyError::IllegalCharacter {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Whether `s` contains U+0001 or U+0002 (both are single bytes in UTF-8).
pub(crate) fn has_separator(s: &str) -> bool {
    s.bytes().any(|b| b == 0x01 || b == 0x02)
}

/// Java `String.trim().isEmpty()`: `trim` strips every char ≤ U+0020, not Unicode whitespace.
fn is_java_blank(s: &str) -> bool {
    s.chars().all(|c| c <= ' ')
}

/// Java `String.hashCode()`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, wrapping.
///
/// Java: `String.hashCode`
///
/// ```
/// use rmq_common::properties::java_string_hash;
///
/// assert_eq!(java_string_hash("TAGS"), 2567193);
/// assert_eq!(java_string_hash("AccessKey"), -111090117);
/// ```
pub fn java_string_hash(s: &str) -> i32 {
    let step = |h: i32, unit: u16| h.wrapping_mul(31).wrapping_add(i32::from(unit));
    if s.is_ascii() {
        // ASCII bytes are exactly the UTF-16 code units; skip the UTF-16 transcoding.
        s.bytes().fold(0, |h, b| step(h, u16::from(b)))
    } else {
        s.encode_utf16().fold(0, step)
    }
}

/// The `java.util.HashMap` bucket of a key: `(h ^ (h >>> 16)) & (capacity − 1)`.
fn java_bucket(key: &str, capacity: usize) -> usize {
    let h = java_string_hash(key) as u32;
    ((h ^ (h >> 16)) as usize) & (capacity - 1)
}

/// The table size of a `java.util.HashMap` that received `len` entries one by one:
/// 16, doubled while `len > 0.75 × capacity`.
fn java_capacity(len: usize) -> usize {
    let mut capacity = 16usize;
    while len > capacity / 4 * 3 {
        capacity *= 2;
    }
    capacity
}

/// Maps of up to this many entries are ordered in a stack buffer (cap 32 holds ≤ 24 entries).
const INLINE_ORDER: usize = 24;

/// Maps up to this size are searched by scanning; past it they keep a hash index, so lookups
/// in a large (or hostile) map stay constant-time.
const INDEX_FROM: usize = 16;

/// The properties of a message: an insertion-ordered string map.
///
/// Insertion order is kept so that [`Properties::encode`] can reproduce the iteration order of
/// the Java client's `HashMap` (bucket first, then insertion order within a bucket).
///
/// Java: `Message.properties` (`Map<String, String>`)
///
/// ```
/// use rmq_common::properties::{Properties, SeparatorStyle};
///
/// let mut props = Properties::new();
/// props.insert("TAGS", "TagA");
/// props.insert("KEYS", "OrderID188");
/// props.insert("WAIT", "true");
/// assert_eq!(props.get("TAGS"), Some("TagA"));
/// // Java HashMap order: KEYS (bucket 7), WAIT (13), TAGS (14).
/// assert_eq!(
///     props.encode(SeparatorStyle::NoTrailing),
///     "KEYS\u{1}OrderID188\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA"
/// );
/// ```
///
/// Names and values are shared [`ByteString`]s, so the well-known names (static strings) and
/// values taken from elsewhere are stored without copying. A message has a handful of
/// properties, so they live in one vector searched by scanning (no hashing, one allocation);
/// past 16 entries a hash index keeps lookups fast. Equality ignores order, as a map's does.
#[derive(Clone, Default)]
pub struct Properties {
    entries: Vec<(ByteString, ByteString)>,
    /// Positions by name, once there are more than `INDEX_FROM` entries. Boxed: almost no
    /// map has one, and inline it would more than double every message's map.
    #[allow(clippy::box_collection)]
    index: Option<Box<HashMap<ByteString, usize>>>,
}

impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .entries
                .iter()
                .all(|(name, value)| other.get_shared(name) == Some(value))
    }
}

impl Eq for Properties {}

impl Properties {
    /// An empty map.
    ///
    /// ```
    /// assert!(rmq_common::Properties::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `entries` before it grows.
    ///
    /// ```
    /// assert!(rmq_common::Properties::with_capacity(2).is_empty());
    /// ```
    pub fn with_capacity(entries: usize) -> Self {
        Properties {
            entries: Vec::with_capacity(entries),
            index: None,
        }
    }

    /// The value stored under `name`.
    ///
    /// ```
    /// let props: rmq_common::Properties = [("WAIT", "true")].into_iter().collect();
    /// assert_eq!(props.get("WAIT"), Some("true"));
    /// assert_eq!(props.get("TAGS"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_shared(name).map(|v| &**v)
    }

    /// The value stored under `name`, as the shared string it is kept as.
    ///
    /// ```
    /// let props: rmq_common::Properties = [("WAIT", "true")].into_iter().collect();
    /// assert_eq!(props.get_shared("WAIT").map(|v| &**v), Some("true"));
    /// ```
    pub fn get_shared(&self, name: &str) -> Option<&ByteString> {
        self.position(name).map(|i| &self.entries[i].1)
    }

    fn position(&self, name: &str) -> Option<usize> {
        if let Some(index) = &self.index {
            return index.get(name).copied();
        }
        let name = name.as_bytes();
        // Length and first byte first: most names differ there, without a `memcmp` call.
        self.entries.iter().position(|(k, _)| {
            let k = k.as_bytes();
            k.len() == name.len() && k.first() == name.first() && k == name
        })
    }

    fn build_index(&mut self) {
        self.index = (self.entries.len() > INDEX_FROM).then(|| {
            Box::new(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(i, (name, _))| (name.clone(), i))
                    .collect(),
            )
        });
    }

    /// Stores a value without any check and returns the previous one. Replacing a value keeps
    /// the entry's position, as `HashMap.put` does.
    ///
    /// Java: `Message.putProperty` (package-private, unchecked)
    ///
    /// ```
    /// let mut props = rmq_common::Properties::new();
    /// assert_eq!(props.insert("WAIT", "true"), None);
    /// assert_eq!(props.insert("WAIT", "false").as_deref(), Some("true"));
    /// ```
    pub fn insert(
        &mut self,
        name: impl Into<ByteString>,
        value: impl Into<ByteString>,
    ) -> Option<ByteString> {
        let name = name.into();
        let value = value.into();
        if let Some(i) = self.position(&name) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        let i = self.entries.len();
        match &mut self.index {
            Some(index) => {
                index.insert(name.clone(), i);
                self.entries.push((name, value));
            }
            None => {
                self.entries.push((name, value));
                if self.entries.len() > INDEX_FROM {
                    self.build_index();
                }
            }
        }
        None
    }

    /// [`insert`](Self::insert) for a name known at compile time, such as those in [`keys`]:
    /// the name is not copied.
    ///
    /// ```
    /// use rmq_common::properties::{Properties, keys};
    /// let mut props = Properties::new();
    /// props.insert_static(keys::WAIT, "true");
    /// assert_eq!(props.get(keys::WAIT), Some("true"));
    /// ```
    pub fn insert_static(
        &mut self,
        name: &'static str,
        value: impl Into<ByteString>,
    ) -> Option<ByteString> {
        self.insert(ByteString::from_static(name), value)
    }

    /// Removes an entry, keeping the order of the others.
    ///
    /// Java: `Message.clearProperty`
    ///
    /// ```
    /// let mut props: rmq_common::Properties = [("a", "1"), ("b", "2")].into_iter().collect();
    /// assert_eq!(props.remove("a").as_deref(), Some("1"));
    /// assert_eq!(props.len(), 1);
    /// ```
    pub fn remove(&mut self, name: &str) -> Option<ByteString> {
        let i = self.position(name)?;
        let (_, value) = self.entries.remove(i);
        if self.index.is_some() {
            // Later positions shifted; removing is rare enough to rebuild.
            self.build_index();
        }
        Some(value)
    }

    /// Whether an entry named `name` exists.
    ///
    /// ```
    /// let props: rmq_common::Properties = [("a", "1")].into_iter().collect();
    /// assert!(props.contains_key("a"));
    /// ```
    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// The number of entries.
    ///
    /// ```
    /// assert_eq!(rmq_common::Properties::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    ///
    /// ```
    /// assert!(rmq_common::Properties::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in insertion order (not wire order; see [`Properties::encode`]).
    ///
    /// ```
    /// let props: rmq_common::Properties = [("b", "2"), ("a", "1")].into_iter().collect();
    /// let names: Vec<&str> = props.iter().map(|(k, _)| k).collect();
    /// assert_eq!(names, ["b", "a"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Encodes the map as the wire string, in Java `HashMap` iteration order.
    ///
    /// The table size is derived from the current length. Java's table never shrinks and
    /// turns buckets of 9+ colliding keys into trees, so after removals from a large map, or
    /// with such collisions, Java may order entries differently; peers never depend on it.
    ///
    /// Java: `MessageDecoder.messageProperties2String`
    ///
    /// ```
    /// use rmq_common::properties::{Properties, SeparatorStyle};
    ///
    /// let props: Properties = [("a", "1"), ("b", "2")].into_iter().collect();
    /// assert_eq!(props.encode(SeparatorStyle::Trailing), "a\u{1}1\u{2}b\u{1}2\u{2}");
    /// ```
    pub fn encode(&self, style: SeparatorStyle) -> String {
        let mut out = String::new();
        self.encode_into(style, &mut out);
        out
    }

    /// Appends the wire string to `out`; see [`Properties::encode`].
    ///
    /// ```
    /// use rmq_common::properties::{Properties, SeparatorStyle};
    ///
    /// let props: Properties = [("WAIT", "true")].into_iter().collect();
    /// let mut out = String::from(">");
    /// props.encode_into(SeparatorStyle::NoTrailing, &mut out);
    /// assert_eq!(out, ">WAIT\u{1}true");
    /// ```
    pub fn encode_into(&self, style: SeparatorStyle, out: &mut String) {
        let len = self.entries.len();
        if len == 0 {
            return;
        }
        // Exactly what is appended, so a fresh `out` ends with no spare capacity (a `String`
        // without spare capacity becomes a `ByteString` without another allocation).
        let bytes: usize = self.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let trailing = usize::from(style == SeparatorStyle::NoTrailing);
        out.reserve_exact(bytes - trailing);

        let capacity = java_capacity(len);
        // (bucket, insertion index) pairs are unique, so an unstable sort yields exactly
        // "ascending bucket, then insertion order" without allocating.
        let mut inline = [(0usize, 0usize); INLINE_ORDER];
        let mut heap;
        let order: &mut [(usize, usize)] = if len <= INLINE_ORDER {
            &mut inline[..len]
        } else {
            heap = vec![(0usize, 0usize); len];
            &mut heap
        };
        for (slot, (index, (key, _))) in order.iter_mut().zip(self.entries.iter().enumerate()) {
            *slot = (java_bucket(key, capacity), index);
        }
        order.sort_unstable();

        for (n, &(_, index)) in order.iter().enumerate() {
            if let Some((name, value)) = self.entries.get(index) {
                out.push_str(name);
                out.push(NAME_VALUE_SEPARATOR);
                out.push_str(value);
                if style == SeparatorStyle::Trailing || n + 1 < len {
                    out.push(PROPERTY_SEPARATOR);
                }
            }
        }
    }

    /// Parses a wire string with Java's rules; it never fails.
    ///
    /// Segments are split on U+0002 and split again at their **first** U+0001; a segment with
    /// an empty name or an empty value (or no U+0001) is skipped, and a later duplicate name
    /// overwrites the earlier value.
    ///
    /// Java: `MessageDecoder.string2messageProperties` (5.x)
    ///
    /// ```
    /// use rmq_common::Properties;
    ///
    /// let props = Properties::decode("k1\u{1}v1\u{2}\u{1}v2\u{2}a\u{1}b\u{1}c");
    /// assert_eq!(props.get("k1"), Some("v1"));
    /// assert_eq!(props.get("a"), Some("b\u{1}c"));
    /// assert_eq!(props.len(), 2);
    /// ```
    pub fn decode(s: &str) -> Properties {
        Self::decode_with(s, |part| ByteString::from(part))
    }

    /// [`decode`](Self::decode) from a shared string: names and values are views of it, not
    /// copies.
    ///
    /// ```
    /// use rmq_common::{ByteString, Properties};
    ///
    /// let wire = ByteString::from("TAGS\u{1}TagA\u{2}WAIT\u{1}true\u{2}");
    /// let props = Properties::decode_shared(&wire);
    /// assert_eq!(props.get("TAGS"), Some("TagA"));
    /// assert_eq!(props, Properties::decode(&wire));
    /// ```
    pub fn decode_shared(s: &ByteString) -> Properties {
        Self::decode_with(s, |part| s.slice_ref(part))
    }

    fn decode_with(s: &str, to_shared: impl Fn(&str) -> ByteString) -> Properties {
        let mut props = Properties::new();
        for segment in s.split(PROPERTY_SEPARATOR) {
            if let Some((name, value)) = segment.split_once(NAME_VALUE_SEPARATOR)
                && !name.is_empty()
                && !value.is_empty()
            {
                props.insert(to_shared(name), to_shared(value));
            }
        }
        props
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<ByteString>, V: Into<ByteString>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut props = Properties::new();
        props.extend(iter);
        props
    }
}

impl<K: Into<ByteString>, V: Into<ByteString>> Extend<(K, V)> for Properties {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_hex::hex;
    use proptest::prelude::*;

    const UNIQ: &str = "C0A80164123418B4AAC2075BCD150001";

    fn props(entries: &[(&str, &str)]) -> Properties {
        entries.iter().copied().collect()
    }

    #[test]
    fn v60_java_hash_and_buckets() {
        let rows: &[(&str, i32, usize, usize, usize)] = &[
            ("TAGS", 2567193, 14, 30, 62),
            ("KEYS", 2303476, 7, 23, 215),
            ("WAIT", 2656629, 13, 29, 93),
            ("UNIQ_KEY", 488471169, 12, 28, 156),
            ("topic", 110546223, 9, 25, 185),
            ("AccessKey", -111090117, 11, 27, 91),
            ("Signature", -1217415016, 7, 23, 247),
            ("MSG_REGION", -1929015918, 7, 23, 151),
            ("TRACE_ON", 2052958009, 4, 4, 100),
            ("msgId", 104191100, 9, 9, 73),
            ("queueId", 655172108, 1, 1, 1),
            ("queueOffset", -1025599228, 10, 26, 218),
        ];
        for &(key, hash, b16, b32, b256) in rows {
            assert_eq!(java_string_hash(key), hash, "{key}");
            assert_eq!(java_bucket(key, 16), b16, "{key}");
            assert_eq!(java_bucket(key, 32), b32, "{key}");
            assert_eq!(java_bucket(key, 256), b256, "{key}");
        }
    }

    #[test]
    fn v60_capacity_growth() {
        assert_eq!(java_capacity(1), 16);
        assert_eq!(java_capacity(12), 16);
        assert_eq!(java_capacity(13), 32);
        assert_eq!(java_capacity(24), 32);
        assert_eq!(java_capacity(25), 64);
    }

    #[test]
    fn java_hash_uses_utf16_units() {
        // "é" is U+00E9 (one unit), "😀" is a surrogate pair D83D DE00.
        assert_eq!(java_string_hash("é"), 0xE9);
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
        assert_eq!(java_string_hash(""), 0);
    }

    #[test]
    fn v29_properties_string() {
        let p = props(&[
            ("TAGS", "TagA"),
            ("KEYS", "OrderID188"),
            ("WAIT", "true"),
            ("UNIQ_KEY", UNIQ),
        ]);
        let old = p.encode(SeparatorStyle::NoTrailing);
        assert_eq!(
            old,
            format!(
                "KEYS\u{1}OrderID188\u{2}UNIQ_KEY\u{1}{UNIQ}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA"
            )
        );
        assert_eq!(
            hex(old.as_bytes()),
            "4B455953014F72646572494431383802554E49515F4B455901433041383031363431323334313842344141433230373542434431353030303102574149540174727565025441475301546167\
             41" // the vector's hex, wrapped
        );
        assert_eq!(
            p.encode(SeparatorStyle::Trailing),
            format!(
                "KEYS\u{1}OrderID188\u{2}UNIQ_KEY\u{1}{UNIQ}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}"
            )
        );
    }

    #[test]
    fn v30_decode_edge_cases() {
        let rows: &[(&str, &[(&str, &str)])] = &[
            ("k1\u{1}v1", &[("k1", "v1")]),
            ("", &[]),
            (" ", &[]),
            ("aaa", &[]),
            ("k1\u{1}", &[]),
            ("\u{1}v1", &[]),
            ("k1\u{1}v1\u{2}", &[("k1", "v1")]),
            ("k1\u{1}v1\u{2}k2\u{1}v2", &[("k1", "v1"), ("k2", "v2")]),
            ("k1\u{1}v1\u{2}\u{1}v2", &[("k1", "v1")]),
            ("k1\u{1}\u{2}k2\u{1}v2", &[("k2", "v2")]),
            ("1\u{1}1\u{2}2\u{1}2", &[("1", "1"), ("2", "2")]),
            ("1\u{1}\u{2}2\u{1}2", &[("2", "2")]),
            ("\u{1}1\u{2}2\u{1}2", &[("2", "2")]),
            ("1\u{1}1\u{2}2\u{1}", &[("1", "1")]),
            ("1\u{1}1\u{2}\u{1}2", &[("1", "1")]),
            ("a\u{1}b\u{1}c", &[("a", "b\u{1}c")]),
            ("k\u{1}v\u{2}\u{2}k2\u{1}v2", &[("k", "v"), ("k2", "v2")]),
        ];
        for &(input, expected) in rows {
            assert_eq!(Properties::decode(input), props(expected), "{input:?}");
        }
    }

    #[test]
    fn v30_later_duplicate_overwrites() {
        let p = Properties::decode("k\u{1}1\u{2}k\u{1}2");
        assert_eq!(p.get("k"), Some("2"));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn v31_reserved_property_checks() {
        for name in [
            "KEYS",
            "UNIQ_KEY",
            "TAGS",
            "WAIT",
            "DELAY",
            "TRAN_MSG",
            "PGROUP",
            "CORRELATION_ID",
            "REPLY_TO_CLIENT",
            "TTL",
            "MSG_TYPE",
            "CLUSTER",
            "INSTANCE_ID",
            "TIMER_DELIVER_MS",
        ] {
            let err = validate_entry(name, "x").unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("The Property<{name}> is used by system, input another please")
            );
        }
        assert_eq!(validate_entry("a", " "), Err(PropertyError::Blank));
        assert_eq!(validate_entry(" \t", "1"), Err(PropertyError::Blank));
        assert_eq!(validate_entry("a", ""), Err(PropertyError::Blank));
        assert_eq!(validate_entry("a", "1"), Ok(()));
        assert_eq!(validate_entry("__STARTDELIVERTIME", "1"), Ok(()));
        assert_eq!(validate_entry("__transactionId__", "1"), Ok(()));
    }

    #[test]
    fn separators_are_refused() {
        for (name, value) in [("a\u{1}", "1"), ("a", "x\u{2}y"), ("a", "x\u{1}")] {
            assert!(matches!(
                validate_entry(name, value),
                Err(PropertyError::IllegalCharacter { .. })
            ));
        }
    }

    #[test]
    fn reserved_set_matches_head() {
        for name in [
            "TRACE_ON",
            "MSG_REGION",
            "RETRY_TOPIC",
            "REAL_TOPIC",
            "REAL_QID",
            "MIN_OFFSET",
            "MAX_OFFSET",
            "BUYER_ID",
            "ORIGIN_MESSAGE_ID",
            "TRANSFER_FLAG",
            "CORRECTION_FLAG",
            "MQ2_FLAG",
            "RECONSUME_TIME",
            "MAX_RECONSUME_TIMES",
            "CONSUME_START_TIME",
            "POP_CK",
            "POP_CK_OFFSET",
            "1ST_POP_TIME",
            "TRAN_PREPARED_QUEUE_OFFSET",
            "DUP_INFO",
            "EXTEND_UNIQ_INFO",
            "ARRIVE_TIME",
            "PUSH_REPLY_TIME",
            "INNER_MULTI_QUEUE_OFFSET",
            "TIMER_DELAY_MS",
            "TIMER_DELAY_SEC",
            "TIMER_ENQUEUE_MS",
            "TIMER_DEQUEUE_MS",
            "TIMER_ROLL_TIMES",
            "TIMER_OUT_MS",
            "TIMER_DEL_UNIQKEY",
            "TIMER_DELAY_LEVEL",
            "__BORNHOST",
            "BORN_TIMESTAMP",
            "DLQ_ORIGIN_TOPIC",
            "DLQ_ORIGIN_MESSAGE_ID",
            "__CRC32#",
        ] {
            assert!(is_reserved(name), "{name}");
        }
        for name in [
            "__STARTDELIVERTIME",
            "__transactionId__",
            "TRANSACTION_CHECK_TIMES",
            "CHECK_IMMUNITY_TIME_IN_SECONDS",
            "INNER_MULTI_DISPATCH",
            "__SHARDINGKEY",
            "TRACE_CONTEXT",
            "INNER_NUM",
            "a",
        ] {
            assert!(!is_reserved(name), "{name}");
        }
    }

    #[test]
    fn removal_keeps_order_and_reinsert_goes_last() {
        let mut p = props(&[("a", "1"), ("b", "2"), ("c", "3")]);
        p.remove("a");
        p.insert("a", "4");
        let names: Vec<&str> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["b", "c", "a"]);
    }

    #[test]
    fn same_bucket_keeps_insertion_order() {
        // V33/V34: WAIT, PGROUP and TTL all land in bucket 13 of a 16-slot table.
        assert_eq!(java_bucket("PGROUP", 16), 13);
        assert_eq!(java_bucket("TTL", 16), 13);
        let p = props(&[("PGROUP", "pg"), ("WAIT", "true")]);
        assert_eq!(
            p.encode(SeparatorStyle::NoTrailing),
            "PGROUP\u{1}pg\u{2}WAIT\u{1}true"
        );
    }

    #[test]
    fn large_maps_use_grown_table() {
        let p: Properties = (0..40)
            .map(|i| (format!("key{i}"), i.to_string()))
            .collect();
        let encoded = p.encode(SeparatorStyle::Trailing);
        let buckets: Vec<usize> = encoded
            .split_terminator(PROPERTY_SEPARATOR)
            .map(|e| java_bucket(e.split(NAME_VALUE_SEPARATOR).next().unwrap_or(""), 64))
            .collect();
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(Properties::decode(&encoded), p);
    }

    #[test]
    fn large_maps_are_indexed_and_stay_consistent_through_removals() {
        let mut p = Properties::new();
        for i in 0..40 {
            p.insert(format!("k{i}"), i.to_string());
        }
        assert!(p.index.is_some());
        assert_eq!(p.get("k39"), Some("39"));
        assert_eq!(p.insert("k5", "five").as_deref(), Some("5"));
        assert_eq!(p.remove("k0").as_deref(), Some("0"));
        assert_eq!(
            p.get("k1"),
            Some("1"),
            "positions after a removal still resolve"
        );
        assert_eq!(p.get("k5"), Some("five"));
        assert_eq!(p.get("k0"), None);
        for i in 1..30 {
            p.remove(&format!("k{i}"));
        }
        assert!(p.index.is_none(), "small again, so scanned");
        assert_eq!(p.len(), 10);
        assert_eq!(p.get("k35"), Some("35"));
        let names: Vec<&str> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(names[0], "k30", "insertion order is kept");
    }

    #[test]
    fn equality_ignores_order() {
        assert_eq!(
            props(&[("a", "1"), ("b", "2")]),
            props(&[("b", "2"), ("a", "1")])
        );
        assert_ne!(props(&[("a", "1")]), props(&[("a", "2")]));
        assert_ne!(props(&[("a", "1")]), props(&[("a", "1"), ("b", "2")]));
    }

    #[test]
    fn empty_map_encodes_empty() {
        assert_eq!(Properties::new().encode(SeparatorStyle::Trailing), "");
        assert_eq!(Properties::new().encode(SeparatorStyle::NoTrailing), "");
    }

    fn entry() -> impl Strategy<Value = (String, String)> {
        let text = "[^\u{1}\u{2}]{1,12}";
        (text, text)
    }

    proptest! {
        #[test]
        fn prop_encode_decode_round_trip(
            entries in proptest::collection::vec(entry(), 0..40),
            trailing in any::<bool>(),
        ) {
            let p: Properties = entries.into_iter().collect();
            let style = if trailing { SeparatorStyle::Trailing } else { SeparatorStyle::NoTrailing };
            prop_assert_eq!(Properties::decode(&p.encode(style)), p);
        }
    }
}
