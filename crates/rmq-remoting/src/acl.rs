//! ACL 1.0 request signing (Java: `AclClientRPCHook`, `AclUtils.combineRequestContent`,
//! `AclSigner`, `SessionCredentials`), as RocketMQ 4.x plain ACL and 5.x authentication
//! verify it.
//!
//! Every request gets `AccessKey` (and `SecurityToken` when there is one) and a `Signature`:
//! Base64 of HMAC-SHA1, keyed with the secret key, over the values of every ext field in Java
//! `TreeMap` order (`Signature` itself left out), followed by the body. The server rebuilds
//! the same content from what it receives, so nothing may be added after signing: a
//! [`RemotingClient`](crate::RemotingClient) runs its signer after every other hook.

use std::fmt;

use base64::Engine as _;
use bytestring::ByteString;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::{RemotingCommand, RpcHook};

/// The ext field names (Java: `SessionCredentials`).
pub mod field {
    /// The access key.
    pub const ACCESS_KEY: &str = "AccessKey";
    /// The signature.
    pub const SIGNATURE: &str = "Signature";
    /// The security token of temporary credentials.
    pub const SECURITY_TOKEN: &str = "SecurityToken";
}

/// Why credentials were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AclError {
    /// An empty access key or secret key (Java's `SecretKeySpec` refuses an empty key).
    #[error("ACL credentials need a non-empty {0}")]
    Empty(&'static str),
}

/// Signs every request with an access key and secret key (Java: `AclClientRPCHook`). The
/// secret never appears in `Debug` output or logs.
///
/// ```
/// use rmq_remoting::acl::AclSigner;
/// use rmq_remoting::{RemotingCommand, RpcHook, code::request};
/// use rmq_remoting::header::GetRouteInfoRequestHeader;
///
/// let signer = AclSigner::new("rocketmq2", "12345678").unwrap();
/// let mut route = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
///     .with_header(GetRouteInfoRequestHeader::new("TopicTest"));
/// signer.before_request("127.0.0.1:9876", &mut route);
/// assert_eq!(route.ext_field("AccessKey"), Some("rocketmq2"));
/// assert_eq!(route.ext_field("Signature"), Some("GeeGoP9mRvDhoVp4PD5omX0prgE="));
/// assert!(!format!("{signer:?}").contains("12345678"));
/// ```
#[derive(Clone)]
pub struct AclSigner {
    access_key: ByteString,
    secret_key: Vec<u8>,
    security_token: Option<ByteString>,
}

impl AclSigner {
    /// A signer for `access_key` and `secret_key`; both must be non-empty.
    pub fn new(
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Result<Self, AclError> {
        let (access_key, secret_key) = (access_key.into(), secret_key.into());
        if access_key.is_empty() {
            return Err(AclError::Empty("access key"));
        }
        if secret_key.is_empty() {
            return Err(AclError::Empty("secret key"));
        }
        Ok(Self {
            access_key: access_key.into(),
            secret_key: secret_key.into_bytes(),
            security_token: None,
        })
    }

    /// The same signer, also sending the security token of temporary credentials.
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.security_token = (!token.is_empty()).then(|| token.into());
        self
    }

    /// The access key.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The signature of `request` as it stands: its ext fields but `Signature`, values in
    /// Java `TreeMap` key order, then its body.
    pub fn signature(&self, request: &RemotingCommand) -> String {
        let mut fields: Vec<(&ByteString, &ByteString)> = request
            .ext_fields()
            .map(|ext| {
                ext.present()
                    .filter(|(key, _)| &***key != field::SIGNATURE)
                    .collect()
            })
            .unwrap_or_default();
        // Java's `String.compareTo`: UTF-16 code units (the same as bytes for ASCII keys).
        fields.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
        // Fed piece by piece: no copy of the values and the body into one buffer.
        let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(&self.secret_key) else {
            return String::new();
        };
        for (_, value) in fields {
            mac.update(value.as_bytes());
        }
        mac.update(request.body());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }
}

