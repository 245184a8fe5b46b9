//! Privacy-preserving encodings: each agency turns its identifiers into Bloom filters with a
//! secret key it shares only with the other agencies, and hands over the filters alone.
//!
//! Each field is cut into tokens (q-grams of names and addresses, parts of dates); each token is
//! keyed-hashed with HMAC-SHA256 into `weight` bit positions. The positions come straight out of
//! the HMAC ("random hashing"), not from two hashes combined (double hashing), which is open to a
//! known pattern-mining attack. Fields are grouped into a few filters (name, birth, address) so
//! the model can weigh each group like a cleartext comparison; given and family names go into
//! separate filters, so EM can learn from one while blocking on the other, hashed alike so that
//! a swap of given and family name shows across the two filters. See `docs/linkage-privacy.md`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::data::{Dataset, Field, FieldKind};

/// A fixed-length bit set with its population count.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Bits {
    words: Box<[u64]>,
    ones: u32,
}

impl Bits {
    pub fn zeros(bits: usize) -> Self {
        Bits {
            words: vec![0; bits.div_ceil(64)].into_boxed_slice(),
            ones: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.words.len() * 64
    }

    pub fn is_empty(&self) -> bool {
        self.ones == 0
    }

    pub fn ones(&self) -> u32 {
        self.ones
    }

    pub fn get(&self, position: usize) -> bool {
        self.words[position / 64] >> (position % 64) & 1 == 1
    }

    pub fn set(&mut self, position: usize) {
        let word = &mut self.words[position / 64];
        let mask = 1u64 << (position % 64);
        if *word & mask == 0 {
            *word |= mask;
            self.ones += 1;
        }
    }

    /// Positions of the set bits, in order.
    pub fn iter_ones(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter(|&p| self.get(p))
    }

    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Dice coefficient 2|A∩B| / (|A|+|B|); two empty filters are treated as unlike.
    pub fn dice(&self, other: &Bits) -> f64 {
        dice(&self.words, self.ones, &other.words, other.ones)
    }

    pub fn to_base64(&self) -> String {
        let bytes: Vec<u8> = self.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        STANDARD.encode(bytes)
    }

    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|e| format!("not a base64 encoding: {e}"))?;
        if bytes.is_empty() || bytes.len() % 8 != 0 {
            return Err(format!(
                "an encoding must be a whole number of 64-bit words, got {} bytes",
                bytes.len()
            ));
        }
        let words: Box<[u64]> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("chunks of eight")))
            .collect();
        let ones = words.iter().map(|w| w.count_ones()).sum();
        Ok(Bits { words, ones })
    }
}

/// Dice coefficient of two filters given as words and numbers of set bits (see `Bits::dice`).
pub fn dice(a: &[u64], a_ones: u32, b: &[u64], b_ones: u32) -> f64 {
    let total = a_ones + b_ones;
    if total == 0 || a.len() != b.len() {
        return 0.0;
    }
    let common: u32 = a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum();
    2.0 * f64::from(common) / f64::from(total)
}

/// The encoded column names start with this, which is how encoded files are recognised.
pub const ENCODED_PREFIX: &str = "bf_";

/// The column `link encode` writes beside the filters: in every row, the key's check value
/// ([`Encoder::key_check`]), so that files encoded with different keys are told apart before
/// they are linked rather than linked into nonsense.
pub const KEY_CHECK_COLUMN: &str = "key_check";

/// What the key check value is an HMAC of: a fixed label, never a record's value.
const KEY_CHECK_LABEL: &[u8] = b"earlyhelp linkage key check v1";

/// Which filter a field's tokens go into, and how many bits each token sets (its weight).
fn group_and_weight(kind: FieldKind) -> Option<(&'static str, usize)> {
    Some(match kind {
        FieldKind::GivenName => ("given", 15),
        FieldKind::FamilyName => ("family", 15),
        FieldKind::DateOfBirth => ("birth", 20),
        FieldKind::Postcode => ("address", 12),
        FieldKind::Address | FieldKind::HouseNumber => ("address", 8),
        FieldKind::Place => ("address", 4),
        FieldKind::Phone | FieldKind::Email | FieldKind::Identifier | FieldKind::NhsNumber => {
            ("contact", 15)
        }
        // Sex is left out: with the date it made a missing sex look like a different birth
        // date, and on its own its filter would be sex in the clear.
        FieldKind::Sex | FieldKind::Encoded => return None,
    })
}

