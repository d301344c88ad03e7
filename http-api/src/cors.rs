//! Which browser origins may call the API (CORS), in the shared Router: the
//! Worker then answers a preflight exactly as the native server does.

use std::time::Duration;

use axum::http::{header, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The origins a page may call the API from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any origin (`*`): the API carries no cookies or credentials, so this exposes nothing a direct call would not.
    #[default]
    Any,
    /// Only these exact origins (`scheme://host[:port]`).
    List(Vec<String>),
}

impl AllowedOrigins {
    /// Parses `*` or a comma-separated list of origins such as
    /// `https://fraud.example.com,http://localhost:5173`.
    pub fn parse(spec: &str) -> Result<AllowedOrigins, String> {
        let spec = spec.trim();
        if spec == "*" {
            return Ok(AllowedOrigins::Any);
        }
        let mut list = Vec::new();
        for origin in spec.split(',').map(str::trim) {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| format!("origin {origin:?} must start with http:// or https://"))?;
            if rest.is_empty() || rest.contains(['/', ' ', '\t']) || HeaderValue::from_str(origin).is_err() {
                return Err(format!("origin {origin:?} must be scheme://host[:port], with no path"));
            }
            list.push(origin.to_string());
        }
        Ok(AllowedOrigins::List(list))
    }

    /// The layer answering preflights and marking responses.
    pub(crate) fn layer(&self) -> CorsLayer {
        let allow = match self {
            AllowedOrigins::Any => AllowOrigin::any(),
            AllowedOrigins::List(list) => {
                // `parse` checked every entry is a valid header value.
                AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
            }
        };
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE])
            .max_age(Duration::from_secs(3600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_or_say_why_not() {
        assert_eq!(AllowedOrigins::parse(" * "), Ok(AllowedOrigins::Any));
        assert_eq!(
            AllowedOrigins::parse("https://a.example, http://localhost:5173"),
            Ok(AllowedOrigins::List(vec!["https://a.example".into(), "http://localhost:5173".into()]))
        );
        for bad in ["a.example", "https://", "https://a.example/path", "ftp://x", "", "https://a b"] {
            assert!(AllowedOrigins::parse(bad).is_err(), "{bad:?}");
        }
    }
}
