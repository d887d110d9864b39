//! Go's `unicode.ToUpper`/`ToLower` (simple case mappings) and
//! `cases.Title(language.Und, cases.NoLower)` from `golang.org/x/text`,
//! which consul-template's `toUpper`, `toLower` and `toTitle` use.

use crate::title_tables::{LETTER_RANGES, MID, TITLE_SPECIAL, is_georgian_self_title};

/// Go's `unicode.ToUpper`: the simple (one character) upper-case mapping.
/// Rust gives the full mapping; where that has several characters the
/// simple one is the character itself, except for Greek letters with
/// iota subscript, whose simple upper case is their title-case form.
pub(crate) fn simple_upper(c: char) -> char {
    let mut full = c.to_uppercase();
    let first = full.next().unwrap_or(c);
    if full.next().is_none() {
        return first;
    }
    let code = u32::from(c);
    let simple = match code {
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => code + 8,
        0x1FB3 | 0x1FC3 | 0x1FF3 => code + 9,
        _ => code,
    };
    char::from_u32(simple).unwrap_or(c)
}

/// Go's `unicode.ToLower`: the simple lower-case mapping (`İ` becomes `i`,
/// not `i̇`).
pub(crate) fn simple_lower(c: char) -> char {
    let mut full = c.to_lowercase();
    let first = full.next().unwrap_or(c);
    if full.next().is_none() {
        return first;
    }
    if c == '\u{130}' { 'i' } else { c }
}

/// Go's `strings.ToUpper`.
pub(crate) fn to_upper(s: &str) -> String {
    s.chars().map(simple_upper).collect()
}

/// Go's `strings.ToLower`.
pub(crate) fn to_lower(s: &str) -> String {
    s.chars().map(simple_lower).collect()
}

/// Whether `c` is cased (Unicode `Cased`: lower, upper or title case).
fn is_cased(c: char) -> bool {
    c.is_lowercase() || c.is_uppercase() || is_titlecase(c)
}

/// The title-case letters (general category Lt).
fn is_titlecase(c: char) -> bool {
    matches!(
        u32::from(c),
        0x1C5 | 0x1C8 | 0x1CB | 0x1F2 | 0x1F88..=0x1F8F | 0x1F98..=0x1F9F | 0x1FA8..=0x1FAF
            | 0x1FBC | 0x1FCC | 0x1FFC
    )
}

/// How an uncased character affects word boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Letters, digits, marks, connectors: the word goes on.
    Letter,
    /// Apostrophes, periods, colons: the word goes on unless two follow
    /// each other.
    Mid,
    /// Everything else (spaces, punctuation, symbols): a new word starts.
    Break,
}

fn class(c: char) -> Class {
    let code = u32::from(c);
    if MID.binary_search(&code).is_ok() {
        return Class::Mid;
    }
    let letter = LETTER_RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < code {
                std::cmp::Ordering::Less
            } else if lo > code {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok();
    if letter { Class::Letter } else { Class::Break }
}

/// Appends the title-case mapping of a cased character.
fn push_title(out: &mut String, c: char) {
    let code = u32::from(c);
    if is_titlecase(c) || is_georgian_self_title(code) {
        out.push(c);
        return;
    }
    if let Ok(i) = TITLE_SPECIAL.binary_search_by_key(&code, |&(k, _)| k) {
        out.push_str(TITLE_SPECIAL[i].1);
        return;
    }
    out.extend(c.to_uppercase());
}

/// `cases.Title(language.Und, cases.NoLower).String(s)`: the first cased
/// character of each word in title case, everything else unchanged. Words
/// are delimited as `x/text` approximates Unicode word breaking.
pub(crate) fn to_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut mid_word = false;
    let mut prev_was_mid = false;
    for c in s.chars() {
        let cased = is_cased(c);
        let class = if cased { Class::Letter } else { class(c) };
        let is_mid = !cased && class == Class::Mid;
        // Two joiners in a row end the word.
        if prev_was_mid && is_mid {
            mid_word = false;
        }
        if cased {
            if mid_word {
                out.push(c);
            } else {
                push_title(&mut out, c);
                mid_word = true;
            }
        } else {
            out.push(c);
            if class == Class::Break {
                mid_word = false;
            }
        }
        prev_was_mid = is_mid;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_uses_simple_mappings() {
        assert_eq!(to_upper("ß ŉ ᾳ ᾈ ﬀ ǅ abc"), "ß ŉ ᾼ ᾈ ﬀ Ǆ ABC");
    }

    #[test]
    fn lower_uses_simple_mappings_without_final_sigma() {
        assert_eq!(to_lower("İ ǅ Σ ΑΣ"), "i ǆ σ ασ");
    }

    #[test]
    fn title_matches_the_agent_on_mixed_words() {
        assert_eq!(
            to_title("hello wORLD foo-bar o'neil ß ǆx éclair 123abc a.b a_b"),
            "Hello WORLD Foo-Bar O'neil Ss ǅx Éclair 123Abc A.b A_b"
        );
    }

    #[test]
    fn two_joiners_in_a_row_start_a_new_word() {
        assert_eq!(to_title("a..b a.b"), "A..B A.b");
    }

    #[test]
    fn georgian_letters_keep_their_form_in_title_case() {
        assert_eq!(to_title("ა"), "ა");
    }

    #[test]
    fn ligatures_title_case_only_their_first_letter() {
        assert_eq!(to_title("ﬁx"), "Fix");
    }
}
