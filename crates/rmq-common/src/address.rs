//! Local addresses and broker address rewriting: the clientId IP, the `UNIQ_KEY` IP, and the
//! VIP-channel port.
//!
//! Java: `MixAll.brokerVIPChannel`, `RemotingUtil.getLocalAddress` (HEAD `NetworkUtil`),
//! `UtilAll.getIP`, `MessageClientIDSetter.createFakeIP`

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{SystemTime, UNIX_EPOCH};

/// The broker address for the VIP channel: the port minus 2 when `enabled` (10911 → 10909).
/// The address is split at its last `:`; one without a parsable port is returned unchanged
/// (borrowed, as it is when `enabled` is false).
///
/// Java: `MixAll.brokerVIPChannel`
///
/// ```
/// use rmq_common::address::vip_channel_address;
///
/// assert_eq!(vip_channel_address(true, "127.0.0.1:10911"), "127.0.0.1:10909");
/// assert_eq!(vip_channel_address(true, "[::1]:10911"), "[::1]:10909");
/// assert_eq!(vip_channel_address(false, "127.0.0.1:10911"), "127.0.0.1:10911");
/// ```
pub fn vip_channel_address(enabled: bool, addr: &str) -> Cow<'_, str> {
    if !enabled {
        return Cow::Borrowed(addr);
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Cow::Borrowed(addr);
    };
    // Integer.parseInt semantics: an optional sign, decimal digits, 32-bit range.
    match port.parse::<i32>().ok().and_then(|p| p.checked_sub(2)) {
        Some(vip_port) => Cow::Owned(format!("{host}:{vip_port}")),
        None => Cow::Borrowed(addr),
    }
}

/// One address of a local interface, as the pickers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceAddr {
    /// The address.
    pub ip: IpAddr,
    /// Whether the clientId picker skips its interface, as Java does for bridges, virtual,
    /// point-to-point (VPN tunnels) and down interfaces.
    pub skipped: bool,
}

/// The addresses of all local interfaces, in the order the OS lists them.
fn interface_addrs() -> Vec<InterfaceAddr> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    interfaces
        .into_iter()
        .map(|iface| InterfaceAddr {
            ip: iface.ip(),
            skipped: is_bridge(&iface.name) || iface.is_p2p() || !iface.is_oper_up(),
        })
        .collect()
}

fn is_bridge(name: &str) -> bool {
    cfg!(target_os = "linux")
        && !name.contains('/')
        && std::path::Path::new("/sys/class/net")
            .join(name)
            .join("bridge")
            .exists()
}

/// Java `Inet6Address.getHostAddress`: eight lower-case hex groups, no `::` compression.
fn java_ipv6_string(ip: &Ipv6Addr) -> String {
    let groups: Vec<String> = ip.segments().iter().map(|s| format!("{s:x}")).collect();
    groups.join(":")
}

/// The IP used in the clientId, chosen from `addrs` with Java's rules: skip bridges,
/// point-to-point and down interfaces, and loopback; the first IPv4 not starting with `127.0` or `192.168`, else the last IPv4, else
/// the first IPv6 as `[addr]`. `None` when nothing qualifies.
///
/// Java: `RemotingUtil.getLocalAddress`
///
/// ```
/// use std::net::IpAddr;
/// use rmq_common::address::{pick_local_client_ip, InterfaceAddr};
///
/// let addrs: Vec<InterfaceAddr> = ["192.168.1.100", "10.0.0.5"]
///     .iter()
///     .map(|ip| InterfaceAddr { ip: ip.parse().unwrap(), skipped: false })
///     .collect();
/// assert_eq!(pick_local_client_ip(&addrs).as_deref(), Some("10.0.0.5"));
/// ```
pub fn pick_local_client_ip(addrs: &[InterfaceAddr]) -> Option<String> {
    let usable = || {
        addrs
            .iter()
            .filter(|a| !a.skipped && !a.ip.is_loopback())
            .map(|a| a.ip)
    };
    let mut last_v4 = None;
    for ip in usable() {
        if let IpAddr::V4(v4) = ip {
            let text = v4.to_string();
            if !text.starts_with("127.0") && !text.starts_with("192.168") {
                return Some(text);
            }
            last_v4 = Some(text);
        }
    }
    if last_v4.is_some() {
        return last_v4;
    }
    usable().find_map(|ip| match ip {
        IpAddr::V6(v6) => Some(format!("[{}]", java_ipv6_string(&v6))),
        IpAddr::V4(_) => None,
    })
}

