//! Links to other websites that we store and show (service and organisation websites): one
//! type, [`WebLink`], whose only way to be made is [`WebLink::parse`]. It holds an http or https
//! address parsed by the `url` crate, so a page that renders an `href` from a `WebLink` can never
//! emit `javascript:`, `data:` or any other scheme, whatever an import or a form was given.
//! Email addresses and telephone numbers are not links here: they stay their own fields.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Longer than any real website address; a guard against pasted documents.
pub const MAX_LINK_LENGTH: usize = 2_000;

/// An http or https address, normalised (lower-case scheme and host, punycode, a path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebLink(url::Url);

/// Why a text is not a web link, in words that say what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    TooLong,
    /// A space, tab, line break or other control character inside it.
    Spaces,
    /// Another scheme, such as `javascript:`, `data:`, `mailto:` or `ftp:`.
    NotWeb(String),
    /// A user name or password in it (`https://user@host`), a trick to disguise the host.
    Credentials,
    Unreadable,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::TooLong => write!(
                f,
                "is longer than {MAX_LINK_LENGTH} characters: give the website's own address"
            ),
            LinkError::Spaces => write!(
                f,
                "has a space or a control character in it: give one web address, like https://www.example.org"
            ),
            LinkError::NotWeb(scheme) => write!(
                f,
                "is a {scheme}: address, not a website: give an address starting https:// or http://"
            ),
            LinkError::Credentials => write!(
                f,
                "has a user name or password in it: give the website's address without them"
            ),
            LinkError::Unreadable => write!(
                f,
                "is not a web address: give one like https://www.example.org"
            ),
        }
    }
}

impl std::error::Error for LinkError {}

impl WebLink {
    /// Reads a website address as a person or a feed gives it. A bare domain such as
    /// `www.example.org/food` is taken as https; anything else must be http or https.
    pub fn parse(raw: &str) -> Result<WebLink, LinkError> {
        let raw = raw.trim();
        if raw.len() > MAX_LINK_LENGTH {
            return Err(LinkError::TooLong);
        }
        // The url crate would quietly drop tabs and line breaks (as browsers do), turning
        // `java\tscript:` into `javascript:`; we refuse them instead.
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(LinkError::Spaces);
        }
        let url = match url::Url::parse(raw) {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) if looks_like_a_domain(raw) => {
                url::Url::parse(&format!("https://{raw}")).map_err(|_| LinkError::Unreadable)?
            }
            Err(_) => return Err(LinkError::Unreadable),
        };
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(LinkError::NotWeb(other.to_string())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(LinkError::Credentials);
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(LinkError::Unreadable);
        }
        Ok(WebLink(url))
    }

    /// The normalised address, as stored and as put in an `href`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host, for comparing two listings' websites.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }
}

/// `www.example.org` or `example.org/path`: a dotted name of letters, digits and hyphens
/// before any slash (so `/path` and `//host` are not taken for domains).
fn looks_like_a_domain(raw: &str) -> bool {
    let host = raw.split(['/', '?', '#']).next().unwrap_or_default();
    host.contains('.')
        && !host.starts_with('.')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

impl fmt::Display for WebLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for WebLink {
    type Err = LinkError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        WebLink::parse(raw)
    }
}

impl Serialize for WebLink {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WebLink {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        WebLink::parse(&raw).map_err(|e| serde::de::Error::custom(format!("{raw:?} {e}")))
    }
}

/// An optional field as typed or imported: empty means none; anything else must be a link.
pub fn optional_link(raw: &str) -> Result<Option<WebLink>, LinkError> {
    match raw.trim() {
        "" => Ok(None),
        raw => WebLink::parse(raw).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websites_are_normalised() {
        for (raw, normal) in [
            ("https://www.example.org", "https://www.example.org/"),
            (
                "  HTTP://Example.ORG/Food?day=sa  ",
                "http://example.org/Food?day=sa",
            ),
            ("www.efb.org.uk/food", "https://www.efb.org.uk/food"),
            ("example.org", "https://example.org/"),
            ("https://bücher.example/", "https://xn--bcher-kva.example/"),
            (
                "https://example.org/a\"b<c>",
                "https://example.org/a%22b%3Cc%3E",
            ),
        ] {
            assert_eq!(WebLink::parse(raw).unwrap().to_string(), normal, "{raw:?}");
        }
        assert_eq!(
            WebLink::parse("https://www.efb.org.uk/x").unwrap().host(),
            "www.efb.org.uk"
        );
    }

    #[test]
    fn only_web_addresses_are_links() {
        for (raw, why) in [
            (
                "javascript:alert(1)",
                LinkError::NotWeb("javascript".into()),
            ),
            (
                "JaVaScRiPt:alert(1)",
                LinkError::NotWeb("javascript".into()),
            ),
            (
                "data:text/html,<script>alert(1)</script>",
                LinkError::NotWeb("data".into()),
            ),
            ("vbscript:msgbox", LinkError::NotWeb("vbscript".into())),
            ("mailto:a@example.org", LinkError::NotWeb("mailto".into())),
            ("ftp://example.org", LinkError::NotWeb("ftp".into())),
            ("file:///etc/passwd", LinkError::NotWeb("file".into())),
            ("java\tscript:alert(1)", LinkError::Spaces),
            ("https://exa mple.org", LinkError::Spaces),
            ("https://example.org/\nSet-Cookie:x", LinkError::Spaces),
            ("https://example.org/\u{0}", LinkError::Spaces),
            ("https://user:pw@example.org", LinkError::Credentials),
            (
                "https://www.bank.example@evil.example",
                LinkError::Credentials,
            ),
            ("//evil.example", LinkError::Unreadable),
            ("/relative/path", LinkError::Unreadable),
            ("https://", LinkError::Unreadable),
            ("http://", LinkError::Unreadable),
            ("not a link", LinkError::Spaces),
            ("hello", LinkError::Unreadable),
            ("", LinkError::Unreadable),
        ] {
            assert_eq!(WebLink::parse(raw), Err(why), "{raw:?}");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_LINK_LENGTH));
        assert_eq!(WebLink::parse(&long), Err(LinkError::TooLong));
    }

    #[test]
    fn the_message_names_what_to_do() {
        let e = WebLink::parse("javascript:alert(1)").unwrap_err();
        assert!(e.to_string().contains("javascript: address"), "{e}");
        assert!(e.to_string().contains("https://"), "{e}");
    }

    #[test]
    fn optional_links_and_serde() {
        assert_eq!(optional_link("  "), Ok(None));
        assert!(optional_link("javascript:x").is_err());
        let link = optional_link("https://example.org/a").unwrap().unwrap();
        let json = serde_json::to_string(&link).unwrap();
        assert_eq!(json, "\"https://example.org/a\"");
        assert_eq!(serde_json::from_str::<WebLink>(&json).unwrap(), link);
        assert!(serde_json::from_str::<WebLink>("\"javascript:alert(1)\"").is_err());
    }

    #[test]
    fn a_link_survives_a_round_trip_through_its_text() {
        for raw in [
            "https://www.example.org/a?b=c#d",
            "http://10.0.0.1:8080/x",
            "www.a-b.example",
        ] {
            let once = WebLink::parse(raw).unwrap();
            assert_eq!(WebLink::parse(once.as_str()).unwrap(), once);
        }
    }
}
