//! The header's string map (Java: `RemotingCommand.extFields`).
//!
//! Keys and values are [`ByteString`]s: decoding slices them out of the received frame without
//! copying, and static keys such as `"topic"` are stored without allocating. Entries keep their
//! insertion order, which is the order they go on the wire: typed headers insert their fields in
//! the order a Java peer writes them (the fixed `FastCodesHeader` order for the send headers), so
//! rmq's frames match Java's byte for byte.
//!
//! A map may also hold a [`FastHeader`] not yet turned into entries (Java: a `FastCodesHeader`
//! custom header): encoders write its fields straight into the frame, and it becomes entries
//! only if someone reads or changes the map, so the producer's hot path builds no map at all.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use bytestring::ByteString;

use crate::header::FastHeader;

/// String comparisons [`Entries::may_have_duplicates`] may spend before it gives up and lets
/// the hash index decide; keeps hostile headers linear.
const COMPARE_BUDGET: usize = 256;

/// A cheap per-key signature (length and edge bytes): keys with different signatures differ, so
/// the usual duplicate-free header is proven so in one pass with few string comparisons.
fn signature_bit(key: &[u8]) -> u64 {
    let first = key.first().copied().unwrap_or(0) as usize;
    let last = key.last().copied().unwrap_or(0) as usize;
    // Chosen so the send headers' keys (`a`..`n`, the response fields) never collide.
    1 << ((first + 3 * last + 13 * key.len()) & 63)
}

/// An insertion-ordered map of header fields (Java: `HashMap<String, String> extFields`).
///
/// A key may map to no value: the ROCKETMQ binary header turns an empty string into `null`, and
/// Java keeps the key (vectors.md V08). [`get`](Self::get) treats such a key as absent; encoders
/// skip it, as Java does.
///
/// ```
/// use rmq_remoting::ExtFields;
///
/// let mut ext = ExtFields::new();
/// ext.insert("topic", "TopicTest");
/// ext.insert("topic", "Other"); // replaces in place
/// assert_eq!(ext.get("topic"), Some("Other"));
/// assert_eq!(ext.len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct ExtFields {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Entries(Entries),
    /// A typed header, written straight from its fields until the map is read or changed.
    Header(Arc<dyn HeaderSource>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Entries(Entries::default())
    }
}

/// A [`FastHeader`] with the entries it turns into, made at most once.
trait HeaderSource: Send + Sync {
    fn write_fields(&self, field: &mut dyn FnMut(&str, &str));
    fn entries(&self) -> &Entries;
}

struct Held<H> {
    header: H,
    entries: OnceLock<Entries>,
}

impl<H: FastHeader> HeaderSource for Held<H> {
    fn write_fields(&self, field: &mut dyn FnMut(&str, &str)) {
        self.header.write_fields(field);
    }

    fn entries(&self) -> &Entries {
        self.entries.get_or_init(|| {
            let mut entries = Entries::default();
            self.header.write_fields(&mut |key, value| {
                entries.insert(ByteString::from(key), Some(ByteString::from(value)));
            });
            entries
        })
    }
}

/// The entries themselves.
#[derive(Clone, Default)]
struct Entries {
    entries: Vec<(ByteString, Option<ByteString>)>,
    /// The union of the keys' signature bits (a superset after removals): a key whose bit is
    /// absent is certainly absent, so typed headers insert each field without a scan.
    signatures: u64,
}

impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.entries().entries == other.entries().entries
    }
}

impl Eq for ExtFields {}

