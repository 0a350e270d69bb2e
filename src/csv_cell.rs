//! Free text in CSV cells made inert for spreadsheets (CSV or formula
//! injection, OWASP): a cell that starts with `=`, `+`, `-`, `@`, a tab or a
//! carriage return is read as a formula by Excel, Calc and Google
//! Sheets, so a description such as `=HYPERLINK(…)` would run when an
//! analyst opens an export. Such cells get a leading `'`, which spreadsheets
//! take as "text follows".
//!
//! Only free-text cells go through [`neutralise`]; numbers are written as
//! they are, so a negative coordinate stays a number. [`restore`] undoes
//! [`neutralise`] exactly, so that an export imports back unchanged.

use std::borrow::Cow;

/// Whether a spreadsheet would read `text` as a formula, or `text` is a `'`
/// in front of such a cell (so that [`restore`] can tell the two apart).
fn needs_quote(text: &str) -> bool {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => true,
        Some(b'\'') => needs_quote(&text[1..]),
        _ => false,
    }
}

/// `text` as a CSV cell no spreadsheet takes for a formula.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if needs_quote(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The text a cell written by [`neutralise`] came from.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_quoted() {
        for text in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1",
            "-1+2",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(neutralise(text), format!("'{text}"), "{text:?}");
        }
    }

    #[test]
    fn plain_text_is_left_alone() {
        for text in [
            "",
            "Mörkt vid tunneln",
            "1 trasig lampa",
            "a=b",
            " =x",
            "'quoted'",
        ] {
            assert!(matches!(neutralise(text), Cow::Borrowed(_)), "{text:?}");
        }
    }

    #[test]
    fn restore_undoes_neutralise() {
        for text in ["=1", "'=1", "''-x", "'plain", "plain", "", "'", "@"] {
            assert_eq!(restore(&neutralise(text)), text, "{text:?}");
        }
        // A quote the export did not add stays.
        assert_eq!(restore("'plain"), "'plain");
    }
}
