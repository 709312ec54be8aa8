//! The sender's language carried in every command header (Java: `LanguageCode`).

use std::fmt;
use std::str::FromStr;

/// The language a peer reports in the `language` header field (Java: `LanguageCode`).
///
/// On the ROCKETMQ binary wire it travels as one byte ([`code`](Self::code)); in JSON headers
/// as the enum name ([`name`](Self::name)). A code or name this enum does not know decodes as
/// [`LanguageCode::Other`], so an exotic peer never makes a frame undecodable.
///
/// ```
/// use rmq_remoting::LanguageCode;
///
/// assert_eq!(LanguageCode::from_code(12), Some(LanguageCode::Rust));
/// assert_eq!("GO".parse::<LanguageCode>(), Ok(LanguageCode::Go));
/// assert_eq!(LanguageCode::Java.name(), "JAVA");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LanguageCode {
    /// `JAVA` (0): what every Java client request carries, and rmq's default.
    #[default]
    Java,
    /// `CPP` (1).
    Cpp,
    /// `DOTNET` (2).
    DotNet,
    /// `PYTHON` (3).
    Python,
    /// `DELPHI` (4).
    Delphi,
    /// `ERLANG` (5).
    Erlang,
    /// `RUBY` (6).
    Ruby,
    /// `OTHER` (7); also what unknown codes and names decode to.
    Other,
    /// `HTTP` (8).
    Http,
    /// `GO` (9).
    Go,
    /// `PHP` (10).
    Php,
    /// `OMS` (11).
    Oms,
    /// `RUST` (12): known only to servers from 4.9.4 on.
    Rust,
    /// `NODE_JS` (13): known only to 5.x servers.
    NodeJs,
}

const ALL: [(LanguageCode, u8, &str); 14] = [
    (LanguageCode::Java, 0, "JAVA"),
    (LanguageCode::Cpp, 1, "CPP"),
    (LanguageCode::DotNet, 2, "DOTNET"),
    (LanguageCode::Python, 3, "PYTHON"),
    (LanguageCode::Delphi, 4, "DELPHI"),
    (LanguageCode::Erlang, 5, "ERLANG"),
    (LanguageCode::Ruby, 6, "RUBY"),
    (LanguageCode::Other, 7, "OTHER"),
    (LanguageCode::Http, 8, "HTTP"),
    (LanguageCode::Go, 9, "GO"),
    (LanguageCode::Php, 10, "PHP"),
    (LanguageCode::Oms, 11, "OMS"),
    (LanguageCode::Rust, 12, "RUST"),
    (LanguageCode::NodeJs, 13, "NODE_JS"),
];

impl LanguageCode {
    /// The one-byte code used by the ROCKETMQ binary header.
    ///
    /// ```
    /// assert_eq!(rmq_remoting::LanguageCode::Rust.code(), 12);
    /// ```
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The enum name used by JSON headers, e.g. `"JAVA"`.
    ///
    /// ```
    /// assert_eq!(rmq_remoting::LanguageCode::NodeJs.name(), "NODE_JS");
    /// ```
    pub const fn name(self) -> &'static str {
        ALL[self as usize].2
    }

    /// Looks a binary code up; `None` for a code no RocketMQ version defines.
    ///
    /// ```
    /// use rmq_remoting::LanguageCode;
    /// assert_eq!(LanguageCode::from_code(9), Some(LanguageCode::Go));
    /// assert_eq!(LanguageCode::from_code(99), None);
    /// ```
    pub fn from_code(code: u8) -> Option<Self> {
        ALL.get(usize::from(code)).map(|entry| entry.0)
    }

    /// Looks a JSON enum name up; `None` for a name no RocketMQ version defines.
    ///
    /// ```
    /// use rmq_remoting::LanguageCode;
    /// assert_eq!(LanguageCode::from_name("DOTNET"), Some(LanguageCode::DotNet));
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.iter()
            .find(|entry| entry.2 == name)
            .map(|entry| entry.0)
    }
}

impl fmt::Display for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`LanguageCode`] from a name it does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown language code name {0:?}")]
pub struct UnknownLanguage(pub String);

impl FromStr for LanguageCode {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| UnknownLanguage(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for (i, (lang, code, name)) in ALL.iter().enumerate() {
            assert_eq!(usize::from(*code), i);
            assert_eq!(lang.code(), *code);
            assert_eq!(lang.name(), *name);
            assert_eq!(LanguageCode::from_code(*code), Some(*lang));
            assert_eq!(name.parse::<LanguageCode>(), Ok(*lang));
        }
        assert_eq!(LanguageCode::from_code(14), None);
        assert!("SWIFT".parse::<LanguageCode>().is_err());
    }
}
