//! Word forms for the directory's search: English stems (Snowball, by `rust-stemmers`) and the
//! connectors' synonyms ("foodbank" and "food bank"). Synonyms are applied when a listing is
//! indexed, so the search query itself stays as it was: a listing that says any phrase of a
//! group is indexed with every phrase of it, and the search matches stems as prefixes.

use rust_stemmers::{Algorithm, Stemmer};

/// How many phrases a group may hold, and how long each may be.
pub const MAX_PHRASES: usize = 10;
pub const MAX_PHRASE_CHARS: usize = 60;

/// The English stem of one lower-case word ("families" → "famili", "uniforms" → "uniform").
pub fn stem(word: &str) -> String {
    Stemmer::create(Algorithm::English).stem(word).into_owned()
}

/// The words of a text, lower-cased, each stemmed.
pub fn stems(text: &str) -> Vec<String> {
    let stemmer = Stemmer::create(Algorithm::English);
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| stemmer.stem(&w.to_lowercase()).into_owned())
        .collect()
}

/// A group's phrases as typed ("foodbank, food bank"), or what is wrong with them.
pub fn parse_group(raw: &str) -> Result<Vec<String>, String> {
    let mut phrases: Vec<String> = Vec::new();
    for phrase in raw.split([',', '\n']) {
        let words: Vec<String> = phrase
            .split_whitespace()
            .map(|w| w.to_lowercase())
            .collect();
        if words.is_empty() {
            continue;
        }
        let phrase = words.join(" ");
        if !phrase.chars().all(|c| c.is_alphanumeric() || c == ' ') {
            return Err(format!(
                "\"{phrase}\" has a character that is not a letter, a number or a space"
            ));
        }
        if phrase.chars().count() > MAX_PHRASE_CHARS {
            return Err(format!(
                "Each phrase must be {MAX_PHRASE_CHARS} characters or fewer"
            ));
        }
        if !phrases.contains(&phrase) {
            phrases.push(phrase);
        }
    }
    if phrases.len() < 2 {
        return Err(
            "Enter at least two words or phrases that mean the same, separated by commas".into(),
        );
    }
    if phrases.len() > MAX_PHRASES {
        return Err(format!("Enter at most {MAX_PHRASES} words or phrases"));
    }
    Ok(phrases)
}

/// Whether `needle` (stems) occurs as a run in `haystack` (stems).
fn contains_run(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The text to index for a listing: its own text, then every phrase of each group that any of
/// whose phrases it contains (compared by stems, so "food banks" counts as "food bank").
pub fn index_text(text: &str, groups: &[Vec<String>]) -> String {
    let own = stems(text);
    let mut out = text.to_string();
    for group in groups {
        if group.iter().any(|p| contains_run(&own, &stems(p))) {
            for phrase in group {
                out.push(' ');
                out.push_str(phrase);
            }
        }
    }
    out
}

/// The words of a search with the words of each group it says a phrase of, to rank by:
/// "foodbank" ranks "Food Bank" by its name as "food bank" would.
pub fn with_synonyms(words: &[String], groups: &[Vec<String>]) -> Vec<String> {
    let said = stems(&words.join(" "));
    let mut out = words.to_vec();
    for group in groups {
        if group.iter().any(|p| contains_run(&said, &stems(p))) {
            for word in group.iter().flat_map(|p| p.split(' ')) {
                if !out.iter().any(|w| w == word) {
                    out.push(word.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_forms_share_a_stem() {
        assert_eq!(stem("uniforms"), stem("uniform"));
        assert_eq!(stem("families"), stem("family"));
        assert_eq!(stem("parenting"), stem("parents"));
        assert_ne!(stem("food"), stem("foodbank"));
    }

    #[test]
    fn a_listing_carries_its_synonyms_and_only_its_own() {
        let groups = vec![
            vec!["foodbank".to_string(), "food bank".to_string()],
            vec!["baby bank".to_string(), "babybank".to_string()],
        ];
        let indexed = index_text("Erdington Food Banks: parcels", &groups);
        assert!(indexed.contains("foodbank"), "{indexed}");
        assert!(!indexed.contains("babybank"), "{indexed}");
        // And the other way: the compound finds the phrase.
        assert!(index_text("The Foodbank", &groups).contains("food bank"));
        // Words apart are not the phrase.
        assert!(!index_text("food and a bank", &groups).contains("foodbank"));
    }

    #[test]
    fn a_search_ranks_by_its_synonyms_words() {
        let groups = vec![vec!["foodbank".to_string(), "food bank".to_string()]];
        let words = with_synonyms(&["foodbanks".to_string()], &groups);
        assert_eq!(words, vec!["foodbanks", "foodbank", "food", "bank"]);
        assert_eq!(
            with_synonyms(&["pantry".to_string()], &groups),
            vec!["pantry"]
        );
    }

    #[test]
    fn groups_are_checked() {
        assert_eq!(
            parse_group(" Foodbank ,food   bank,foodbank").unwrap(),
            vec!["foodbank", "food bank"]
        );
        assert!(parse_group("foodbank").is_err());
        assert!(parse_group("food; bank, x").is_err());
        assert!(parse_group(&"a, ".repeat(3)).is_err());
        assert!(
            parse_group(
                &(0..11)
                    .map(|i| format!("w{i}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
            .is_err()
        );
    }
}
