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
    }
}
