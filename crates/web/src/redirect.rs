//! The one way to redirect to a place named by the request (`next` after sign-in, a form's
//! `back`, a return link): only a path on this site, else a safe default.

use axum::response::Redirect;

/// `input` if it is a local path, else `None`. A local path starts with one "/" and no second
/// "/" or "\" (even once tabs, CR and LF are taken out, as browsers do, which would turn
/// "/\t/evil.example" into "//evil.example", another site), and has no control character, space
/// or anything outside printable ASCII (so it is always a valid `Location` header as it is).
pub fn local_path(input: &str) -> Option<&str> {
    let squeezed: String = input
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let local = squeezed.starts_with('/')
        && !squeezed.starts_with("//")
        && !squeezed.starts_with("/\\")
        && !input.contains('\\')
        && input.bytes().all(|b| b.is_ascii_graphic());
    local.then_some(input)
}

/// `input` if it is a local path, else `default` (a constant of ours).
pub fn local_or(input: &str, default: &'static str) -> String {
    local_path(input).unwrap_or(default).to_string()
}

/// A 303 redirect to `input` if it is a local path, else to `default`.
pub fn to(input: &str, default: &'static str) -> Redirect {
    Redirect::to(&local_or(input, default))
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_paths_on_this_site() {
        for good in [
            "/",
            "/families/1?x=1#notes",
            "/find-support?q=a%20b",
            "/a/b//c",
        ] {
            assert_eq!(local_path(good), Some(good), "{good}");
        }
        for bad in [
            "",
            "families",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/a\\b",
            "/a\u{0}b",
            "/a b",
            "/\u{7f}",
            "/é",
            "/a\r\nSet-Cookie: x=1",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}
