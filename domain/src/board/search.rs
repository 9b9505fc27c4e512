//! Search that works for Japanese without a dictionary.
//!
//! Text is normalized (NFKC, so ＦＡＸ = FAX and ｶﾀｶﾅ = カタカナ; then lower-cased)
//! and cut into runs of letters and digits; each run becomes its overlapping
//! character bigrams. A query is found where its bigrams stand next to each other
//! in the same order: the database's phrase search over these tokens is a
//! substring search that needs no word boundaries, so two-character words such
//! as 予約 or 障害 are found inside unspaced text.

use unicode_normalization::UnicodeNormalization;

/// NFKC, lower-cased.
pub fn normalize(s: &str) -> String {
    s.nfkc().flat_map(char::to_lowercase).collect()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Runs of letters and digits of normalized text.
fn runs(normalized: &str) -> Vec<Vec<char>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for c in normalized.chars() {
        if is_word_char(c) {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The most tokens one document is indexed with: PostgreSQL caps a tsvector's
/// positions at 16,383.
pub const MAX_DOCUMENT_TOKENS: usize = 16_000;

/// Index tokens of a document, in order. A one-character run yields itself.
/// At most `max` tokens (databases cap phrase positions).
pub fn document_tokens(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    for run in runs(&normalize(text)) {
        if run.len() == 1 {
            out.push(run[0].to_string());
        } else {
            for w in run.windows(2) {
                out.push(w.iter().collect());
            }
        }
        if out.len() >= max {
            out.truncate(max);
            break;
        }
    }
    out
}

/// A parsed query: each phrase is a run of the query as consecutive bigrams; a
/// document matches when it contains every phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub phrases: Vec<Vec<String>>,
    /// The normalized runs, for highlighting snippets.
    pub needles: Vec<String>,
}

/// Parse a query. `None` when nothing searchable is left (only punctuation, or
/// only single characters).
pub fn parse_query(q: &str) -> Option<Query> {
    let mut phrases = Vec::new();
    let mut needles = Vec::new();
    for run in runs(&normalize(q)) {
        if run.len() < 2 {
            continue;
        }
        phrases.push(run.windows(2).map(|w| w.iter().collect()).collect());
        needles.push(run.iter().collect());
    }
    (!phrases.is_empty()).then_some(Query { phrases, needles })
}

/// A short excerpt of `text` around the first needle found (by normalized match),
/// at most about `width` characters.
pub fn snippet(text: &str, needles: &[String], width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    // Normalize per character to map positions back to the original text.
    let norm: Vec<String> = chars.iter().map(|c| normalize(&c.to_string())).collect();
    let mut hit = None;
    'outer: for needle in needles {
        let n: Vec<char> = needle.chars().collect();
        for start in 0..chars.len() {
            let mut acc = String::new();
            let mut end = start;
            while end < chars.len() && acc.chars().count() < n.len() {
                acc.push_str(&norm[end]);
                end += 1;
            }
            if acc.starts_with(needle.as_str()) {
                hit = Some(start);
                break 'outer;
            }
        }
    }
    let start = hit.unwrap_or(0).saturating_sub(width / 3);
    let end = (start + width).min(chars.len());
    let mut s: String = chars[start..end].iter().collect();
    s = s.replace(['\n', '\r', '\t'], " ");
    if start > 0 {
        s.insert(0, '…');
    }
    if end < chars.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(doc: &str, q: &str) -> bool {
        let toks = document_tokens(doc, 100_000);
        let Some(q) = parse_query(q) else {
            return false;
        };
        q.phrases
            .iter()
            .all(|p| toks.windows(p.len()).any(|w| w == p.as_slice()))
    }

    #[test]
    fn japanese_words_inside_unspaced_text() {
        let doc = "本日午前から予約システムで障害が発生し、電子カルテにログインできません。";
        for q in ["予約", "障害", "ログイン", "電子カルテ", "予約システム"] {
            assert!(found(doc, q), "{q}");
        }
        assert!(!found(doc, "請求"));
        assert!(!found(doc, "予約障害"), "not adjacent");
    }

    #[test]
    fn width_and_case_forms_are_the_same() {
        assert!(found("ＦＡＸが届きません", "FAX"));
        assert!(found("FAXが届きません", "ｆａｘ"));
        assert!(found("ｶﾀｶﾅで入力", "カタカナ"));
        assert!(found("ユーザーIDを忘れました", "id"));
        assert!(found("ユーザーＩＤを忘れました", "ID"));
    }

    #[test]
    fn queries_need_two_characters() {
        assert!(parse_query("予").is_none());
        assert!(parse_query("、。！").is_none());
        assert_eq!(parse_query("予約 障害").unwrap().phrases.len(), 2);
    }

    #[test]
    fn snippets_center_on_the_hit() {
        let text = format!(
            "{}電子カルテにログインできません{}",
            "あ".repeat(100),
            "い".repeat(100)
        );
        let s = snippet(&text, &["ログイン".into()], 30);
        assert!(s.contains("ログイン"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert!(snippet("ＦＡＸが届かない", &["fax".into()], 30).contains("ＦＡＸ"));
    }
}