/// Bits per filter: 1024 keeps the fill of a long name and address well under a half.
pub const FILTER_BITS: usize = 1024;
const GROUPS: [&str; 5] = ["given", "family", "birth", "address", "contact"];

/// Encodes cleaned records with a secret key.
pub struct Encoder {
    mac: Hmac<Sha256>,
}

impl Encoder {
    /// `key` is the secret the agencies share; at least 16 bytes.
    pub fn new(key: &[u8]) -> Result<Self, String> {
        if key.len() < 16 {
            return Err(format!(
                "the key must be at least 16 bytes, got {}",
                key.len()
            ));
        }
        Ok(Encoder {
            mac: Hmac::new_from_slice(key).expect("HMAC takes keys of any length"),
        })
    }

    /// The key's check value: the first 16 bytes of the HMAC of a fixed label, in hex. Equal
    /// check values mean equal keys; it says nothing of the key to anyone without it (a
    /// guessed key of 16 random bytes or more cannot be tried against it in practice).
    pub fn key_check(&self) -> String {
        let mut mac = self.mac.clone();
        mac.update(KEY_CHECK_LABEL);
        let digest = mac.finalize().into_bytes();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Column names of the encoded file (after the id) for records with these fields.
    pub fn encoded_fields(fields: &[Field]) -> Vec<Field> {
        GROUPS
            .iter()
            .filter(|g| {
                fields
                    .iter()
                    .any(|f| group_and_weight(f.kind).is_some_and(|(fg, _)| fg == **g))
            })
            .map(|g| Field {
                name: format!("{ENCODED_PREFIX}{g}"),
                kind: FieldKind::Encoded,
            })
            .collect()
    }

    /// The header of an encoded file (as `link encode` writes it): the id column, one column
    /// per group of `fields`, and the key check.
    pub fn file_header(id: &str, fields: &[Field]) -> Vec<String> {
        std::iter::once(id.to_string())
            .chain(Self::encoded_fields(fields).into_iter().map(|f| f.name))
            .chain([KEY_CHECK_COLUMN.to_string()])
            .collect()
    }

    /// Row `row` of an encoded file, under [`Encoder::file_header`]: its id, each group's
    /// filter in base64 (empty where missing), and `key_check` (this key's, made once).
    pub fn file_row(&self, data: &Dataset, row: usize, key_check: &str) -> Vec<String> {
        let filters = self.encode(data, row);
        std::iter::once(data.ids[row].clone())
            .chain(
                filters
                    .iter()
                    .map(|f| f.as_ref().map_or_else(String::new, Bits::to_base64)),
            )
            .chain([key_check.to_string()])
            .collect()
    }

    /// One filter per group of `encoded_fields`, for row `row`; `None` where every field is missing.
    pub fn encode(&self, data: &Dataset, row: usize) -> Vec<Option<Bits>> {
        let encoded = Self::encoded_fields(&data.fields);
        let mut filters: Vec<Bits> = encoded.iter().map(|_| Bits::zeros(FILTER_BITS)).collect();
        for (column, field) in data.fields.iter().enumerate() {
            let Some((group, weight)) = group_and_weight(field.kind) else {
                continue;
            };
            let slot = encoded
                .iter()
                .position(|f| f.name[ENCODED_PREFIX.len()..] == *group)
                .expect("group listed");
            for token in tokens(field.kind, data, column, row) {
                self.add_token(&mut filters[slot], group, &token, weight);
            }
        }
        // Without its address lines a record's address filter would hold the postcode alone
        // and look like another address; it is left out, as a missing value is in the clear.
        let address_lines =
            (0..data.fields.len()).filter(|&c| data.fields[c].kind == FieldKind::Address);
        let no_address = address_lines.clone().count() > 0
            && address_lines
                .into_iter()
                .all(|c| data.text(c, row).is_none());
        encoded
            .iter()
            .zip(filters)
            .map(|(field, f)| {
                let left_out = no_address && field.name == format!("{ENCODED_PREFIX}address");
                (!f.is_empty() && !left_out).then_some(f)
            })
            .collect()
    }

    fn add_token(&self, filter: &mut Bits, group: &str, token: &str, weight: usize) {
        // Given and family names share one hashing label, so that a name recorded in the other
        // field sets the same bits there and a swap can be seen across the two filters.
        let label = match group {
            "given" | "family" => "name",
            other => other,
        };
        let mut drawn = 0;
        for block in 0u32.. {
            let mut mac = self.mac.clone();
            mac.update(label.as_bytes());
            mac.update(&[0]);
            mac.update(token.as_bytes());
            mac.update(&block.to_le_bytes());
            let digest = mac.finalize().into_bytes();
            // 16 positions of 16 bits per digest; FILTER_BITS divides 65536 so none is favoured.
            for pair in digest.chunks_exact(2) {
                filter.set(usize::from(u16::from_le_bytes([pair[0], pair[1]])) % FILTER_BITS);
                drawn += 1;
                if drawn == weight {
                    return;
                }
            }
        }
    }
}

/// Tokens of one value. Date parts are labelled by role except day and month, so a transposed
/// date encodes the same; so are their digits, by position within the year or within day or
/// month, so one mistyped digit changes two tokens of eleven rather than a whole part of three.
fn tokens(kind: FieldKind, data: &Dataset, column: usize, row: usize) -> Vec<String> {
    if kind == FieldKind::DateOfBirth {
        return data.date(column, row).map_or_else(Vec::new, |d| {
            let year = format!("{:04}", d.year);
            let mut tokens = vec![
                format!("y{}", d.year),
                format!("dm{}", d.day),
                format!("dm{}", d.month),
            ];
            tokens.extend(year.chars().enumerate().map(|(k, c)| format!("y{k}:{c}")));
            for part in [d.day, d.month] {
                let digits = format!("{part:02}");
                tokens.extend(
                    digits
                        .chars()
                        .enumerate()
                        .map(|(k, c)| format!("dm{k}:{c}")),
                );
            }
            tokens
        });
    }
    let Some(value) = data.text(column, row) else {
        return Vec::new();
    };
    match kind {
        FieldKind::HouseNumber => vec![format!("h{value}")],
        FieldKind::Phone | FieldKind::Email | FieldKind::Identifier | FieldKind::NhsNumber => {
            vec![format!("{kind:?}{value}")]
        }
        FieldKind::Postcode => qgrams(value, "p"),
        FieldKind::Place => qgrams(value, "t"),
        _ => qgrams(value, ""),
    }
}

/// Bigrams of the value padded with spaces, so first and last letters count too.
fn qgrams(value: &str, label: &str) -> Vec<String> {
    let padded: Vec<char> = format!(" {value} ").chars().collect();
    padded
        .windows(2)
        .map(|w| format!("{label}{}{}", w[0], w[1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::tests::people as records;

    #[test]
    fn similar_records_have_similar_encodings_and_keys_matter() {
        let ds = records(&[
            ["Jennifer", "Smith", "1990-03-04"],
            ["Jenifer", "Smith", "1990-04-03"],
            ["Oluwaseun", "Adeyemi", "1975-11-30"],
        ]);
        let encoder = Encoder::new(b"a shared secret of some length").unwrap();
        let enc: Vec<Vec<Option<Bits>>> = (0..3).map(|r| encoder.encode(&ds, r)).collect();
        let name = |a: usize, b: usize| {
            enc[a][0]
                .as_ref()
                .unwrap()
                .dice(enc[b][0].as_ref().unwrap())
        };
        assert!(
            name(0, 1) > 0.85,
            "one letter dropped keeps most bigrams: {}",
            name(0, 1)
        );
        assert!(
            name(0, 2) < 0.3,
            "different names share few bits: {}",
            name(0, 2)
        );
        assert_eq!(
            enc[0][2], enc[1][2],
            "transposed day and month encode alike"
        );

        let other_key = Encoder::new(b"another secret, just as long")
            .unwrap()
            .encode(&ds, 0);
        assert!(
            other_key[0]
                .as_ref()
                .unwrap()
                .dice(enc[0][0].as_ref().unwrap())
                < 0.3
        );
    }

    #[test]
    fn one_mistyped_digit_keeps_a_birth_date_closer_than_another_year() {
        let ds = records(&[
            ["", "", "1990-03-04"],
            ["", "", "1990-03-07"],
            ["", "", "1980-03-04"],
            ["", "", "1987-03-04"],
            ["", "", ""],
        ]);
        let encoder = Encoder::new(b"a shared secret of some length").unwrap();
        let birth = |r| encoder.encode(&ds, r)[2].clone();
        let dice = |a, b| birth(a).unwrap().dice(&birth(b).unwrap());
        assert!(dice(0, 1) >= 0.8, "one day digit: {}", dice(0, 1));
        assert!(dice(0, 2) >= 0.8, "one year digit: {}", dice(0, 2));
        assert!(dice(0, 3) < 0.8, "two year digits: {}", dice(0, 3));
        assert_eq!(birth(4), None, "no date, no birth filter");
    }

    #[test]
    fn a_postcode_without_address_lines_makes_no_address_filter() {
        let field = |name: &str, kind| Field {
            name: name.into(),
            kind,
        };
        let fields = vec![
            field("address", FieldKind::Address),
            field("postcode", FieldKind::Postcode),
        ];
        let mut ds = Dataset::new(fields);
        ds.push("a", &["12 Church Road", "LS6 2AB"]).unwrap();
        ds.push("b", &["", "LS6 2AB"]).unwrap();
        ds.push("c", &["12 Church Road", ""]).unwrap();
        let encoder = Encoder::new(b"a shared secret of some length").unwrap();
        assert!(encoder.encode(&ds, 0)[0].is_some());
        assert_eq!(encoder.encode(&ds, 1), vec![None]);
        assert!(encoder.encode(&ds, 2)[0].is_some());
    }

    #[test]
    fn a_name_encodes_alike_in_either_name_field() {
        let ds = records(&[["Jennifer", "Smith", ""], ["Smith", "Jennifer", ""]]);
        let encoder = Encoder::new(b"a shared secret of some length").unwrap();
        let (a, b) = (encoder.encode(&ds, 0), encoder.encode(&ds, 1));
        let dice =
            |x: &Option<Bits>, y: &Option<Bits>| x.as_ref().unwrap().dice(y.as_ref().unwrap());
        assert_eq!(
            dice(&a[0], &b[1]),
            1.0,
            "given of one is family of the other"
        );
        assert_eq!(dice(&a[1], &b[0]), 1.0);
        assert!(dice(&a[0], &b[0]) < 0.3);
    }

    #[test]
    fn base64_round_trip_and_short_keys_refused() {
        let mut bits = Bits::zeros(128);
        bits.set(3);
        bits.set(127);
        assert_eq!(Bits::from_base64(&bits.to_base64()).unwrap(), bits);
        assert!(Bits::from_base64("abc").is_err());
        assert!(Encoder::new(b"short").is_err());
    }

    #[test]
    fn the_key_check_tells_keys_apart_and_holds_no_key() {
        let key = b"a shared secret of some length";
        let check = Encoder::new(key).unwrap().key_check();
        assert_eq!(check.len(), 32);
        assert_eq!(check, Encoder::new(key).unwrap().key_check());
        assert_ne!(
            check,
            Encoder::new(b"another secret, just as long")
                .unwrap()
                .key_check()
        );
        assert!(!check.contains("736563726574"), "not the key in hex");
    }
}
