//! Secrets in configuration: a type whose `Debug` hides the value, and URLs
//! with their password masked for logs.

/// A value that must never reach a log: `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret::new(s))
    }
}

/// The URL with its password replaced, for errors and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable URL>".into(),
    }
}

/// `text` with the password of every URL in it replaced, for logging errors
/// that may quote a connection string. A URL runs to the next space or
/// quote; its password from the first `:` after `://` to the last `@`.
pub fn redact_urls_in(text: &str) -> String {
    let mut redacted = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let (before, after) = rest.split_at(scheme_end + 3);
        redacted.push_str(before);
        let url_end =
            after.find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '`').unwrap_or(after.len());
        let url = &after[..url_end];
        match url.rfind('@').and_then(|at| Some((url[..at].find(':')?, at))) {
            Some((colon, at)) => {
                redacted.push_str(&url[..=colon]);
                redacted.push_str("***");
                redacted.push_str(&url[at..]);
            }
            None => redacted.push_str(url),
        }
        rest = &after[url_end..];
    }
    redacted.push_str(rest);
    redacted
}
