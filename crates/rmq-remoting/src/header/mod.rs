//! Typed command headers mapped to and from [`ExtFields`] (Java: `CommandCustomHeader`,
//! `makeCustomHeaderToNet`, `decodeCommandCustomHeader`).
//!
//! Each header writes its fields in the order a Java peer puts them on the wire, so frames match
//! Java's byte for byte: the fixed `FastCodesHeader` order for the send headers, Java's
//! `HashMap` order for the others (vectors.md V55–V57). Reading is tolerant where Java is
//! (unknown keys ignored, `Boolean.parseBoolean` semantics) and strict where Java would fail
//! later anyway (a missing or unparsable required field is a [`HeaderError`]).

mod client;
mod pull;
mod recall;
mod reply;
mod route;
mod send;
mod transaction;

use std::str::FromStr;

use bytestring::ByteString;

pub use client::UnregisterClientRequestHeader;
pub use pull::{PULL_FLAG_SUBSCRIPTION, PullMessageRequestHeader};
pub use recall::{RecallMessageRequestHeader, RecallMessageResponseHeader};
pub use reply::ReplyMessageRequestHeader;
pub use route::GetRouteInfoRequestHeader;
pub use send::{SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader};
pub use transaction::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};

use crate::ExtFields;

/// A typed view of a command's header fields (Java: `CommandCustomHeader`).
///
/// Implement it to carry your own header over [`RemotingCommand`](crate::RemotingCommand):
///
/// ```
/// use rmq_remoting::ExtFields;
/// use rmq_remoting::header::{CommandHeader, HeaderError, required};
///
/// struct PingHeader { seq: u64 }
///
/// impl CommandHeader for PingHeader {
///     fn write_to(&self, ext: &mut ExtFields) {
///         ext.insert("seq", self.seq.to_string());
///     }
///     fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
///         Ok(PingHeader { seq: required(ext, "PingHeader", "seq")? })
///     }
/// }
/// ```
pub trait CommandHeader: Sized {
    /// Writes every non-null field into `ext`, in wire order.
    fn write_to(&self, ext: &mut ExtFields);

    /// Reads the header from `ext`.
    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError>;
}

/// A header that writes its fields straight into a frame, so sending it builds no
/// [`ExtFields`] map (Java: `FastCodesHeader`). Hold one with [`ExtFields::from_header`] or
/// [`RemotingCommand::with_fast_header`](crate::RemotingCommand::with_fast_header); it turns
/// into map entries only if someone reads or changes the map (an RPC hook, say).
///
/// ```
/// use rmq_remoting::{RemotingCommand, header::FastHeader};
///
/// struct PingHeader { seq: u64 }
///
/// impl FastHeader for PingHeader {
///     fn write_fields(&self, field: &mut dyn FnMut(&str, &str)) {
///         field("seq", itoa::Buffer::new().format(self.seq));
///     }
/// }
///
/// let ping = RemotingCommand::request(2000).with_fast_header(PingHeader { seq: 7 });
/// assert_eq!(ping.ext_field("seq"), Some("7"));
/// ```
pub trait FastHeader: Send + Sync + 'static {
    /// Calls `field` with each field that has a value, in wire order, each key once (the
    /// map it turns into keeps one value per key, while the frame would carry both).
    fn write_fields(&self, field: &mut dyn FnMut(&str, &str));
}

/// A header field that is missing or cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A required field is absent (Java: `the custom field <x> is null`).
    #[error("{header}: the required field {field} is missing")]
    Missing {
        /// The header type.
        header: &'static str,
        /// The field's wire name.
        field: &'static str,
    },
    /// A field's text does not parse as its type.
    #[error("{header}: field {field} has the invalid value {value:?}")]
    Invalid {
        /// The header type.
        header: &'static str,
        /// The field's wire name.
        field: &'static str,
        /// The text found.
        value: String,
    },
}

