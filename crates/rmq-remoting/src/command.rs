//! The unit of the remoting protocol: one request or response (Java: `RemotingCommand`).

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use crate::codec::{self, CodecError};
use crate::header::{CommandHeader, FastHeader, HeaderError};
use crate::{ExtFields, LanguageCode, version};

/// Flag bit 0: the command is a response (Java: `RPC_TYPE`).
pub const FLAG_RESPONSE: i32 = 1;
/// Flag bit 1: the request expects no response (Java: `RPC_ONEWAY`).
pub const FLAG_ONEWAY: i32 = 1 << 1;

/// How a command's header is serialized (Java: `SerializeType`).
///
/// Every frame says which it uses, so a peer decodes both; a server answers in the request's.
///
/// ```
/// use rmq_remoting::SerializeType;
/// assert_eq!(SerializeType::from_code(1), Some(SerializeType::RocketMq));
/// assert_eq!(SerializeType::default(), SerializeType::Json);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SerializeType {
    /// fastjson-compatible JSON text (code 0); Java's default.
    #[default]
    Json,
    /// The compact `RocketMQSerializable` binary layout (code 1).
    RocketMq,
}

impl SerializeType {
    /// The code in the high byte of the header-length word.
    pub const fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    /// The type for a header-length word's high byte; `None` for unknown codes.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }
}