/// The IP used in the clientId for this host (see [`pick_local_client_ip`]); `127.0.0.1`
/// when no interface qualifies.
///
/// Java: `ClientConfig.clientIP` = `RemotingUtil.getLocalAddress()`
///
/// ```
/// let ip = rmq_common::address::local_client_ip();
/// assert!(!ip.is_empty());
/// ```
pub fn local_client_ip() -> String {
    pick_local_client_ip(&interface_addrs()).unwrap_or_else(|| "127.0.0.1".to_owned())
}

/// Java `UtilAll.isInternalIP` (HEAD): 10/8, 172.16/12, 192.168/16 and 127/8.
fn is_internal_v4(ip: &Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 10 || (a == 172 && (16..=31).contains(&b)) || (a == 192 && b == 168) || a == 127
}

/// Java `UtilAll.isInternalV6IP`: any-local, link-local (fe80::/10), loopback or site-local
/// (fec0::/10).
fn is_internal_v6(ip: &Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
}

/// The IP embedded in `UNIQ_KEY` ids, chosen from `addrs`: the first IPv4 that is not
/// internal, else the first IPv6 that is not internal, else the first internal IPv4 (a
/// non-127 one replacing a 127 one). `None` when nothing qualifies.
///
/// Java: `UtilAll.getIP` (HEAD). Java returns the first external address of either family
/// in scan order; this follows the protocol notes and prefers IPv4, which only matters on
/// hosts whose global IPv6 address is listed before their public IPv4 one.
///
/// ```
/// use std::net::IpAddr;
/// use rmq_common::address::pick_unique_id_ip;
///
/// let addrs: Vec<IpAddr> = ["127.0.0.1", "192.168.1.100"].iter().map(|a| a.parse().unwrap()).collect();
/// assert_eq!(pick_unique_id_ip(&addrs), Some("192.168.1.100".parse().unwrap()));
/// ```
pub fn pick_unique_id_ip(addrs: &[IpAddr]) -> Option<IpAddr> {
    let mut internal_v4: Option<Ipv4Addr> = None;
    let mut external_v6 = None;
    for ip in addrs {
        match ip {
            IpAddr::V4(v4) if !is_internal_v4(v4) => return Some(*ip),
            IpAddr::V4(v4) => {
                if internal_v4.is_none_or(|kept| kept.octets()[0] == 127) {
                    internal_v4 = Some(*v4);
                }
            }
            IpAddr::V6(v6) if !is_internal_v6(v6) => {
                external_v6.get_or_insert(*ip);
            }
            IpAddr::V6(_) => {}
        }
    }
    external_v6.or(internal_v4.map(IpAddr::V4))
}

