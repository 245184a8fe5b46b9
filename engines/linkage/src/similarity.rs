//! Jaro-Winkler similarity without allocating: the comparison most candidate pairs reach, so
//! its cost sets the speed of a run. Cleaned values are short and nearly always ASCII; those
//! are compared as bytes with bit sets for the matched positions. Anything else goes to
//! `strsim`, whose results these equal exactly (see the property test).

/// Jaro-Winkler similarity of two strings, as `strsim::jaro_winkler` computes it.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    if !(a.is_ascii() && b.is_ascii() && a.len() <= 64 && b.len() <= 64) {
        return strsim::jaro_winkler(a, b);
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let sim = jaro(a, b);
    if sim > 0.7 {
        let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

/// An upper bound of `jaro_winkler(a, b)`, several times cheaper: most pairs of strangers'
/// names fall below a threshold on it, and their similarity need not be computed.
///
/// A character can only be matched if it occurs in the other string at all, so the matches
/// `m` are at most the characters of either side found anywhere in the other; with every
/// match in order (no transpositions), Jaro is at most (m/|a| + m/|b| + 1) / 3, and the
/// Winkler boost for the common prefix only grows with it.
pub fn jaro_winkler_bound(a: &str, b: &str) -> f64 {
    if !(a.is_ascii() && b.is_ascii()) || a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let set = |s: &[u8]| s.iter().fold(0u128, |set, &c| set | 1 << c);
    let found = |s: &[u8], other: u128| s.iter().filter(|&&c| other >> c & 1 == 1).count();
    let matches = found(a, set(b)).min(found(b, set(a)));
    if matches == 0 {
        return 0.0;
    }
    let m = matches as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + 1.0) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    jaro + 0.1 * prefix as f64 * (1.0 - jaro)
}

/// Jaro similarity of two byte strings of at most 64 bytes.
fn jaro(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let reach = (a.len().max(b.len()) / 2).saturating_sub(1);
    let (mut a_matched, mut b_matched) = (0u64, 0u64);
    let mut matches = 0usize;
    for (i, &x) in a.iter().enumerate() {
        let end = b.len().min(i + reach + 1);
        if let Some(j) =
            (i.saturating_sub(reach)..end).find(|&j| b_matched >> j & 1 == 0 && b[j] == x)
        {
            a_matched |= 1 << i;
            b_matched |= 1 << j;
            matches += 1;
        }
    }
    if matches == 0 {
        return 0.0;
    }
    // Matched characters of each side in order; those that differ are half-transpositions.
    let mut b_rest = b_matched;
    let mut half_transpositions = 0usize;
    let mut a_rest = a_matched;
    while a_rest != 0 {
        let i = a_rest.trailing_zeros() as usize;
        let j = b_rest.trailing_zeros() as usize;
        if a[i] != b[j] {
            half_transpositions += 1;
        }
        a_rest &= a_rest - 1;
        b_rest &= b_rest - 1;
    }
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (matches - half_transpositions / 2) as f64 / m) / 3.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(jaro_winkler("", ""), 1.0);
        assert_eq!(jaro_winkler("abc", ""), 0.0);
        assert!((jaro_winkler("martha", "marhta") - 0.9611).abs() < 1e-4);
        assert_eq!(
            jaro_winkler("zoë", "zoe"),
            strsim::jaro_winkler("zoë", "zoe")
        );
        assert!(jaro_winkler_bound("smith", "jones") < 0.8);
        assert_eq!(jaro_winkler_bound("smith", "smiht"), 1.0);
    }

    proptest! {
        #[test]
        fn equals_strsim(a in "[a-e ]{0,12}", b in "[a-e ]{0,12}") {
            prop_assert_eq!(jaro_winkler(&a, &b), strsim::jaro_winkler(&a, &b));
        }

        #[test]
        fn bound_is_never_below_the_similarity(a in "[a-f ]{0,12}", b in "[a-f ]{0,12}") {
            prop_assert!(jaro_winkler_bound(&a, &b) >= jaro_winkler(&a, &b));
        }

        #[test]
        fn equals_strsim_on_long_values(a in "[a-z]{40,70}", b in "[a-z]{40,70}") {
            prop_assert_eq!(jaro_winkler(&a, &b), strsim::jaro_winkler(&a, &b));
        }
    }
}
