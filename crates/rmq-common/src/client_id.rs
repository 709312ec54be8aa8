//! The clientId a client instance registers with brokers, and the instance name behind it.
//!
//! Java: `ClientConfig.buildMQClientId`, `ClientConfig.changeInstanceNameToPID`

use crate::validators::is_blank;

/// The instance name used when none is configured (system property `rocketmq.client.name`).
///
/// Java: `ClientConfig.instanceName` default
pub const DEFAULT_INSTANCE_NAME: &str = "DEFAULT";

/// `ip@instanceName[@unitName][@STREAM]`; a blank unit name is left out.
///
/// Java: `ClientConfig.buildMQClientId`
///
/// ```
/// use rmq_common::client_id::build_client_id;
///
/// assert_eq!(
///     build_client_id("192.168.1.100", "12345#1234567890123", Some("unitA"), false),
///     "192.168.1.100@12345#1234567890123@unitA"
/// );
/// ```
pub fn build_client_id(
    ip: &str,
    instance_name: &str,
    unit_name: Option<&str>,
    stream: bool,
) -> String {
    let mut id = format!("{ip}@{instance_name}");
    if let Some(unit) = unit_name.filter(|u| !is_blank(u)) {
        id.push('@');
        id.push_str(unit);
    }
    if stream {
        id.push_str("@STREAM");
    }
    id
}

/// Replaces the default instance name with `pid#nanos`, so producers in different processes
/// on one host get distinct clientIds; any other name is kept.
///
/// Java: `ClientConfig.changeInstanceNameToPID` (`UtilAll.getPid() + "#" + System.nanoTime()`)
///
/// ```
/// use rmq_common::client_id::instance_name_for_pid;
///
/// assert_eq!(instance_name_for_pid("DEFAULT", 12345, 1234567890123), "12345#1234567890123");
/// assert_eq!(instance_name_for_pid("myInst", 12345, 1), "myInst");
/// ```
pub fn instance_name_for_pid(name: &str, pid: u32, nanos: u64) -> String {
    if name == DEFAULT_INSTANCE_NAME {
        format!("{pid}#{nanos}")
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &str = "192.168.1.100";

    #[test]
    fn v67_client_id() {
        let instance = instance_name_for_pid(DEFAULT_INSTANCE_NAME, 12345, 1_234_567_890_123);
        assert_eq!(
            build_client_id(IP, &instance, None, false),
            "192.168.1.100@12345#1234567890123"
        );
        assert_eq!(
            build_client_id(IP, &instance, Some("unitA"), false),
            "192.168.1.100@12345#1234567890123@unitA"
        );
        let named = instance_name_for_pid("myInst", 12345, 1_234_567_890_123);
        assert_eq!(
            build_client_id(IP, &named, None, false),
            "192.168.1.100@myInst"
        );
        assert_eq!(
            build_client_id(IP, &instance, None, true),
            "192.168.1.100@12345#1234567890123@STREAM"
        );
        assert_eq!(
            build_client_id(IP, &instance, Some("unitA"), true),
            "192.168.1.100@12345#1234567890123@unitA@STREAM"
        );
    }

    #[test]
    fn blank_unit_name_is_ignored() {
        assert_eq!(
            build_client_id(IP, "i", Some(" "), false),
            "192.168.1.100@i"
        );
        assert_eq!(build_client_id(IP, "i", Some(""), false), "192.168.1.100@i");
    }
}
