//! The unquoted-integer-key route dialect (fastjson writes `HashMap<Long, _>` keys bare).

use std::borrow::Cow;

/// Quotes bare integer object keys so that fastjson's `{0:"a",1:"b"}` becomes valid JSON
/// `{"0":"a","1":"b"}`. Text inside strings is never touched, so addresses or names holding
/// `:` or `,` survive. Returns the input unchanged (borrowed) when there is nothing to fix.
///
/// ```
/// use rmq_remoting::body::quote_bare_integer_keys;
/// let fixed = quote_bare_integer_keys(br#"{"brokerAddrs":{0:"a:1",1:"b,2"}}"#);
/// assert_eq!(&*fixed, br#"{"brokerAddrs":{"0":"a:1","1":"b,2"}}"#);
/// ```
pub fn quote_bare_integer_keys(json: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'"' => i = skip_string(json, i),
            b'{' | b',' => {
                i += 1;
                let key_start = skip_whitespace(json, i);
                let mut end = key_start;
                if json.get(end) == Some(&b'-') {
                    end += 1;
                }
                let digits_start = end;
                while json.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
                if end > digits_start && json.get(skip_whitespace(json, end)) == Some(&b':') {
                    let buf = out.get_or_insert_with(|| Vec::with_capacity(json.len() + 16));
                    buf.extend_from_slice(&json[copied..key_start]);
                    buf.push(b'"');
                    buf.extend_from_slice(&json[key_start..end]);
                    buf.push(b'"');
                    copied = end;
                    i = end;
                }
            }
            _ => i += 1,
        }
    }
    match out {
        Some(mut buf) => {
            buf.extend_from_slice(&json[copied..]);
            Cow::Owned(buf)
        }
        None => Cow::Borrowed(json),
    }
}