impl ExtFields {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            repr: Repr::Entries(Entries {
                entries: Vec::with_capacity(capacity),
                signatures: 0,
            }),
        }
    }

    /// A map holding `header`, which encoders write straight into the frame; it becomes
    /// entries the first time the map is read or changed.
    ///
    /// ```
    /// use rmq_remoting::ExtFields;
    /// use rmq_remoting::header::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
    ///
    /// let header = SendMessageRequestHeader { topic: "TopicTest".into(), ..Default::default() };
    /// let ext = ExtFields::from_header(SendMessageRequestHeaderV2(header));
    /// assert_eq!(ext.get("b"), Some("TopicTest"));
    /// ```
    pub fn from_header(header: impl FastHeader) -> Self {
        Self {
            repr: Repr::Header(Arc::new(Held {
                header,
                entries: OnceLock::new(),
            })),
        }
    }

    /// Calls `field` with each entry that has a value, in wire order; a held header writes
    /// its fields without becoming entries. What encoders use.
    pub(crate) fn for_each_present(&self, mut field: impl FnMut(&str, &str)) {
        match &self.repr {
            Repr::Entries(entries) => {
                for (key, value) in &entries.entries {
                    if let Some(value) = value {
                        field(key, value);
                    }
                }
            }
            Repr::Header(header) => header.write_fields(&mut field),
        }
    }

    /// About how many bytes the entries take as text, for sizing buffers; a held header is
    /// not asked (that would format its fields once more), a send header's size is assumed.
    pub(crate) fn text_len_hint(&self) -> usize {
        match &self.repr {
            Repr::Entries(entries) => entries
                .entries
                .iter()
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len()))
                .sum(),
            Repr::Header(_) => 384,
        }
    }

    fn entries(&self) -> &Entries {
        match &self.repr {
            Repr::Entries(entries) => entries,
            Repr::Header(header) => header.entries(),
        }
    }

    fn entries_mut(&mut self) -> &mut Entries {
        if let Repr::Header(header) = &self.repr {
            self.repr = Repr::Entries(header.entries().clone());
        }
        match &mut self.repr {
            Repr::Entries(entries) => entries,
            Repr::Header(_) => unreachable!("a held header was just turned into entries"),
        }
    }

    /// The value of `key`, or `None` when the key is absent or maps to no value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_shared(key).map(|v| &**v)
    }

    /// The value of `key` as the shared string it is stored as (a view of the received frame
    /// after decoding), or `None` when absent or without a value.
    ///
    /// ```
    /// use rmq_remoting::ExtFields;
    /// let ext: ExtFields = [("topic", "T")].into_iter().collect();
    /// assert_eq!(ext.get_shared("topic").map(|v| v.to_string()), Some("T".to_owned()));
    /// ```
    pub fn get_shared(&self, key: &str) -> Option<&ByteString> {
        let entries = self.entries();
        entries
            .position(key)
            .and_then(|i| entries.entries[i].1.as_ref())
    }

    /// Whether `key` is present, even without a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries().position(key).is_some()
    }

    /// Sets `key` to `value`, replacing an existing value in place (its position is kept).
    /// Returns the previous value.
    ///
    /// Pass `ByteString::from_static` keys to avoid allocating:
    ///
    /// ```
    /// use bytestring::ByteString;
    /// use rmq_remoting::ExtFields;
    ///
    /// let mut ext = ExtFields::new();
    /// ext.insert(ByteString::from_static("queueId"), 3.to_string());
    /// assert_eq!(ext.get("queueId"), Some("3"));
    /// ```
    pub fn insert(
        &mut self,
        key: impl Into<ByteString>,
        value: impl Into<ByteString>,
    ) -> Option<ByteString> {
        self.entries_mut().insert(key.into(), Some(value.into()))
    }

    /// Removes `key`, keeping the order of the others. Returns its value.
    pub fn remove(&mut self, key: &str) -> Option<ByteString> {
        let entries = self.entries_mut();
        let i = entries.position(key)?;
        entries.entries.remove(i).1
    }

    /// The number of keys, including keys without a value.
    pub fn len(&self) -> usize {
        self.entries().entries.len()
    }

    /// Whether the map has no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry in wire order; keys without a value yield `None`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> + '_ {
        self.entries()
            .entries
            .iter()
            .map(|(k, v)| (&**k, v.as_deref()))
    }

    /// The entries that go on the wire (those with a value), in wire order.
    pub fn present(&self) -> impl Iterator<Item = (&ByteString, &ByteString)> + '_ {
        self.entries()
            .entries
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    }

    /// Appends a decoded entry without looking for duplicates; decoders call
    /// [`finish_decode`](Self::finish_decode) once all are in.
    pub(crate) fn push_decoded(&mut self, key: ByteString, value: Option<ByteString>) {
        let entries = self.entries_mut();
        entries.signatures |= signature_bit(key.as_bytes());
        entries.entries.push((key, value));
    }

    /// Resolves duplicate keys the way Java's `HashMap.put` does: the last value wins and the
    /// key keeps its first position. Linear in the number of entries, hostile input included.
    pub(crate) fn finish_decode(&mut self) {
        self.entries_mut().finish_decode();
    }
}

impl Entries {
    fn insert(&mut self, key: ByteString, value: Option<ByteString>) -> Option<ByteString> {
        let bit = signature_bit(key.as_bytes());
        if self.signatures & bit != 0
            && let Some(i) = self.position(&key)
        {
            return std::mem::replace(&mut self.entries[i].1, value);
        }
        self.signatures |= bit;
        self.entries.push((key, value));
        None
    }

    fn position(&self, key: &str) -> Option<usize> {
        let key = key.as_bytes();
        // Header keys are short (the send header's are single letters): rejecting on length
        // and first byte avoids a `memcmp` call per entry.
        self.entries.iter().position(|(k, _)| {
            let k = k.as_bytes();
            k.len() == key.len() && k.first() == key.first() && k == key
        })
    }