/// A field value that can be parsed from its wire text.
pub trait FieldValue: Sized {
    /// Parses the wire text; `None` when it is not a valid value.
    fn parse_field(text: &str) -> Option<Self>;

    /// Parses the wire text held in a shared string; types that can keep a view of it
    /// (without copying) override this.
    fn parse_shared(text: &ByteString) -> Option<Self> {
        Self::parse_field(text)
    }
}

macro_rules! number_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            /// Java's `Integer.parseInt` / `Long.parseLong`: no surrounding spaces allowed.
            fn parse_field(text: &str) -> Option<Self> {
                <$t>::from_str(text).ok()
            }
        }
    )*};
}
number_field!(i16, i32, i64, u16, u32, u64);

impl FieldValue for bool {
    /// Java's `Boolean.parseBoolean`: `true` ignoring case, anything else `false`.
    fn parse_field(text: &str) -> Option<Self> {
        Some(text.eq_ignore_ascii_case("true"))
    }
}

impl FieldValue for String {
    fn parse_field(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
}

impl FieldValue for ByteString {
    fn parse_field(text: &str) -> Option<Self> {
        Some(ByteString::from(text))
    }

    /// A view of the received frame, not a copy.
    fn parse_shared(text: &ByteString) -> Option<Self> {
        Some(text.clone())
    }
}

/// Reads a required field (Java: a `@CFNotNull` field).
///
/// ```
/// use rmq_remoting::ExtFields;
/// use rmq_remoting::header::required;
/// let ext: ExtFields = [("queueId", "3")].into_iter().collect();
/// assert_eq!(required::<i32>(&ext, "H", "queueId"), Ok(3));
/// assert!(required::<i32>(&ext, "H", "other").is_err());
/// ```
pub fn required<T: FieldValue>(
    ext: &ExtFields,
    header: &'static str,
    field: &'static str,
) -> Result<T, HeaderError> {
    optional(ext, header, field)?.ok_or(HeaderError::Missing { header, field })
}

/// Reads an optional field; a present but unparsable value is still an error.
///
/// ```
/// use rmq_remoting::ExtFields;
/// use rmq_remoting::header::optional;
/// let ext: ExtFields = [("batch", "TRUE")].into_iter().collect();
/// assert_eq!(optional::<bool>(&ext, "H", "batch"), Ok(Some(true)));
/// assert_eq!(optional::<i64>(&ext, "H", "missing"), Ok(None));
/// ```
pub fn optional<T: FieldValue>(
    ext: &ExtFields,
    header: &'static str,
    field: &'static str,
) -> Result<Option<T>, HeaderError> {
    match ext.get_shared(field) {
        None => Ok(None),
        Some(text) => T::parse_shared(text)
            .map(Some)
            .ok_or_else(|| HeaderError::Invalid {
                header,
                field,
                value: text.to_string(),
            }),
    }
}

/// Writes a field with a static name.
pub(crate) fn put(ext: &mut ExtFields, field: &'static str, value: impl Into<ByteString>) {
    ext.insert(ByteString::from_static(field), value);
}

/// Writes an optional field when it has a value.
pub(crate) fn put_opt<T: ToString>(ext: &mut ExtFields, field: &'static str, value: Option<&T>) {
    if let Some(value) = value {
        put(ext, field, value.to_string());
    }
}

/// The text of `n`, without allocating for the small values most header fields hold (queue
/// ids, flags, counts).
pub(crate) fn number(n: i64) -> ByteString {
    const SMALL: [&str; 32] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
        "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
    ];
    match usize::try_from(n).ok().and_then(|i| SMALL.get(i)) {
        Some(text) => ByteString::from_static(text),
        // One exact allocation (`to_string` leaves spare capacity, which costs a second one
        // when the `String` becomes shared bytes).
        None => ByteString::from(itoa::Buffer::new().format(n)),
    }
}

/// The text of a boolean, without allocating.
pub(crate) fn boolean(b: bool) -> ByteString {
    ByteString::from_static(if b { "true" } else { "false" })
}

#[cfg(test)]
mod tests;
