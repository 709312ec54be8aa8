//! Namespaces: wrapping and unwrapping `ns%resource` names, and reading a namespace from an
//! instance endpoint.
//!
//! Java: `NamespaceUtil`, `NameServerAddressUtils`, `ClientConfig.getNamespace` /
//! `getNamesrvAddr`

use std::borrow::Cow;

use crate::validators::is_system_topic;

/// Separates a namespace from a resource name.
///
/// Java: `NamespaceUtil.NAMESPACE_SEPARATOR`
pub const NAMESPACE_SEPARATOR: char = '%';

/// Prefix of retry topics.
///
/// Java: `MixAll.RETRY_GROUP_TOPIC_PREFIX`
pub const RETRY_PREFIX: &str = "%RETRY%";

/// Prefix of dead-letter topics.
///
/// Java: `MixAll.DLQ_GROUP_TOPIC_PREFIX`
pub const DLQ_PREFIX: &str = "%DLQ%";

/// Prefix of system consumer groups.
///
/// Java: `MixAll.CID_RMQ_SYS_PREFIX`
const SYSTEM_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

/// Prefix of instance endpoints that carry a namespace.
///
/// Java: `NameServerAddressUtils.INSTANCE_PREFIX`
const INSTANCE_PREFIX: &str = "MQ_INST_";

/// System topics and system consumer groups are never namespaced.
///
/// Java: `NamespaceUtil.isSystemResource`
fn is_system_resource(resource: &str) -> bool {
    is_system_topic(resource) || resource.starts_with(SYSTEM_GROUP_PREFIX)
}

/// Splits a leading `%RETRY%` or `%DLQ%` off `resource`.
///
/// Java: `NamespaceUtil.withOutRetryAndDLQ`
fn split_retry_dlq(resource: &str) -> (&str, &str) {
    for prefix in [RETRY_PREFIX, DLQ_PREFIX] {
        if let Some(rest) = resource.strip_prefix(prefix) {
            return (prefix, rest);
        }
    }
    ("", resource)
}

/// Whether `resource` (after any retry/DLQ prefix) already starts with `namespace%`.
fn has_namespace(resource: &str, namespace: &str) -> bool {
    let (_, rest) = split_retry_dlq(resource);
    rest.strip_prefix(namespace)
        .is_some_and(|r| r.starts_with(NAMESPACE_SEPARATOR))
}

/// Prefixes `resource` with `namespace%`, after any `%RETRY%`/`%DLQ%` prefix. Returns the
/// resource unchanged when either is empty, when it is a system resource, or when it already
/// carries the namespace.
///
/// Java: `NamespaceUtil.wrapNamespace`
///
/// ```
/// use rmq_common::namespace::wrap;
///
/// assert_eq!(wrap("MQ_INST_XXX", "TOPIC_XXX"), "MQ_INST_XXX%TOPIC_XXX");
/// assert_eq!(wrap("MQ_INST_XXX", "%RETRY%GID_XXX"), "%RETRY%MQ_INST_XXX%GID_XXX");
/// assert_eq!(wrap("MQ_INST_XXX", "rmq_sys_topic"), "rmq_sys_topic");
/// ```
pub fn wrap<'a>(namespace: &str, resource: &'a str) -> Cow<'a, str> {
    if namespace.is_empty()
        || resource.is_empty()
        || is_system_resource(resource)
        || has_namespace(resource, namespace)
    {
        return Cow::Borrowed(resource);
    }
    let (prefix, rest) = split_retry_dlq(resource);
    let mut wrapped = String::with_capacity(resource.len() + namespace.len() + 1);
    wrapped.push_str(prefix);
    wrapped.push_str(namespace);
    wrapped.push(NAMESPACE_SEPARATOR);
    wrapped.push_str(rest);
    Cow::Owned(wrapped)
}

/// Removes `namespace` from `resource` if (after any retry/DLQ prefix) it starts with
/// `namespace%`; otherwise returns it unchanged.
///
/// Java: `NamespaceUtil.withoutNamespace(String, String)`
///
/// ```
/// use rmq_common::namespace::without_namespace;
///
/// assert_eq!(without_namespace("MQ_INST_XXX%TOPIC_XXX", "MQ_INST_XXX"), "TOPIC_XXX");
/// assert_eq!(without_namespace("%RETRY%MQ_INST_XXX%GID_XXX", "MQ_INST_XXX"), "%RETRY%GID_XXX");
/// assert_eq!(without_namespace("MQ_INST_XXX%TOPIC_XXX", "OTHER"), "MQ_INST_XXX%TOPIC_XXX");
/// ```
pub fn without_namespace<'a>(resource: &'a str, namespace: &str) -> Cow<'a, str> {
    if resource.is_empty() || namespace.is_empty() || !has_namespace(resource, namespace) {
        return Cow::Borrowed(resource);
    }
    strip_any_namespace(resource)
}