/// Java `MessageClientIDSetter.createFakeIP`: the low 4 bytes of the current epoch millis.
fn fake_ip(now_ms: u64) -> IpAddr {
    let [_, _, _, _, a, b, c, d] = now_ms.to_be_bytes();
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// The IP embedded in this host's `UNIQ_KEY` ids (see [`pick_unique_id_ip`]), or a fake one
/// derived from the clock when no interface qualifies, as Java does.
///
/// Java: `MessageClientIDSetter` static initialiser
///
/// ```
/// let ip = rmq_common::address::unique_id_ip();
/// assert!(ip.is_ipv4() || ip.is_ipv6());
/// ```
pub fn unique_id_ip() -> IpAddr {
    let addrs: Vec<IpAddr> = interface_addrs().into_iter().map(|a| a.ip).collect();
    pick_unique_id_ip(&addrs).unwrap_or_else(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        fake_ip(now)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(ip: &str) -> InterfaceAddr {
        InterfaceAddr {
            ip: ip.parse().unwrap(),
            skipped: false,
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    #[test]
    fn v66_vip_channel() {
        assert_eq!(
            vip_channel_address(true, "127.0.0.1:10911"),
            "127.0.0.1:10909"
        );
        assert_eq!(vip_channel_address(true, "[::1]:10911"), "[::1]:10909");
        assert_eq!(
            vip_channel_address(false, "127.0.0.1:10911"),
            "127.0.0.1:10911"
        );
        assert_eq!(vip_channel_address(true, "broker"), "broker");
        assert_eq!(vip_channel_address(true, "broker:x"), "broker:x");
        assert_eq!(vip_channel_address(true, "h:-2147483648"), "h:-2147483648");
        assert_eq!(vip_channel_address(true, "h:+10911"), "h:10909");
    }

    #[test]
    fn client_ip_prefers_public_ipv4() {
        let addrs = [
            iface("127.0.0.1"),
            iface("192.168.1.100"),
            iface("10.0.0.5"),
            iface("172.17.0.1"),
        ];
        assert_eq!(pick_local_client_ip(&addrs).as_deref(), Some("10.0.0.5"));
    }

    #[test]
    fn client_ip_falls_back_to_last_ipv4_then_ipv6() {
        let addrs = [
            iface("192.168.1.100"),
            iface("192.168.2.1"),
            iface("fe80::1"),
        ];
        assert_eq!(pick_local_client_ip(&addrs).as_deref(), Some("192.168.2.1"));
        let addrs = [iface("::1"), iface("2408:4004:180::898a"), iface("fe80::1")];
        assert_eq!(
            pick_local_client_ip(&addrs).as_deref(),
            Some("[2408:4004:180:0:0:0:0:898a]")
        );
        assert_eq!(pick_local_client_ip(&[iface("127.0.0.1")]), None);
        assert_eq!(pick_local_client_ip(&[]), None);
    }

    #[test]
    fn client_ip_skips_bridges() {
        let addrs = [
            InterfaceAddr {
                ip: "10.1.1.1".parse().unwrap(),
                skipped: true,
            },
            iface("192.168.1.100"),
        ];
        assert_eq!(
            pick_local_client_ip(&addrs).as_deref(),
            Some("192.168.1.100")
        );
    }

    #[test]
    fn unique_id_ip_rules() {
        assert_eq!(
            pick_unique_id_ip(&ips(&["127.0.0.1", "10.0.0.1", "8.8.8.8"])),
            Some("8.8.8.8".parse().unwrap())
        );
        // An external IPv6 wins over internal IPv4 but not over an external IPv4.
        assert_eq!(
            pick_unique_id_ip(&ips(&["10.0.0.1", "2408::1", "9.9.9.9"])),
            Some("9.9.9.9".parse().unwrap())
        );
        assert_eq!(
            pick_unique_id_ip(&ips(&["10.0.0.1", "fe80::1", "2408::1"])),
            Some("2408::1".parse().unwrap())
        );
        // Internal: the first non-127 one.
        assert_eq!(
            pick_unique_id_ip(&ips(&["127.0.0.1", "172.16.0.1", "10.0.0.1", "::1"])),
            Some("172.16.0.1".parse().unwrap())
        );
        assert_eq!(
            pick_unique_id_ip(&ips(&["127.0.0.1"])),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(pick_unique_id_ip(&ips(&["::1", "fec0::1", "::"])), None);
        assert_eq!(pick_unique_id_ip(&[]), None);
    }

    #[test]
    fn internal_ranges() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "127.0.0.1",
        ] {
            assert!(is_internal_v4(&ip.parse().unwrap()), "{ip}");
        }
        for ip in ["172.15.0.1", "172.32.0.1", "192.169.0.1", "11.0.0.1"] {
            assert!(!is_internal_v4(&ip.parse().unwrap()), "{ip}");
        }
        assert!(is_internal_v6(&"febf::1".parse().unwrap()));
        assert!(is_internal_v6(&"feff::1".parse().unwrap()));
        assert!(!is_internal_v6(&"fc00::1".parse().unwrap()));
    }

    #[test]
    fn fake_ip_uses_low_bytes_of_millis() {
        assert_eq!(
            fake_ip(0x0000_018E_1234_5678),
            IpAddr::V4(Ipv4Addr::new(0x12, 0x34, 0x56, 0x78))
        );
    }

    #[test]
    fn real_interfaces_do_not_panic() {
        assert!(!local_client_ip().is_empty());
        let _ = unique_id_ip();
    }
}
