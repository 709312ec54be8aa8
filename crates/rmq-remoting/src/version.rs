//! Remoting protocol versions (Java: `MQVersion.Version` ordinals) and what servers do with them.
//!
//! Every command carries the sender's version. Servers look at it in three places
//! (protocol.md §1.9):
//! - name servers from 4.9.4 answer routes in standard JSON when `version >= 401`
//!   ([`V4_9_4`]); older ones always use the unquoted-integer-key dialect, which rmq parses too;
//! - brokers honour `maxReconsumeTimes` for retry topics when `version >= 121`;
//! - a 5.3.1+ server that is shutting down answers [`GO_AWAY`](crate::code::response::GO_AWAY)
//!   instead of silently dropping the request when `version > 475` ([`V5_3_1`]).
//!
//! rmq sends [`DEFAULT`] = [`V5_3_3`] (479), the version of the current Java client: it gets
//! standard-JSON routes, and a graceful GO_AWAY (which the producer retries) from a 5.x server
//! going down. Servers older than 4.9.4 read the version only as a number and treat 479 as
//! "newer than me" exactly as they treat a current Java client, so nothing is lost against
//! them. Any other value can be configured, e.g. [`V4_9_8`] to mimic a 4.9.8 client.

/// 3.0.0-SNAPSHOT, the first ordinal.
pub const V3_0_0_SNAPSHOT: i32 = 0;
/// 3.4.9: brokers honour `maxReconsumeTimes` from this version on.
pub const V3_4_9: i32 = 121;
/// 4.5.2: what the Go client always sends.
pub const V4_5_2: i32 = 317;
/// 4.9.3: the last version before FastCodes, compression type bits and standard-JSON routes.
pub const V4_9_3: i32 = 399;
/// 4.9.4: standard-JSON route threshold.
pub const V4_9_4: i32 = 401;
/// 4.9.7.
pub const V4_9_7: i32 = 407;
/// 4.9.8: what the Java 4.9.8 client sends.
pub const V4_9_8: i32 = 409;
/// 5.0.0.
pub const V5_0_0: i32 = 413;
/// 5.1.0.
pub const V5_1_0: i32 = 433;
/// 5.2.0.
pub const V5_2_0: i32 = 453;
/// 5.3.1: servers answer GO_AWAY to versions strictly above this while shutting down.
pub const V5_3_1: i32 = 475;
/// 5.3.2.
pub const V5_3_2: i32 = 477;
/// 5.3.3: the Java client's `MQVersion.CURRENT_VERSION`.
pub const V5_3_3: i32 = 479;
/// `HIGHER_VERSION`, the last ordinal; Java maps anything above it to this name.
pub const HIGHER_VERSION: i32 = 612;

/// The version rmq stamps on every command unless configured otherwise.
pub const DEFAULT: i32 = V5_3_3;

/// Whether a name server answers a request of this version with standard-JSON routes.
///
/// ```
/// use rmq_remoting::version;
/// assert!(version::gets_standard_json_routes(version::V4_9_8));
/// assert!(!version::gets_standard_json_routes(version::V4_5_2));
/// ```
pub const fn gets_standard_json_routes(version: i32) -> bool {
    version >= V4_9_4
}

/// Whether a shutting-down 5.3.1+ server answers a request of this version with GO_AWAY.
///
/// ```
/// use rmq_remoting::version;
/// assert!(version::gets_go_away(version::V5_3_3));
/// assert!(!version::gets_go_away(version::V5_3_1));
/// ```
pub const fn gets_go_away(version: i32) -> bool {
    version > V5_3_1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// V68: the ordinals of the versions that matter.
    #[test]
    fn v68_version_numbers() {
        assert_eq!(V4_5_2, 317);
        assert_eq!(V4_9_3, 399);
        assert_eq!(V4_9_4, 401);
        assert_eq!(V4_9_7, 407);
        assert_eq!(V4_9_8, 409);
        assert_eq!(V5_0_0, 413);
        assert_eq!(V5_1_0, 433);
        assert_eq!(V5_2_0, 453);
        assert_eq!(V5_3_1, 475);
        assert_eq!(V5_3_2, 477);
        assert_eq!(V5_3_3, 479);
        assert_eq!(HIGHER_VERSION, 612);
        assert!(gets_standard_json_routes(DEFAULT) && gets_go_away(DEFAULT));
    }
}
