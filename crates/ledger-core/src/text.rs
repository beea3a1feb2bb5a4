//! Text fields that people type and other systems print: references, names, reasons. One rule for
//! all of them, so a bank reference, a section code or a reversal reason can be written into a
//! statement, a log line, a CSV export or an ISO 20022 file without carrying a terminal escape, a
//! forged line break or a NUL.
//!
//! The rule: trimmed of surrounding white space, 1 to a stated number of characters, and no control
//! character (Unicode category Cc: NUL, ESC, CR, LF, DEL, the C1 range, ...) nor a line or paragraph
//! separator (U+2028, U+2029). A tab is allowed only in free prose ([`TextKind::Prose`]: reasons,
//! notes), where text pasted from a document may carry one; never in references, names or codes,
//! which identify something and are matched exactly.

/// Which text a field holds, which decides whether a tab is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A reference, a name, a code: one line, no tab.
    Identifier,
    /// Free prose (a reason, notes): one line, tabs allowed.
    Prose,
}

/// Why a text field was refused; the message never repeats the field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    #[error("must be 1 to {max_chars} characters")]
    Length { max_chars: usize },
    #[error("must not contain control characters (found {found} at character {position})")]
    ControlCharacter {
        /// The character, escaped (`U+001B`).
        found: String,
        /// 1-based position in the trimmed text.
        position: usize,
    },
}

/// Checks a text field and returns it trimmed: not blank, at most `max_chars` characters, and no
/// control character (a tab only in [`TextKind::Prose`]).
pub fn checked_text(text: &str, max_chars: usize, kind: TextKind) -> Result<&str, TextError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max_chars {
        return Err(TextError::Length { max_chars });
    }
    refuse_control_characters(trimmed, kind)?;
    Ok(trimmed)
}

/// Checks an optional text field (notes): blank is absent, otherwise as [`checked_text`].
pub fn checked_optional_text(
    text: &str,
    max_chars: usize,
    kind: TextKind,
) -> Result<Option<&str>, TextError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max_chars {
        return Err(TextError::Length { max_chars });
    }
    refuse_control_characters(trimmed, kind)?;
    Ok(Some(trimmed))
}

/// Refuses control characters (and line or paragraph separators); a tab only in prose.
pub fn refuse_control_characters(text: &str, kind: TextKind) -> Result<(), TextError> {
    for (index, character) in text.chars().enumerate() {
        let allowed_tab = character == '\t' && kind == TextKind::Prose;
        if (character.is_control() || matches!(character, '\u{2028}' | '\u{2029}')) && !allowed_tab
        {
            return Err(TextError::ControlCharacter {
                found: format!("U+{:04X}", u32::from(character)),
                position: index + 1,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_every_control_character_and_allows_tabs_only_in_prose() {
        // Proves ESC, CR, LF, NUL, DEL, a C1 control and the Unicode line separator are refused in
        // both kinds, a tab only in identifiers, and the position is named.
        for bad in [
            "ab\u{1b}[31m",
            "ab\r\nc",
            "ab\nc",
            "ab\0",
            "ab\u{7f}",
            "ab\u{85}c",
            "ab\u{2028}c",
        ] {
            for kind in [TextKind::Identifier, TextKind::Prose] {
                assert!(
                    matches!(
                        checked_text(bad, 100, kind),
                        Err(TextError::ControlCharacter { position: 3, .. })
                    ),
                    "{bad:?} {kind:?}"
                );
            }
        }
        assert!(checked_text("a\tb", 100, TextKind::Identifier).is_err());
        assert_eq!(checked_text("a\tb", 100, TextKind::Prose), Ok("a\tb"));
        assert_eq!(
            checked_text("  Société générale — réf. 12  ", 100, TextKind::Identifier),
            Ok("Société générale — réf. 12")
        );
    }

    #[test]
    fn bounds_length_after_trimming() {
        // Proves blank and too long are refused, and the limit counts characters, not bytes.
        assert_eq!(
            checked_text("   ", 5, TextKind::Identifier),
            Err(TextError::Length { max_chars: 5 })
        );
        assert_eq!(checked_text("ééééé", 5, TextKind::Identifier), Ok("ééééé"));
        assert!(checked_text("éééééé", 5, TextKind::Identifier).is_err());
        assert_eq!(checked_optional_text("  ", 5, TextKind::Prose), Ok(None));
        assert!(checked_optional_text("a\u{1b}", 5, TextKind::Prose).is_err());
    }
}