impl RpcHook for AclSigner {
    fn before_request(&self, _addr: &str, request: &mut RemotingCommand) {
        request.add_ext_field(
            ByteString::from_static(field::ACCESS_KEY),
            self.access_key.clone(),
        );
        if let Some(token) = &self.security_token {
            request.add_ext_field(
                ByteString::from_static(field::SECURITY_TOKEN),
                token.clone(),
            );
        }
        let signature = self.signature(request);
        request.add_ext_field(ByteString::from_static(field::SIGNATURE), signature);
    }
}

impl fmt::Debug for AclSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AclSigner")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Base64 (standard, padded) of HMAC-SHA1 of `content` keyed with `secret` (Java:
/// `AclSigner.calSignature`).
///
/// ```
/// assert_eq!(rmq_remoting::acl::sign(b"12345678", b"RocketMQ"), "IUc8rrO/0gDch8CjObLQsW2rsiA=");
/// ```
pub fn sign(secret: &[u8], content: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = match <Hmac<Sha1> as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(content);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::request;
    use crate::header::{GetRouteInfoRequestHeader, SendMessageRequestHeaderV2};

    /// V58.
    #[test]
    fn raw_signature() {
        assert_eq!(
            sign(b"12345678", b"RocketMQ"),
            "IUc8rrO/0gDch8CjObLQsW2rsiA="
        );
        assert_eq!(
            AclSigner::new("ak", "").err(),
            Some(AclError::Empty("secret key"))
        );
        assert_eq!(
            AclSigner::new("", "sk").err(),
            Some(AclError::Empty("access key"))
        );
    }

    /// V59: the route request, signed over `AccessKey` and `topic`.
    #[test]
    fn signed_route_request() {
        let signer = AclSigner::new("rocketmq2", "12345678").expect("credentials");
        let mut route = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
            .with_header(GetRouteInfoRequestHeader::new("TopicTest"));
        signer.before_request("127.0.0.1:9876", &mut route);
        assert_eq!(
            route.ext_field("Signature"),
            Some("GeeGoP9mRvDhoVp4PD5omX0prgE=")
        );
        // Signing again (a retry reuses nothing, but a hook may run twice) gives the same.
        let again = signer.signature(&route);
        assert_eq!(again, "GeeGoP9mRvDhoVp4PD5omX0prgE=");
    }

    /// V61: a security token and a body.
    #[test]
    fn token_and_body() {
        let signer = AclSigner::new("AK", "SK")
            .expect("credentials")
            .with_security_token("TOKEN");
        let body = r#"{"clientID":"192.168.1.100@12345#1234567890123","consumerDataSet":[],"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"},{"groupName":"pg"}]}"#;
        let mut heartbeat = RemotingCommand::request(request::HEART_BEAT).with_body(body);
        signer.before_request("127.0.0.1:10911", &mut heartbeat);
        assert_eq!(heartbeat.ext_field("SecurityToken"), Some("TOKEN"));
        assert_eq!(
            heartbeat.ext_field("Signature"),
            Some("p/XNZyrH/Xlp2AfixGXKr5TFRig=")
        );
    }

    /// V62: a send whose header is written straight into the frame is signed over its
    /// fields too (Java: `makeCustomHeaderToNet` before signing).
    #[test]
    fn signed_send_with_a_fast_header() {
        let header = crate::codec::tests::v14_header();
        let signer = AclSigner::new("AK", "SK").expect("credentials");
        let mut send = RemotingCommand::request(request::SEND_MESSAGE_V2)
            .with_fast_header(SendMessageRequestHeaderV2(header))
            .with_body(&b"Hello RocketMQ"[..]);
        signer.before_request("127.0.0.1:10911", &mut send);
        assert_eq!(
            send.ext_field("Signature"),
            Some("IOOhphCKGmAh+1Ugw/2nrpRl3fg=")
        );
        assert_eq!(
            send.ext_field("b"),
            Some("TopicTest"),
            "the header's fields stay"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let signer = AclSigner::new("AK", "s3cr3t")
            .expect("credentials")
            .with_security_token("t0k3n");
        let shown = format!("{signer:?}");
        assert!(shown.contains("AK"), "{shown}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("t0k3n"),
            "{shown}"
        );
    }
}
