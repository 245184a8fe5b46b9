//! Synthetic people in households, recorded twice with the mistakes agencies make: typos,
//! nicknames, swapped names, transposed dates, missing values, moves. Siblings, twins and
//! parents share a surname, an address, a postcode and a phone, which is what makes families
//! hard to tell apart. Seeded, so every run with the same settings gives the same files.

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::nicknames;

pub const HEADERS: [&str; 8] = [
    "id",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "address",
    "postcode",
    "phone",
];

#[derive(Clone, Debug)]
pub struct GeneratorSettings {
    pub people: usize,
    pub seed: u64,
}

/// Two files about the same people, each holding one record per person.
pub struct LinkData {
    pub left: Vec<[String; 8]>,
    pub right: Vec<[String; 8]>,
    /// (left id, right id) of each person.
    pub truth: Vec<(String, String)>,
}

/// One file in which some people appear more than once.
pub struct DedupeData {
    pub records: Vec<[String; 8]>,
    /// Every pair of ids that belong to one person.
    pub truth: Vec<(String, String)>,
}

const GIVEN_FEMALE: &[&str] = &[
    "olivia",
    "amelia",
    "isla",
    "ava",
    "emily",
    "sophia",
    "grace",
    "mia",
    "poppy",
    "ella",
    "lily",
    "evie",
    "isabella",
    "sophie",
    "ivy",
    "freya",
    "harper",
    "willow",
    "charlotte",
    "jessica",
    "sarah",
    "rebecca",
    "elizabeth",
    "catherine",
    "margaret",
    "susan",
    "victoria",
    "samantha",
    "patricia",
    "deborah",
    "jennifer",
    "christine",
    "alexandra",
    "eleanor",
    "amira",
    "fatima",
    "aisha",
    "zainab",
    "maryam",
    "priya",
    "chloe",
    "hannah",
    "lucy",
    "megan",
    "laura",
    "emma",
    "amy",
    "rachel",
    "nicola",
    "joanne",
    "claire",
    "kelly",
    "gemma",
    "zoe",
    "ruby",
    "daisy",
    "phoebe",
    "matilda",
    "rosie",
    "maya",
];
const GIVEN_MALE: &[&str] = &[
    "oliver",
    "george",
    "noah",
    "arthur",
    "harry",
    "leo",
    "muhammad",
    "jack",
    "charlie",
    "oscar",
    "jacob",
    "henry",
    "thomas",
    "freddie",
    "alfie",
    "theo",
    "william",
    "james",
    "joshua",
    "samuel",
    "daniel",
    "benjamin",
    "alexander",
    "christopher",
    "michael",
    "robert",
    "richard",
    "stephen",
    "anthony",
    "andrew",
    "edward",
    "matthew",
    "nicholas",
    "joseph",
    "peter",
    "timothy",
    "kenneth",
    "gregory",
    "patrick",
    "jonathan",
    "ali",
    "omar",
    "yusuf",
    "ibrahim",
    "arjun",
    "ryan",
    "liam",
    "kyle",
    "dylan",
    "lewis",
    "adam",
    "luke",
    "nathan",
    "callum",
    "connor",
    "mason",
    "ethan",
    "logan",
];
const SURNAMES: &[&str] = &[
    "smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "robinson",
    "wright", "thompson", "evans", "walker", "white", "roberts", "green", "hall", "wood",
    "jackson", "clarke", "patel", "khan", "hussain", "ahmed", "ali", "begum", "lewis", "harris",
    "martin", "cooper", "king", "lee", "turner", "hill", "moore", "clark", "baker", "harrison",
    "morgan", "allen", "scott", "young", "mitchell", "watson", "kelly", "cook", "bell", "ward",
    "murphy", "price", "bailey", "parker", "shaw", "kaur", "singh", "miah", "nowak", "kowalski",
    "okafor", "mensah",
];
const SYLLABLES: &[&str] = &[
    "ash", "brook", "bur", "calder", "dun", "el", "fen", "gar", "hol", "ing", "kirk", "lang",
    "mar", "ner", "ol", "pen", "rad", "sel", "thorn", "ul", "ver", "wick", "by", "ton", "ley",
    "field", "well", "den", "ham", "worth", "ford",
];
const STREETS: &[&str] = &[
    "church",
    "station",
    "victoria",
    "park",
    "high",
    "green",
    "manor",
    "mill",
    "school",
    "north",
    "south",
    "queens",
    "kings",
    "grove",
    "chapel",
    "oak",
    "beech",
    "elm",
    "cedar",
    "willow",
    "meadow",
    "spring",
    "hollin",
    "otley",
    "harehills",
];
const STREET_TYPES: &[&str] = &[
    "road", "street", "lane", "avenue", "close", "drive", "crescent", "terrace", "grove", "way",
];
const AREAS: &[&str] = &["LS", "BD", "HX", "WF", "HD", "S", "M", "YO"];