/// Removes whatever precedes the first `%` (after any retry/DLQ prefix), if that `%` is not
/// the first character; system resources are returned unchanged.
///
/// Java: `NamespaceUtil.withoutNamespace(String)`
///
/// ```
/// use rmq_common::namespace::strip_any_namespace;
///
/// assert_eq!(strip_any_namespace("MQ_INST_XXX%TOPIC_XXX"), "TOPIC_XXX");
/// assert_eq!(strip_any_namespace("A%B%C"), "B%C");
/// assert_eq!(strip_any_namespace("TOPIC"), "TOPIC");
/// ```
pub fn strip_any_namespace(resource: &str) -> Cow<'_, str> {
    if resource.is_empty() || is_system_resource(resource) {
        return Cow::Borrowed(resource);
    }
    let (prefix, rest) = split_retry_dlq(resource);
    match rest.find(NAMESPACE_SEPARATOR) {
        Some(index) if index > 0 => {
            let stripped = &rest[index + 1..];
            if prefix.is_empty() {
                Cow::Borrowed(stripped)
            } else {
                Cow::Owned(format!("{prefix}{stripped}"))
            }
        }
        _ => Cow::Borrowed(resource),
    }
}

/// The namespace of `resource` (the text before its first `%`, after any retry/DLQ prefix),
/// or `""`.
///
/// Java: `NamespaceUtil.getNamespaceFromResource`
///
/// ```
/// use rmq_common::namespace::namespace_of;
///
/// assert_eq!(namespace_of("%RETRY%MQ_INST_XXX%GID_XXX"), "MQ_INST_XXX");
/// assert_eq!(namespace_of("TOPIC_XXX"), "");
/// ```
pub fn namespace_of(resource: &str) -> &str {
    if resource.is_empty() || is_system_resource(resource) {
        return "";
    }
    let (_, rest) = split_retry_dlq(resource);
    match rest.find(NAMESPACE_SEPARATOR) {
        Some(index) if index > 0 => &rest[..index],
        _ => "",
    }
}

/// Java regex `\w`: ASCII letters, digits and `_`.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Java regex `.`: anything but a line terminator.
fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Whether `addr` matches `^(\w+://|)MQ_INST_\w+_\w+\..*`.
///
/// Java: `NameServerAddressUtils.validateInstanceEndpoint`
fn is_instance_endpoint(addr: &str) -> bool {
    let after_scheme = match addr.find("://") {
        Some(i) if i > 0 && addr.as_bytes()[..i].iter().all(|&b| is_word(b)) => &addr[i + 3..],
        _ => addr,
    };
    let Some(rest) = after_scheme.strip_prefix(INSTANCE_PREFIX) else {
        return false;
    };
    // `\w+_\w+\.`: a run of word characters with an inner `_`, then a dot.
    let word_len = rest.bytes().take_while(|&b| is_word(b)).count();
    let word = &rest.as_bytes()[..word_len];
    let inner_underscore = word.len() >= 3 && word[1..word.len() - 1].contains(&b'_');
    inner_underscore
        && rest[word_len..].starts_with('.')
        && !rest[word_len..].chars().any(is_line_terminator)
}

/// The namespace carried by an instance endpoint such as
/// `http://MQ_INST_1234_abcd.cn-hangzhou.mq.aliyuncs.com:80`: the text between the last `/`
/// and the first `.`. `None` when the address is not an instance endpoint.
///
/// Java: `ClientConfig.getNamespace` → `NameServerAddressUtils.parseInstanceIdFromEndpoint`
///
/// ```
/// use rmq_common::namespace::namespace_from_endpoint;
///
/// assert_eq!(
///     namespace_from_endpoint("http://MQ_INST_1234_abcd.cn-hangzhou.mq.aliyuncs.com:80").as_deref(),
///     Some("MQ_INST_1234_abcd")
/// );
/// assert_eq!(namespace_from_endpoint("127.0.0.1:9876"), None);
/// ```
pub fn namespace_from_endpoint(addr: &str) -> Option<String> {
    if !is_instance_endpoint(addr) {
        return None;
    }
    let start = addr.rfind('/').map_or(0, |i| i + 1);
    let end = addr.find('.')?;
    // Java throws when a '/' follows the first '.'; treat that as "no namespace".
    addr.get(start..end)
        .filter(|ns| !ns.is_empty())
        .map(str::to_owned)
}