    /// Whether the decoded entries may hold a key twice. `false` is certain; `true` may be a
    /// false alarm once the comparison budget runs out.
    fn may_have_duplicates(&self) -> bool {
        let mut seen = 0u64;
        let mut budget = COMPARE_BUDGET;
        for (i, (key, _)) in self.entries.iter().enumerate() {
            let bit = signature_bit(key.as_bytes());
            if seen & bit != 0 {
                for (earlier, _) in &self.entries[..i] {
                    if budget == 0 || earlier == key {
                        return true;
                    }
                    budget -= 1;
                }
            }
            seen |= bit;
        }
        false
    }

    fn finish_decode(&mut self) {
        let n = self.entries.len();
        if n < 2 {
            return;
        }
        if !self.may_have_duplicates() {
            return;
        }
        let mut first_index: HashMap<ByteString, usize> = HashMap::with_capacity(n);
        let mut deduped: Vec<(ByteString, Option<ByteString>)> = Vec::with_capacity(n);
        for (key, value) in self.entries.drain(..) {
            match first_index.get(&key) {
                Some(&i) => deduped[i].1 = value,
                None => {
                    first_index.insert(key.clone(), deduped.len());
                    deduped.push((key, value));
                }
            }
        }
        self.entries = deduped;
    }
}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<ByteString>, V: Into<ByteString>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut ext = ExtFields::new();
        ext.extend(iter);
        ext
    }
}

impl<K: Into<ByteString>, V: Into<ByteString>> Extend<(K, V)> for ExtFields {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_in_place_and_remove_keeps_order() {
        let mut ext: ExtFields = [("a", "1"), ("b", "2"), ("c", "3")].into_iter().collect();
        assert_eq!(ext.insert("a", "9").as_deref(), Some("1"));
        assert_eq!(ext.remove("b").as_deref(), Some("2"));
        let keys: Vec<_> = ext.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "c"]);
        assert_eq!(ext.get("a"), Some("9"));
        assert_eq!(ext.remove("zz"), None);
    }

    #[test]
    fn insert_finds_keys_that_share_a_signature_and_after_decode_and_remove() {
        let mut ext = ExtFields::new();
        // Many keys, so signature bits collide and the scan path runs too.
        for i in 0..200 {
            ext.insert(format!("key{i}"), "a");
        }
        for i in 0..200 {
            assert_eq!(ext.insert(format!("key{i}"), "b").as_deref(), Some("a"));
        }
        assert_eq!(ext.len(), 200);
        ext.remove("key7");
        assert_eq!(ext.insert("key7", "c"), None);
        assert_eq!(ext.insert("key7", "d").as_deref(), Some("c"));
        assert_eq!(ext.len(), 200);

        let mut decoded = ExtFields::new();
        decoded.push_decoded("topic".into(), Some("T".into()));
        decoded.finish_decode();
        assert_eq!(decoded.insert("topic", "U").as_deref(), Some("T"));
        assert_eq!(decoded.len(), 1);
        // Equality ignores how the map was built.
        let built: ExtFields = [("topic", "U")].into_iter().collect();
        assert_eq!(decoded, built);
    }

    #[test]
    fn null_values_are_present_keys_without_value() {
        let mut ext = ExtFields::new();
        ext.push_decoded("x".into(), None);
        assert!(ext.contains_key("x"));
        assert_eq!(ext.get("x"), None);
        assert_eq!(ext.present().count(), 0);
    }

    fn dedup_case(n: usize) {
        let mut ext = ExtFields::new();
        for i in 0..n {
            ext.push_decoded(format!("k{}", i % 3).into(), Some(i.to_string().into()));
        }
        ext.finish_decode();
        assert_eq!(ext.len(), 3.min(n));
        let keys: Vec<_> = ext.iter().map(|(k, _)| k.to_owned()).collect();
        assert_eq!(keys, ["k0", "k1", "k2"][..3.min(n)]);
        // The last value wins for each key.
        for k in 0..3.min(n) {
            let last = (0..n).filter(|i| i % 3 == k).max().map(|i| i.to_string());
            assert_eq!(ext.get(&format!("k{k}")), last.as_deref());
        }
    }

    #[test]
    fn send_header_keys_have_distinct_signatures() {
        let letters: Vec<String> = ('a'..='n').map(String::from).collect();
        let response = [
            "msgId",
            "queueId",
            "queueOffset",
            "transactionId",
            "batchUniqId",
            "recallHandle",
            "TRACE_ON",
            "MSG_REGION",
        ];
        for keys in [
            letters.iter().map(String::as_str).collect::<Vec<_>>(),
            response.to_vec(),
        ] {
            let bits = keys
                .iter()
                .fold(0u64, |acc, k| acc | signature_bit(k.as_bytes()));
            assert_eq!(bits.count_ones() as usize, keys.len());
        }
    }

    #[test]
    fn decode_duplicates_last_wins_small_and_large() {
        for n in [0, 1, 2, 5, 32, 33, 1000] {
            dedup_case(n);
        }
    }
}