/// A name list of `size`: the real names first, then made-up ones from syllables.
fn name_list(real: &[&str], size: usize, rng: &mut ChaCha8Rng) -> Vec<String> {
    let mut names: Vec<String> = real.iter().map(|s| s.to_string()).collect();
    while names.len() < size {
        let parts = rng.random_range(2..=3);
        let name: String = (0..parts)
            .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
            .collect();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Draws indices with Zipf-like weights 1/(rank+offset): some common names, a long tail. The
/// offset sets how common the commonest is (Smith is about 1 in 100 in England).
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, offset: f64) -> Self {
        let mut total = 0.0;
        Zipf {
            cumulative: (0..n)
                .map(|r| {
                    total += 1.0 / (r as f64 + offset);
                    total
                })
                .collect(),
        }
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> usize {
        let x = rng.random::<f64>() * self.cumulative.last().expect("not empty");
        self.cumulative.partition_point(|c| *c < x)
    }
}

#[derive(Clone)]
struct Person {
    given: String,
    family: String,
    dob: (u16, u8, u8),
    sex: char,
    home: Home,
}

#[derive(Clone)]
struct Home {
    address: String,
    postcode: String,
    phone: String,
}

struct World {
    rng: ChaCha8Rng,
    female: Vec<String>,
    male: Vec<String>,
    surnames: Vec<String>,
    given_zipf: Zipf,
    surname_zipf: Zipf,
    postcodes: usize,
}

impl World {
    fn new(settings: &GeneratorSettings) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        let female = name_list(GIVEN_FEMALE, 300, &mut rng);
        let male = name_list(GIVEN_MALE, 300, &mut rng);
        let surnames = name_list(SURNAMES, 3000.min(60 + settings.people / 20), &mut rng);
        World {
            given_zipf: Zipf::new(female.len(), 8.0),
            surname_zipf: Zipf::new(surnames.len(), 30.0),
            female,
            male,
            surnames,
            // About a dozen households share a postcode, as in a real street.
            postcodes: (settings.people / 30).max(5),
            rng,
        }
    }

    fn given(&mut self, sex: char) -> String {
        let i = self.given_zipf.draw(&mut self.rng);
        if sex == 'F' {
            self.female[i].clone()
        } else {
            self.male[i].clone()
        }
    }

    fn surname(&mut self) -> String {
        let i = self.surname_zipf.draw(&mut self.rng);
        self.surnames[i].clone()
    }

    fn home(&mut self) -> Home {
        let r = &mut self.rng;
        let code = r.random_range(0..self.postcodes);
        // The postcode's parts derive from its number so the same number is the same place.
        let area = AREAS[code % AREAS.len()];
        let district = 1 + code / AREAS.len() % 30;
        let sector = code / (AREAS.len() * 30) % 10;
        let unit: String = [
            b'A' + (code * 7 % 26) as u8,
            b'A' + (code * 13 / 26 % 26) as u8,
        ]
        .iter()
        .map(|&b| b as char)
        .collect();
        let street = STREETS[(code * 31 + r.random_range(0..2)) % STREETS.len()];
        let street_type = STREET_TYPES[code % STREET_TYPES.len()];
        let phone = if r.random_bool(0.6) {
            format!(
                "0113 {:03} {:04}",
                r.random_range(200..999),
                r.random_range(0..10_000)
            )
        } else {
            String::new()
        };
        Home {
            address: format!("{} {street} {street_type}", r.random_range(1..200)),
            postcode: format!("{area}{district} {sector}{unit}"),
            phone,
        }
    }

    fn date(&mut self, from_year: u16, to_year: u16) -> (u16, u8, u8) {
        let r = &mut self.rng;
        (
            r.random_range(from_year..=to_year),
            r.random_range(1..=12),
            r.random_range(1..=28),
        )
    }

    fn household(&mut self) -> Vec<Person> {
        let family = self.surname();
        let home = self.home();
        let parent_sex = if self.rng.random_bool(0.7) { 'F' } else { 'M' };
        let parent_dob = self.date(1955, 2000);
        let mut people = vec![Person {
            given: self.given(parent_sex),
            family: family.clone(),
            dob: parent_dob,
            sex: parent_sex,
            home: home.clone(),
        }];
        if self.rng.random_bool(0.6) {
            let sex = if parent_sex == 'F' { 'M' } else { 'F' };
            let partner_family = if self.rng.random_bool(0.7) {
                family.clone()
            } else {
                self.surname()
            };
            let dob = self.date(parent_dob.0.saturating_sub(5), parent_dob.0 + 5);
            people.push(Person {
                given: self.given(sex),
                family: partner_family,
                dob,
                sex,
                home: home.clone(),
            });
        }
        let children = [0, 1, 1, 2, 2, 2, 3, 3, 4, 5][self.rng.random_range(0..10)];
        let mut year = parent_dob.0 + self.rng.random_range(18..30);
        for _ in 0..children {
            year = (year + self.rng.random_range(1..5)).min(2024);
            let sex = if self.rng.random_bool(0.5) { 'F' } else { 'M' };
            let dob = (
                year,
                self.rng.random_range(1..=12),
                self.rng.random_range(1..=28),
            );
            people.push(Person {
                given: self.given(sex),
                family: family.clone(),
                dob,
                sex,
                home: home.clone(),
            });
            if self.rng.random_bool(0.04) {
                // Twins: same birthday, same surname and address, a different given name.
                let sex = if self.rng.random_bool(0.5) { 'F' } else { 'M' };
                let mut given = self.given(sex);
                while given == people.last().expect("a child was just added").given {
                    given = self.given(sex);
                }
                people.push(Person {
                    given,
                    family: family.clone(),
                    dob,
                    sex,
                    home: home.clone(),
                });
            }
        }
        people
    }

    fn people(&mut self, count: usize) -> Vec<Person> {
        let mut people = Vec::with_capacity(count + 8);
        while people.len() < count {
            people.extend(self.household());
        }
        people.truncate(count);
        people
    }

    fn typo(&mut self, text: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        if chars.len() < 2 {
            return text.to_string();
        }
        let r = &mut self.rng;
        let at = r.random_range(0..chars.len() - 1);
        let letter = (b'a' + r.random_range(0..26)) as char;
        match r.random_range(0..4) {
            0 => chars[at] = letter,
            1 => {
                chars.remove(at);
            }
            2 => chars.insert(at, letter),
            _ => chars.swap(at, at + 1),
        }
        chars.into_iter().collect()
    }

    /// A second record of `person` by an agency with its own habits and mistakes.
    fn corrupted(&mut self, person: &Person, id: String) -> [String; 8] {
        let mut p = person.clone();
        if self.rng.random_bool(0.10) {
            p.home = self.home();
        }
        let chance = |world: &mut World, p: f64| world.rng.random_bool(p);
        if chance(self, 0.06) {
            let alternatives = nicknames::alternatives(&p.given);
            if let Some(n) = alternatives.choose(&mut self.rng) {
                p.given = n.to_string();
            }
        }
        if chance(self, 0.06) {
            p.given = self.typo(&p.given);
        }
        if chance(self, 0.05) {
            p.family = self.typo(&p.family);
        }
        if chance(self, 0.03) {
            std::mem::swap(&mut p.given, &mut p.family);
        }
        let (y, m, d) = p.dob;
        let mut dob = format!("{d:02}/{m:02}/{y}");
        if chance(self, 0.03) && d <= 12 {
            dob = format!("{m:02}/{d:02}/{y}");
        } else if chance(self, 0.04) {
            dob = self.typo_digit(&dob);
        }
        if chance(self, 0.04) {
            p.home.address = self.typo(&p.home.address);
        }
        if chance(self, 0.03) {
            p.home.postcode = self.typo(&p.home.postcode).to_uppercase();
        }
        let mut record = [
            id,
            p.given,
            p.family,
            dob,
            p.sex.to_string(),
            p.home.address,
            p.home.postcode.to_lowercase().replace(' ', ""),
            p.home.phone,
        ];
        for (field, rate) in [
            (1, 0.02),
            (2, 0.01),
            (3, 0.03),
            (4, 0.05),
            (5, 0.04),
            (6, 0.04),
            (7, 0.15),
        ] {
            if chance(self, rate) {
                record[field].clear();
            }
        }
        record
    }

    fn typo_digit(&mut self, text: &str) -> String {
        let digits: Vec<usize> = text
            .char_indices()
            .filter(|(_, c)| c.is_ascii_digit())
            .map(|(i, _)| i)
            .collect();
        let at = digits[self.rng.random_range(0..digits.len())];
        let mut out = text.to_string();
        let digit = char::from(b'0' + self.rng.random_range(0..10));
        out.replace_range(at..at + 1, &digit.to_string());
        out
    }

    /// The first agency's record: tidy, a few values missing.
    fn clean(&mut self, p: &Person, id: String) -> [String; 8] {
        let (y, m, d) = p.dob;
        let mut record = [
            id,
            capitalised(&p.given),
            capitalised(&p.family),
            format!("{y}-{m:02}-{d:02}"),
            if p.sex == 'F' {
                "Female".into()
            } else {
                "Male".into()
            },
            capitalised(&p.home.address),
            p.home.postcode.clone(),
            p.home.phone.clone(),
        ];
        for value in record.iter_mut().skip(1) {
            if self.rng.random_bool(0.01) {
                value.clear();
            }
        }
        record
    }
}