/// The name-server address of an `http://` endpoint (the text after its last `/`); other
/// addresses are returned unchanged.
///
/// Java: `ClientConfig.getNamesrvAddr` → `NameServerAddressUtils.getNameSrvAddrFromNamesrvEndpoint`
///
/// ```
/// use rmq_common::namespace::strip_endpoint_scheme;
///
/// assert_eq!(
///     strip_endpoint_scheme("http://MQ_INST_1234_abcd.cn-hangzhou.mq.aliyuncs.com:80"),
///     "MQ_INST_1234_abcd.cn-hangzhou.mq.aliyuncs.com:80"
/// );
/// assert_eq!(strip_endpoint_scheme("127.0.0.1:9876"), "127.0.0.1:9876");
/// ```
pub fn strip_endpoint_scheme(addr: &str) -> &str {
    let trimmed = addr.trim_matches(|c: char| c <= ' ');
    if trimmed.starts_with("http://") && !trimmed.chars().any(is_line_terminator) {
        let start = addr.rfind('/').map_or(0, |i| i + 1);
        return &addr[start..];
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "MQ_INST_XXX";

    #[test]
    fn v65_wrap_namespace() {
        assert_eq!(wrap(NS, "TOPIC_XXX"), "MQ_INST_XXX%TOPIC_XXX");
        assert_eq!(wrap(NS, "MQ_INST_XXX%TOPIC_XXX"), "MQ_INST_XXX%TOPIC_XXX");
        assert!(matches!(
            wrap(NS, "MQ_INST_XXX%TOPIC_XXX"),
            Cow::Borrowed(_)
        ));
        assert_eq!(wrap(NS, "%RETRY%GID_XXX"), "%RETRY%MQ_INST_XXX%GID_XXX");
        assert_eq!(
            wrap(NS, "%RETRY%MQ_INST_XXX%GID_XXX"),
            "%RETRY%MQ_INST_XXX%GID_XXX"
        );
        assert_eq!(wrap(NS, "%DLQ%GID_XXX"), "%DLQ%MQ_INST_XXX%GID_XXX");
        assert_eq!(wrap(NS, "rmq_sys_topic"), "rmq_sys_topic");
        assert_eq!(wrap(NS, "TBW102"), "TBW102");
        assert_eq!(wrap(NS, "CID_RMQ_SYS_X"), "CID_RMQ_SYS_X");
        assert_eq!(wrap("", "T"), "T");
        assert_eq!(wrap(NS, ""), "");
    }

    #[test]
    fn v65_without_namespace() {
        assert_eq!(without_namespace("MQ_INST_XXX%TOPIC_XXX", NS), "TOPIC_XXX");
        assert_eq!(strip_any_namespace("MQ_INST_XXX%TOPIC_XXX"), "TOPIC_XXX");
        assert_eq!(without_namespace("MQ_INST_XXX%GID_XXX", NS), "GID_XXX");
        assert_eq!(
            without_namespace("%RETRY%MQ_INST_XXX%GID_XXX", NS),
            "%RETRY%GID_XXX"
        );
        assert_eq!(
            strip_any_namespace("%RETRY%MQ_INST_XXX%GID_XXX"),
            "%RETRY%GID_XXX"
        );
        assert_eq!(
            without_namespace("%RETRY%MQ_INST_XXX%GID_XXX", "MQ_INST_XXX1"),
            "%RETRY%MQ_INST_XXX%GID_XXX"
        );
        assert_eq!(strip_any_namespace("A%B%C"), "B%C");
        assert_eq!(strip_any_namespace("%DLQ%NS%G"), "%DLQ%G");
        assert_eq!(strip_any_namespace("%A"), "%A");
        assert_eq!(without_namespace("", NS), "");
        assert_eq!(without_namespace("T", ""), "T");
    }

    #[test]
    fn v65_namespace_from_resource() {
        assert_eq!(namespace_of("TOPIC_XXX"), "");
        assert_eq!(namespace_of("MQ_INST_XXX%TOPIC_XXX"), "MQ_INST_XXX");
        assert_eq!(namespace_of("%RETRY%MQ_INST_XXX%GID_XXX"), "MQ_INST_XXX");
        assert_eq!(namespace_of("rmq_sys_a%b"), "");
        assert_eq!(namespace_of(""), "");
    }

    #[test]
    fn v65_namespace_from_endpoint() {
        let endpoint = "http://MQ_INST_1234_abcd.cn-hangzhou.mq.aliyuncs.com:80";
        assert!(is_instance_endpoint(endpoint));
        assert_eq!(
            namespace_from_endpoint(endpoint).as_deref(),
            Some("MQ_INST_1234_abcd")
        );
        assert_eq!(
            strip_endpoint_scheme(endpoint),
            "MQ_INST_1234_abcd.cn-hangzhou.mq.aliyuncs.com:80"
        );
        assert_eq!(
            namespace_from_endpoint("MQ_INST_1_2.example.com:80").as_deref(),
            Some("MQ_INST_1_2")
        );
        for not_instance in [
            "127.0.0.1:9876",
            "MQ_INST_abc.example.com", // no inner '_'
            "MQ_INST_a_.example.com",  // '_' at the end of the run
            "MQ_INST_a_b",             // no dot
            "x-y://MQ_INST_a_b.c",     // scheme with a non-word char
            "MQ_INST_a_b.c\nd",        // line terminator
            "",
        ] {
            assert_eq!(
                namespace_from_endpoint(not_instance),
                None,
                "{not_instance:?}"
            );
        }
        // A '/' after the first '.' makes Java throw; we report no namespace.
        assert_eq!(namespace_from_endpoint("MQ_INST_a_b.c/d"), None);
        assert_eq!(
            strip_endpoint_scheme("127.0.0.1:9876;127.0.0.2:9876"),
            "127.0.0.1:9876;127.0.0.2:9876"
        );
    }
}
