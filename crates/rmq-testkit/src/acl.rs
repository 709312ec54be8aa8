//! The test broker's ACL mode (Java: the broker's `PlainAccessValidator` checking
//! `AclClientRPCHook` signatures): every request must carry the configured access key and a
//! signature over every received ext field but `Signature`, in sorted key order, and the body.

use rmq_remoting::RemotingCommand;
use rmq_remoting::acl::{AclSigner, field};
use rmq_remoting::code::response;

/// The refusal for `request`, if its signature does not hold (code 16, `NO_PERMISSION`, with
/// a remark saying what was wrong).
pub(crate) fn check(acl: &AclSigner, request: &RemotingCommand) -> Option<RemotingCommand> {
    let remark = match request.ext_field(field::ACCESS_KEY) {
        None => "no accessKey in the request: sign it with AclClientRPCHook".to_owned(),
        Some(key) if key != acl.access_key() => format!("unknown accessKey {key}"),
        Some(key) => match request.ext_field(field::SIGNATURE) {
            Some(signature) if signature == acl.signature(request) => return None,
            _ => format!("check signature failed for accessKey={key}"),
        },
    };
    Some(RemotingCommand::response(response::NO_PERMISSION).with_remark(remark))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rmq_remoting::RpcHook;

    use super::*;

    fn signer() -> AclSigner {
        AclSigner::new("AK", "SK").expect("credentials")
    }

    proptest! {
        /// What the signer produces, the verifier accepts; a changed field value, an added
        /// field or a changed body byte is refused.
        #[test]
        fn the_verifier_accepts_exactly_what_was_signed(
            fields in proptest::collection::btree_map("[a-zA-Z]{1,8}", "[ -~]{0,16}", 0..8),
            body in proptest::collection::vec(any::<u8>(), 0..64),
            flip in any::<prop::sample::Index>(),
        ) {
            let mut request = RemotingCommand::request(10).with_body(body.clone());
            for (key, value) in &fields {
                request.add_ext_field(key.clone(), value.clone());
            }
            signer().before_request("127.0.0.1:1", &mut request);
            prop_assert!(check(&signer(), &request).is_none());

            let mut extra = request.clone();
            extra.add_ext_field("zzExtra", "1");
            prop_assert!(check(&signer(), &extra).is_some());

            if !body.is_empty() {
                let mut changed = body.clone();
                let i = flip.index(changed.len());
                changed[i] ^= 1;
                let mut tampered = request.clone();
                tampered.set_body(changed);
                prop_assert!(check(&signer(), &tampered).is_some());
            }
            if let Some((key, value)) = fields.iter().find(|(k, _)| !matches!(k.as_str(), "AccessKey" | "Signature" | "SecurityToken")) {
                let mut tampered = request.clone();
                tampered.add_ext_field(key.clone(), format!("{value}x"));
                prop_assert!(check(&signer(), &tampered).is_some());
            }
        }
    }

    #[test]
    fn refusals_say_what_was_wrong() {
        let unsigned = RemotingCommand::request(10);
        let refusal = check(&signer(), &unsigned).expect("refused");
        assert_eq!(refusal.code(), response::NO_PERMISSION);
        assert!(
            refusal
                .remark()
                .unwrap_or_default()
                .contains("no accessKey")
        );
        let mut stranger = RemotingCommand::request(10);
        AclSigner::new("other", "SK")
            .expect("credentials")
            .before_request("a", &mut stranger);
        let refusal = check(&signer(), &stranger).expect("refused");
        assert!(
            refusal
                .remark()
                .unwrap_or_default()
                .contains("unknown accessKey other")
        );
    }
}