fn capitalised(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Two files about `people` people, one record each, the second in shuffled order.
pub fn link_data(settings: &GeneratorSettings) -> LinkData {
    let mut world = World::new(settings);
    let people = world.people(settings.people);
    let mut order: Vec<usize> = (0..people.len()).collect();
    order.shuffle(&mut world.rng);
    let left = people
        .iter()
        .enumerate()
        .map(|(n, p)| world.clean(p, format!("A{n:07}")))
        .collect();
    let mut right = vec![None; people.len()];
    let mut truth = Vec::with_capacity(people.len());
    for (position, &n) in order.iter().enumerate() {
        let id = format!("B{position:07}");
        truth.push((format!("A{n:07}"), id.clone()));
        right[position] = Some(world.corrupted(&people[n], id));
    }
    LinkData {
        left,
        right: right
            .into_iter()
            .map(|r| r.expect("every position filled"))
            .collect(),
        truth,
    }
}

/// One file of `people` people, about a third of them recorded two or three times.
pub fn dedupe_data(settings: &GeneratorSettings) -> DedupeData {
    let mut world = World::new(settings);
    let people = world.people(settings.people);
    let mut records = Vec::new();
    let mut truth = Vec::new();
    for (n, person) in people.iter().enumerate() {
        let first = format!("P{n:07}-0");
        records.push(world.clean(person, first.clone()));
        let copies = [0, 0, 0, 0, 1, 1, 2][world.rng.random_range(0..7)];
        let mut ids = vec![first];
        for copy in 1..=copies {
            let id = format!("P{n:07}-{copy}");
            records.push(world.corrupted(person, id.clone()));
            ids.iter()
                .for_each(|earlier| truth.push((earlier.clone(), id.clone())));
            ids.push(id);
        }
    }
    records.shuffle(&mut world.rng);
    DedupeData { records, truth }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_data_repeats_and_holds_families() {
        let settings = GeneratorSettings {
            people: 500,
            seed: 3,
        };
        let (a, b) = (link_data(&settings), link_data(&settings));
        assert_eq!(a.right, b.right, "same seed, same data");
        assert_eq!(a.left.len(), 500);
        assert_eq!(a.truth.len(), 500);
        let shared_surname_and_postcode = a
            .left
            .iter()
            .zip(a.left.iter().skip(1))
            .filter(|(x, y)| x[2] == y[2] && x[6] == y[6])
            .count();
        assert!(
            shared_surname_and_postcode > 100,
            "neighbouring records are often family: {shared_surname_and_postcode}"
        );
        let dedupe = dedupe_data(&settings);
        assert!(dedupe.records.len() > 550 && !dedupe.truth.is_empty());
    }
}