/// One remoting request or response (Java: `RemotingCommand`).
///
/// Build requests with [`RemotingCommand::request`] and the `with_*` methods; answer them with
/// [`RemotingCommand::response_to`]. Typed headers go in and out through
/// [`with_header`](Self::with_header) and [`decode_header`](Self::decode_header).
///
/// ```
/// use rmq_remoting::{RemotingCommand, SerializeType, code::request};
/// use rmq_remoting::header::GetRouteInfoRequestHeader;
///
/// let cmd = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
///     .with_header(GetRouteInfoRequestHeader::new("TopicTest"))
///     .with_serialize_type(SerializeType::RocketMq);
/// let frame = cmd.encode_to_bytes().unwrap();
/// let back = RemotingCommand::decode_frame(frame.slice(4..)).unwrap();
/// assert_eq!(back.ext_field("topic"), Some("TopicTest"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RemotingCommand {
    code: i32,
    language: LanguageCode,
    version: i32,
    opaque: i32,
    flag: i32,
    remark: Option<ByteString>,
    ext_fields: Option<ExtFields>,
    body: Bytes,
    serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A request with `code`, flag 0, opaque 0 (a client assigns a fresh opaque when it sends),
    /// language [`LanguageCode::Java`], version [`version::DEFAULT`] and JSON serialization.
    pub fn request(code: i32) -> Self {
        Self {
            code,
            language: LanguageCode::Java,
            version: version::DEFAULT,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: None,
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    /// A response with `code`, not yet tied to a request.
    ///
    /// ```
    /// use rmq_remoting::{RemotingCommand, code::response};
    /// let resp = RemotingCommand::response(response::SYSTEM_ERROR).with_remark("boom");
    /// assert!(resp.is_response());
    /// ```
    pub fn response(code: i32) -> Self {
        Self {
            flag: FLAG_RESPONSE,
            ..Self::request(code)
        }
    }

    /// The response to `request`: same opaque and serialization, as a Java server answers
    /// (Java: `NettyRemotingAbstract.processRequestCommand`).
    ///
    /// ```
    /// use rmq_remoting::{RemotingCommand, code::{request, response}};
    /// let req = RemotingCommand::request(request::HEART_BEAT).with_opaque(7);
    /// let resp = RemotingCommand::response_to(&req, response::SUCCESS);
    /// assert_eq!((resp.opaque(), resp.is_response()), (7, true));
    /// ```
    pub fn response_to(request: &RemotingCommand, code: i32) -> Self {
        Self {
            opaque: request.opaque,
            serialize_type: request.serialize_type,
            ..Self::response(code)
        }
    }

    /// The request or response code.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// Sets the request or response code.
    pub fn set_code(&mut self, code: i32) {
        self.code = code;
    }

    /// The sender's language.
    pub fn language(&self) -> LanguageCode {
        self.language
    }

    /// Sets the sender's language.
    pub fn set_language(&mut self, language: LanguageCode) {
        self.language = language;
    }

    /// The sender's remoting version (see [`version`]).
    pub fn version(&self) -> i32 {
        self.version
    }

    /// Sets the remoting version.
    pub fn set_version(&mut self, version: i32) {
        self.version = version;
    }

    /// The request id a response echoes.
    pub fn opaque(&self) -> i32 {
        self.opaque
    }

    /// Sets the request id.
    pub fn set_opaque(&mut self, opaque: i32) {
        self.opaque = opaque;
    }

    /// The raw flag word.
    pub fn flag(&self) -> i32 {
        self.flag
    }

    /// Sets the raw flag word.
    pub fn set_flag(&mut self, flag: i32) {
        self.flag = flag;
    }

    /// Whether this is a response (flag bit 0).
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE == FLAG_RESPONSE
    }

    /// Whether this request expects no response (flag bit 1).
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY == FLAG_ONEWAY
    }

    /// Marks this as a response.
    pub fn mark_response(&mut self) {
        self.flag |= FLAG_RESPONSE;
    }

    /// Marks this request as oneway.
    pub fn mark_oneway(&mut self) {
        self.flag |= FLAG_ONEWAY;
    }

    /// The remark, usually an error text in a response.
    pub fn remark(&self) -> Option<&str> {
        self.remark.as_deref()
    }

    /// Sets or clears the remark.
    pub fn set_remark(&mut self, remark: Option<impl Into<ByteString>>) {
        self.remark = remark.map(Into::into);
    }

    /// The header fields, if the command has a map at all.
    ///
    /// Java distinguishes a missing map (no `extFields` key in JSON) from an empty one
    /// (`"extFields":{}`); so does rmq.
    pub fn ext_fields(&self) -> Option<&ExtFields> {
        self.ext_fields.as_ref()
    }

    /// The header fields, creating an empty map if there is none.
    pub fn ext_fields_mut(&mut self) -> &mut ExtFields {
        self.ext_fields.get_or_insert_with(ExtFields::new)
    }

    /// Replaces the whole header map.
    pub fn set_ext_fields(&mut self, ext_fields: Option<ExtFields>) {
        self.ext_fields = ext_fields;
    }

    /// The value of one header field.
    pub fn ext_field(&self, key: &str) -> Option<&str> {
        self.ext_fields.as_ref().and_then(|ext| ext.get(key))
    }

    /// Adds or replaces one header field (Java: `addExtField`).
    pub fn add_ext_field(&mut self, key: impl Into<ByteString>, value: impl Into<ByteString>) {
        self.ext_fields_mut().insert(key, value);
    }

    /// The body; empty when there is none (Java: `null`).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Sets the body.
    pub fn set_body(&mut self, body: impl Into<Bytes>) {
        self.body = body.into();
    }

    /// Takes the body out, leaving it empty.
    pub fn take_body(&mut self) -> Bytes {
        std::mem::take(&mut self.body)
    }

    /// How the header will be (or was) serialized.
    pub fn serialize_type(&self) -> SerializeType {
        self.serialize_type
    }

    /// Sets the header serialization.
    pub fn set_serialize_type(&mut self, serialize_type: SerializeType) {
        self.serialize_type = serialize_type;
    }

    /// Writes `header`'s fields into the header map (Java: `makeCustomHeaderToNet`).
    pub fn set_header<H: CommandHeader>(&mut self, header: &H) {
        // Room for the largest common header (the send header's 14 fields) plus a few hook
        // fields, so writing it never regrows the map.
        let ext = self
            .ext_fields
            .get_or_insert_with(|| ExtFields::with_capacity(18));
        header.write_to(ext);
    }

    /// Reads a typed header from the header map (Java: `decodeCommandCustomHeader`).
    ///
    /// ```
    /// use rmq_remoting::{RemotingCommand, code::request};
    /// use rmq_remoting::header::GetRouteInfoRequestHeader;
    ///
    /// let cmd = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
    ///     .with_header(GetRouteInfoRequestHeader::new("T"));
    /// let header: GetRouteInfoRequestHeader = cmd.decode_header().unwrap();
    /// assert_eq!(header.topic, "T");
    /// ```
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        match &self.ext_fields {
            Some(ext) => H::read_from(ext),
            None => H::read_from(&ExtFields::new()),
        }
    }

    /// Holds `header` to be written straight into the frame when the command is encoded, with
    /// no header map built (Java: a `FastCodesHeader` custom header). Reading or changing the
    /// ext fields still works: the header then turns into entries. Fields already in the map
    /// stay, with the header's written over them, as [`set_header`](Self::set_header) does.
    ///
    /// ```
    /// use rmq_remoting::{RemotingCommand, SerializeType, code::request};
    /// use rmq_remoting::header::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
    ///
    /// let header = SendMessageRequestHeader { topic: "TopicTest".into(), ..Default::default() };
    /// let fast = RemotingCommand::request(request::SEND_MESSAGE_V2)
    ///     .with_serialize_type(SerializeType::RocketMq)
    ///     .with_fast_header(SendMessageRequestHeaderV2(header.clone()));
    /// let mapped = RemotingCommand::request(request::SEND_MESSAGE_V2)
    ///     .with_serialize_type(SerializeType::RocketMq)
    ///     .with_header(SendMessageRequestHeaderV2(header));
    /// assert_eq!(fast.encode_to_bytes().unwrap(), mapped.encode_to_bytes().unwrap());
    /// assert_eq!(fast.ext_field("b"), Some("TopicTest"));
    /// ```
    pub fn with_fast_header<H: FastHeader>(mut self, header: H) -> Self {
        match &mut self.ext_fields {
            Some(ext) if !ext.is_empty() => header.write_fields(&mut |key, value| {
                ext.insert(ByteString::from(key), ByteString::from(value));
            }),
            _ => self.ext_fields = Some(ExtFields::from_header(header)),
        }
        self
    }

    /// Builder form of [`set_header`](Self::set_header).
    pub fn with_header<H: CommandHeader>(mut self, header: H) -> Self {
        self.set_header(&header);
        self
    }

    /// Builder form of [`set_opaque`](Self::set_opaque).
    pub fn with_opaque(mut self, opaque: i32) -> Self {
        self.opaque = opaque;
        self
    }

    /// Builder form of [`set_body`](Self::set_body).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Builder form of [`set_remark`](Self::set_remark).
    pub fn with_remark(mut self, remark: impl Into<ByteString>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Builder form of [`set_ext_fields`](Self::set_ext_fields).
    pub fn with_ext_fields(mut self, ext_fields: ExtFields) -> Self {
        self.ext_fields = Some(ext_fields);
        self
    }

    /// Builder form of [`add_ext_field`](Self::add_ext_field).
    pub fn with_ext_field(
        mut self,
        key: impl Into<ByteString>,
        value: impl Into<ByteString>,
    ) -> Self {
        self.add_ext_field(key, value);
        self
    }

    /// Builder form of [`set_language`](Self::set_language).
    pub fn with_language(mut self, language: LanguageCode) -> Self {
        self.language = language;
        self
    }

    /// Builder form of [`set_version`](Self::set_version).
    pub fn with_version(mut self, version: i32) -> Self {
        self.version = version;
        self
    }

    /// Builder form of [`set_flag`](Self::set_flag).
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// Builder form of [`set_serialize_type`](Self::set_serialize_type).
    pub fn with_serialize_type(mut self, serialize_type: SerializeType) -> Self {
        self.serialize_type = serialize_type;
        self
    }

    /// Appends the whole frame, length prefix included, to `dst` (Java: `NettyEncoder`).
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), CodecError> {
        codec::encode_frame(self, dst)
    }

    /// The whole frame, length prefix included.
    pub fn encode_to_bytes(&self) -> Result<Bytes, CodecError> {
        let mut dst = BytesMut::new();
        self.encode(&mut dst)?;
        Ok(dst.freeze())
    }

    /// Decodes one frame **without** its 4-byte length prefix: the header-length word, the
    /// header and the body. Header strings and the body share `frame`'s buffer.
    pub fn decode_frame(frame: Bytes) -> Result<Self, CodecError> {
        codec::decode_frame(frame)
    }

    /// Assembles a decoded command; used by the header decoders.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        code: i32,
        language: LanguageCode,
        version: i32,
        opaque: i32,
        flag: i32,
        remark: Option<ByteString>,
        ext_fields: Option<ExtFields>,
        serialize_type: SerializeType,
    ) -> Self {
        Self {
            code,
            language,
            version,
            opaque,
            flag,
            remark,
            ext_fields,
            body: Bytes::new(),
            serialize_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::{request, response};

    /// V19: request, oneway and response flags.
    #[test]
    fn v19_flag_bits() {
        let mut req = RemotingCommand::request(request::SEND_MESSAGE_V2);
        assert_eq!(req.flag(), 0);
        assert!(!req.is_response() && !req.is_oneway());
        req.mark_oneway();
        assert_eq!(req.flag(), 2);
        assert!(req.is_oneway() && !req.is_response());
        let resp = RemotingCommand::response_to(&req, response::SUCCESS);
        assert_eq!(resp.flag(), 1);
        assert!(resp.is_response());
    }

    #[test]
    fn missing_and_empty_ext_fields_differ() {
        let mut cmd = RemotingCommand::request(request::HEART_BEAT);
        assert!(cmd.ext_fields().is_none());
        cmd.ext_fields_mut();
        assert_eq!(cmd.ext_fields().map(ExtFields::len), Some(0));
    }
}