/// The index just past the string starting at `start` (which holds `"`).
fn skip_string(json: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < json.len() {
        match json[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    json.len()
}

fn skip_whitespace(json: &[u8], mut i: usize) -> usize {
    while json.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Rewrites standard route JSON into the dialect of name servers before 4.9.4 (and of any
/// 4.9.4+ name server asked with a version below 401): the integer keys of every
/// `brokerAddrs` object (Java `Map<Long, String>`) and of every static-topic `currIdMap`
/// object (Java `Map<Integer, Integer>`) lose their quotes, `{"0":"a"}` becoming `{0:"a"}`.
/// These are the route's only maps with integer keys; string-keyed maps keep their quotes,
/// as fastjson writes them. Strings are copied untouched, so a name or address that looks
/// like JSON cannot be corrupted. The inverse of [`quote_bare_integer_keys`] for route
/// bodies; what rmq's test name server sends to old clients.
///
/// ```
/// use rmq_remoting::body::unquote_broker_ids;
/// let legacy = unquote_broker_ids(br#"{"brokerAddrs":{"0":"a:1"},"m":{"1":"x"}}"#);
/// assert_eq!(&legacy[..], br#"{"brokerAddrs":{0:"a:1"},"m":{"1":"x"}}"#);
/// let mapping = unquote_broker_ids(br#"{"currIdMap":{"0":0,"3":1},"epoch":1}"#);
/// assert_eq!(&mapping[..], br#"{"currIdMap":{0:0,3:1},"epoch":1}"#);
/// ```
pub fn unquote_broker_ids(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    // After the key `brokerAddrs` or `currIdMap`, until its `{`; then inside that object
    // until its `}` (neither holds nested objects).
    let mut awaiting_map = false;
    let mut in_map = false;
    let mut i = 0;
    while i < json.len() {
        let byte = json[i];
        match byte {
            b'"' => {
                let end = skip_string(json, i);
                let content = &json[(i + 1).min(end)..end.saturating_sub(1).max(i + 1)];
                let is_key = json.get(skip_whitespace(json, end)) == Some(&b':');
                if in_map && is_key && is_integer(content) {
                    out.extend_from_slice(content);
                } else {
                    out.extend_from_slice(&json[i..end]);
                }
                awaiting_map = is_key && INTEGER_KEYED_MAPS.contains(&content);
                i = end;
                continue;
            }
            b'{' if awaiting_map => {
                awaiting_map = false;
                in_map = true;
            }
            b'}' => in_map = false,
            b':' => {}
            _ if byte.is_ascii_whitespace() => {}
            _ => awaiting_map = false,
        }
        out.push(byte);
        i += 1;
    }
    out
}

/// The route's maps whose Java keys are integers, which fastjson writes bare.
const INTEGER_KEYED_MAPS: [&[u8]; 2] = [b"brokerAddrs", b"currIdMap"];

/// `-?[0-9]+`, the keys fastjson writes bare.
fn is_integer(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_valid_json_borrowed() {
        let json = br#"{"a":[1,2,{"3":4}],"s":"{5:6}"}"#;
        assert!(matches!(quote_bare_integer_keys(json), Cow::Borrowed(_)));
    }

    #[test]
    fn quotes_keys_with_whitespace_and_negatives_but_not_array_items() {
        let fixed = quote_bare_integer_keys(b"{ 0 : \"x\", -1:\"y\", \"l\":[1, 2]}");
        assert_eq!(&*fixed, b"{ \"0\" : \"x\", \"-1\":\"y\", \"l\":[1, 2]}");
    }

    #[test]
    fn escaped_quotes_inside_strings_do_not_confuse_it() {
        let fixed = quote_bare_integer_keys(br#"{"k":"a\",{1:","m":{2:"z"}}"#);
        assert_eq!(&*fixed, br#"{"k":"a\",{1:","m":{"2":"z"}}"#);
    }

    #[test]
    fn truncated_input_does_not_panic() {
        for json in [&b"{"[..], b"{1", b"{\"", b"{\"\\", b",-", b"{12 "] {
            let _ = quote_bare_integer_keys(json);
        }
        for json in [
            "",
            "\"",
            "{\"brokerAddrs\"",
            "{\"brokerAddrs\":{\"0",
            "\"\\",
        ] {
            let _ = unquote_broker_ids(json.as_bytes());
        }
    }

    const V42: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.47:10911","1":"192.168.0.47:10921"},"brokerName":"broker-a","cluster":"TestCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;
    const V43: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"192.168.0.47:10911",1:"192.168.0.47:10921"},"brokerName":"broker-a","cluster":"TestCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;

    #[test]
    fn v43_is_the_legacy_form_of_v42_and_back() {
        let legacy = unquote_broker_ids(V42.as_bytes());
        assert_eq!(String::from_utf8_lossy(&legacy), V43);
        assert_eq!(&*quote_bare_integer_keys(&legacy), V42.as_bytes());
    }

    #[test]
    fn only_integer_keyed_route_maps_lose_their_quotes() {
        // `currIdMap` as a value, or a string-keyed map holding one, is left alone.
        let json = br#"{"topic":"currIdMap","m":{"1":2},"topicQueueMappingByBroker":{"7":{"currIdMap":{"0":0,"-3":1},"epoch":2}}}"#;
        let legacy = unquote_broker_ids(json);
        assert_eq!(
            String::from_utf8_lossy(&legacy),
            r#"{"topic":"currIdMap","m":{"1":2},"topicQueueMappingByBroker":{"7":{"currIdMap":{0:0,-3:1},"epoch":2}}}"#
        );
        assert_eq!(&*quote_bare_integer_keys(&legacy), &json[..]);
    }

    #[test]
    fn strings_that_look_like_keys_survive_unquoting() {
        let json = br#"{"brokerDatas":[{"brokerAddrs":{"0":"x\",\"brokerAddrs\":{\"1\":\"y"},"brokerName":"n{\"2\":3}"}],"filterServerTable":{"7":["8"]}}"#;
        let legacy = unquote_broker_ids(json);
        let text = String::from_utf8_lossy(&legacy);
        assert!(
            text.starts_with(r#"{"brokerDatas":[{"brokerAddrs":{0:"x\""#),
            "{text}"
        );
        assert!(
            text.contains(r#""filterServerTable":{"7":["8"]}"#),
            "{text}"
        );
        assert_eq!(&*quote_bare_integer_keys(&legacy), &json[..]);
    }
}
