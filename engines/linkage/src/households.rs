//! A second, independent generator of household-structured test data, written apart from
//! `generate` so that the engine is not judged only on data shaped like its own generator.
//!
//! The design differs on purpose: a town of streets whose house numbers are grouped into unit
//! postcodes (neighbours share a postcode, as in the UK), households of 1 to 8 people (couples
//! with or without a shared surname, children with the family's or a double-barrelled surname,
//! twins and triplets, grandparents, lodgers), and two files drawn from one population with
//! only partial overlap: a person may be in one file, the other or both, and household members
//! of a person missing from one file are still in it. Between the two snapshots households and
//! single people move, and some women take their partner's surname at marriage. Every record is
//! then written down by an agency with its own habits: nicknames (from a table of its own, not
//! the engine's), typos of several kinds, given and family names swapped, day and month swapped,
//! wrong years, abbreviations, and missing values. Columns are split as many councils hold them:
//! house number, street, town, postcode. Seeded: the same settings always give the same files.

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

pub const HEADERS: [&str; 9] = [
    "rec_id",
    "first_name",
    "surname",
    "dob",
    "gender",
    "house_number",
    "street",
    "town",
    "postcode",
];

/// How the population and the two agencies' recording habits are drawn.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Share of households of 1, 2, ... 8 people (need not sum to 1).
    pub household_sizes: [f64; 8],
    /// Share of people in both files; the rest are split between the two.
    pub overlap: f64,
    pub twins: f64,
    pub household_moves: f64,
    pub person_moves: f64,
    pub marriage_name_change: f64,
    /// Multiplies every recording error rate of the second file.
    pub noise: f64,
    pub missing: f64,
}

impl Profile {
    /// The development profile: half the people in both files, moderate noise.
    pub fn a() -> Self {
        Profile {
            household_sizes: [0.20, 0.25, 0.18, 0.18, 0.10, 0.05, 0.025, 0.015],
            overlap: 0.5,
            twins: 0.03,
            household_moves: 0.08,
            person_moves: 0.05,
            marriage_name_change: 0.03,
            noise: 1.0,
            missing: 1.0,
        }
    }

    /// A harsher profile for held-out reports: bigger households, more twins, more moves,
    /// more noise and missing values, more overlap.
    pub fn b() -> Self {
        Profile {
            household_sizes: [0.10, 0.18, 0.18, 0.20, 0.14, 0.10, 0.06, 0.04],
            overlap: 0.7,
            twins: 0.06,
            household_moves: 0.12,
            person_moves: 0.08,
            marriage_name_change: 0.05,
            noise: 1.5,
            missing: 1.5,
        }
    }
}

/// Two files of about `per_side` records each, and the true pairs.
pub struct Households {
    pub left: Vec<[String; 9]>,
    pub right: Vec<[String; 9]>,
    pub truth: Vec<(String, String)>,
}

const FEMALE: &[&str] = &[
    "abigail",
    "alice",
    "amber",
    "angela",
    "anne",
    "barbara",
    "beatrice",
    "brenda",
    "carol",
    "caroline",
    "chelsea",
    "clara",
    "diane",
    "dorothy",
    "eileen",
    "elaine",
    "elizabeth",
    "emma",
    "esther",
    "evelyn",
    "florence",
    "frances",
    "gillian",
    "gloria",
    "hazel",
    "helen",
    "imogen",
    "irene",
    "jacqueline",
    "jane",
    "janet",
    "jasmine",
    "jennifer",
    "joan",
    "josephine",
    "julia",
    "karen",
    "katherine",
    "kirsty",
    "leanne",
    "linda",
    "lorraine",
    "louise",
    "lydia",
    "margaret",
    "maria",
    "marion",
    "martha",
    "maureen",
    "melanie",
    "michelle",
    "molly",
    "natalie",
    "nina",
    "norma",
    "pamela",
    "paula",
    "pauline",
    "penelope",
    "rebecca",
    "rita",
    "rose",
    "ruth",
    "sandra",
    "shannon",
    "sharon",
    "sheila",
    "shirley",
    "stacey",
    "susan",
    "tracey",
    "valerie",
    "vanessa",
    "wendy",
    "yvonne",
    "zara",
    "nadia",
    "sadia",
    "roksana",
    "agnieszka",
    "oksana",
];
const MALE: &[&str] = &[
    "aaron",
    "adam",
    "alan",
    "albert",
    "alexander",
    "alfred",
    "andrew",
    "anthony",
    "arnold",
    "barry",
    "bernard",
    "brian",
    "callum",
    "carl",
    "charles",
    "colin",
    "craig",
    "darren",
    "dean",
    "dennis",
    "derek",
    "dominic",
    "douglas",
    "edward",
    "ernest",
    "francis",
    "frederick",
    "gareth",
    "gary",
    "geoffrey",
    "gerald",
    "gordon",
    "graham",
    "henry",
    "ian",
    "jason",
    "jeffrey",
    "jeremy",
    "joseph",
    "keith",
    "kevin",
    "lawrence",
    "leonard",
    "lewis",
    "malcolm",
    "martin",
    "maurice",
    "neil",
    "nathaniel",
    "nigel",
    "norman",
    "owen",
    "patrick",
    "philip",
    "raymond",
    "reginald",
    "robert",
    "roger",
    "ronald",
    "russell",
    "scott",
    "shane",
    "simon",
    "stanley",
    "stuart",
    "terence",
    "theodore",
    "trevor",
    "victor",
    "wayne",
    "william",
    "zachary",
    "tariq",
    "imran",
    "kamal",
    "piotr",
    "tomasz",
    "dmitri",
    "kwame",
    "tunde",
];
/// Short forms as this generator's agencies write them; deliberately not the engine's table.
const SHORT_FORMS: &[(&str, &[&str])] = &[
    ("abigail", &["abby", "gail"]),
    ("alexander", &["alex", "sasha", "sandy"]),
    ("alfred", &["alf", "fred"]),
    ("andrew", &["andy", "drew"]),
    ("anthony", &["tony"]),
    ("barbara", &["babs", "barb"]),
    ("bernard", &["bernie"]),
    ("charles", &["charlie", "chuck"]),
    ("dorothy", &["dot", "dotty", "dolly"]),
    ("douglas", &["doug"]),
    ("edward", &["ed", "ted", "eddie"]),
    ("elizabeth", &["liz", "beth", "lizzie", "betty"]),
    ("frances", &["fran", "frankie"]),
    ("francis", &["frank"]),
    ("frederick", &["fred", "freddy"]),
    ("geoffrey", &["geoff"]),
    ("gerald", &["gerry"]),
    ("henry", &["harry", "hal"]),
    ("jacqueline", &["jackie"]),
    ("jennifer", &["jenny", "jen"]),
    ("joseph", &["joe", "joey"]),
    ("josephine", &["jo", "josie"]),
    ("katherine", &["kate", "kath", "katie", "kay"]),
    ("lawrence", &["larry", "laurie"]),
    ("leonard", &["len", "lenny", "leo"]),
    ("margaret", &["maggie", "peggy", "meg", "rita"]),
    ("martha", &["marty", "patty"]),
    ("nathaniel", &["nat", "nathan"]),
    ("pamela", &["pam"]),
    ("patrick", &["pat", "paddy"]),
    ("penelope", &["penny"]),
    ("philip", &["phil", "pip"]),
    ("raymond", &["ray"]),
    ("rebecca", &["becky", "becca"]),
    ("reginald", &["reg", "reggie"]),
    ("robert", &["bob", "rob", "bobby", "robbie"]),
    ("ronald", &["ron", "ronnie"]),
    ("stanley", &["stan"]),
    ("susan", &["sue", "suzy"]),
    ("terence", &["terry"]),
    ("theodore", &["theo", "ted"]),
    ("valerie", &["val"]),
    ("victor", &["vic"]),
    ("william", &["bill", "will", "billy"]),
    ("zachary", &["zack"]),
];
const SURNAMES: &[&str] = &[
    "smith",
    "jones",
    "taylor",
    "brown",
    "williams",
    "wilson",
    "johnson",
    "davies",
    "robinson",
    "wright",
    "thompson",
    "evans",
    "walker",
    "white",
    "roberts",
    "green",
    "hall",
    "wood",
    "jackson",
    "clarke",
    "patel",
    "khan",
    "hussain",
    "ahmed",
    "begum",
    "ali",
    "kowalski",
    "nowak",
    "okafor",
    "mensah",
    "oconnor",
    "murphy",
    "kelly",
    "campbell",
    "stewart",
    "scott",
    "morris",
    "cooper",
    "ward",
    "hughes",
    "edwards",
    "turner",
    "hill",
    "moore",
    "parker",
    "harris",
    "lewis",
    "baker",
    "carter",
    "phillips",
    "mitchell",
    "bennett",
    "cook",
    "shaw",
    "holmes",
    "lloyd",
    "marshall",
    "fox",
    "dixon",
    "hunt",
    "palmer",
    "mason",
    "knight",
    "butler",
    "barnes",
    "fisher",
    "harvey",
    "pearson",
    "gibson",
    "ellis",
    "reid",
    "graham",
    "kaur",
    "singh",
    "sharma",
    "iqbal",
    "rahman",
    "chowdhury",
    "nguyen",
    "chen",
    "wang",
];
const SURNAME_HEADS: &[&str] = &[
    "ash", "brad", "craw", "dun", "eld", "fair", "gold", "hart", "kings", "lang", "mar", "north",
    "oak", "pem", "rad", "shel", "thorn", "wal", "wood", "york", "bram", "cal", "hol", "stan",
    "whit",
];
const SURNAME_MIDDLES: &[&str] = &["", "er", "in", "ing", "en"];
const SURNAME_TAILS: &[&str] = &[
    "ford", "ley", "ton", "field", "worth", "by", "well", "wick", "ham", "croft", "shaw", "more",
    "dale", "bury", "stone",
];
const STREET_NAMES: &[&str] = &[
    "acacia",
    "albion",
    "beech",
    "belle vue",
    "cardigan",
    "chapel",
    "church",
    "clarendon",
    "commercial",
    "cross",
    "elm",
    "gledhow",
    "granby",
    "grove",
    "harehills",
    "headingley",
    "kirkstall",
    "lidgett",
    "manor",
    "market",
    "mill",
    "moor",
    "newton",
    "oakwood",
    "park",
    "queens",
    "regent",
    "roundhay",
    "school",
    "spencer",
    "station",
    "victoria",
    "westfield",
    "woodhouse",
    "york",
    "hawthorn",
    "laburnum",
    "sycamore",
    "rowan",
    "poplar",
];
const STREET_KINDS: &[(&str, &str)] = &[
    ("road", "rd"),
    ("street", "st"),
    ("avenue", "ave"),
    ("lane", "ln"),
    ("terrace", "ter"),
    ("crescent", "cres"),
    ("close", "cl"),
    ("gardens", "gdns"),
];
const TOWNS: &[(&str, &str)] = &[
    ("leeds", "LS"),
    ("bradford", "BD"),
    ("wakefield", "WF"),
    ("halifax", "HX"),
    ("huddersfield", "HD"),
    ("harrogate", "HG"),
];

#[derive(Clone)]
struct Address {
    number: u32,
    /// An index into the town's streets.
    street: usize,
}

struct Street {
    name: String,
    town: usize,
    district: u32,
    sector: u32,
    /// Number of houses; unit postcodes cover runs of 24 numbers.
    houses: u32,
}

#[derive(Clone)]
struct Person {
    first: String,
    surname: String,
    dob: (u32, u32, u32),
    female: bool,
    home: Address,
}

struct Town {
    rng: ChaCha12Rng,
    profile: Profile,
    streets: Vec<Street>,
    surnames: Vec<String>,
    /// Cumulative weights for drawing surnames and given names.
    surname_weights: Vec<f64>,
    female_weights: Vec<f64>,
    male_weights: Vec<f64>,
}

/// Cumulative weights falling off geometrically, with a floor so the tail is drawn too.
fn cumulative(n: usize, ratio: f64, floor: f64) -> Vec<f64> {
    let mut total = 0.0;
    (0..n)
        .map(|k| {
            total += ratio.powi(k as i32) + floor;
            total
        })
        .collect()
}

fn pick(rng: &mut ChaCha12Rng, weights: &[f64]) -> usize {
    let x = rng.random::<f64>() * weights.last().expect("weights");
    weights.partition_point(|w| *w < x).min(weights.len() - 1)
}

impl Town {
    fn new(people: usize, seed: u64, profile: Profile) -> Self {
        let mut rng = ChaCha12Rng::seed_from_u64(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xA5);
        let mut surnames: Vec<String> = SURNAMES.iter().map(|s| s.to_string()).collect();
        for head in SURNAME_HEADS {
            for middle in SURNAME_MIDDLES {
                for tail in SURNAME_TAILS {
                    surnames.push(format!("{head}{middle}{tail}"));
                }
            }
        }
        let real = SURNAMES.len();
        surnames[real..].shuffle(&mut rng);
        // Roughly 45 people a street; a street holds up to 240 houses.
        let streets = (people / 45).max(20);
        let streets = (0..streets)
            .map(|s| {
                let town = rng.random_range(0..TOWNS.len());
                let (name, kind) = (
                    STREET_NAMES.choose(&mut rng).expect("streets"),
                    STREET_KINDS.choose(&mut rng).expect("kinds").0,
                );
                Street {
                    name: format!("{name} {kind}"),
                    town,
                    district: 1 + (s as u32 * 7 + rng.random_range(0..3)) % 40,
                    sector: rng.random_range(1..10),
                    houses: rng.random_range(20..240),
                }
            })
            .collect();
        Town {
            surname_weights: cumulative(surnames.len(), 0.985, 0.002),
            female_weights: cumulative(FEMALE.len(), 0.96, 0.004),
            male_weights: cumulative(MALE.len(), 0.96, 0.004),
            surnames,
            streets,
            profile,
            rng,
        }
    }

    fn surname(&mut self) -> String {
        let k = pick(&mut self.rng, &self.surname_weights);
        self.surnames[k].clone()
    }

    fn first(&mut self, female: bool) -> String {
        let (names, weights) = if female {
            (FEMALE, &self.female_weights)
        } else {
            (MALE, &self.male_weights)
        };
        names[pick(&mut self.rng, weights)].to_string()
    }

    fn address(&mut self) -> Address {
        let street = self.rng.random_range(0..self.streets.len());
        Address {
            number: self.rng.random_range(1..=self.streets[street].houses),
            street,
        }
    }

    fn date(&mut self, year: u32) -> (u32, u32, u32) {
        (
            year,
            self.rng.random_range(1..=12),
            self.rng.random_range(1..=28),
        )
    }

    fn person(
        &mut self,
        first: Option<String>,
        surname: &str,
        dob: (u32, u32, u32),
        female: bool,
        home: &Address,
    ) -> Person {
        Person {
            first: first.unwrap_or_else(|| self.first(female)),
            surname: surname.to_string(),
            dob,
            female,
            home: home.clone(),
        }
    }

    fn household(&mut self) -> Vec<Person> {
        let size = 1 + pick(&mut self.rng, &running(&self.profile.household_sizes));
        let home = self.address();
        let family = self.surname();
        let r = &mut self.rng;
        let adult_year = r.random_range(1950..2002);
        let first_female = r.random_bool(0.55);
        let dob = self.date(adult_year);
        let mut people = vec![self.person(None, &family, dob, first_female, &home)];
        if size == 1 {
            return people;
        }
        let mut rest = size - 1;
        if self.rng.random_bool(0.75) {
            let partner_surname = if self.rng.random_bool(0.6) {
                family.clone()
            } else {
                self.surname()
            };
            let year = adult_year + self.rng.random_range(0..8) - 3;
            let dob = self.date(year);
            people.push(self.person(None, &partner_surname, dob, !first_female, &home));
            rest -= 1;
        }
        if rest > 0 && self.rng.random_bool(0.1) {
            // A grandparent, or a lodger of another family.
            let surname = if self.rng.random_bool(0.5) {
                family.clone()
            } else {
                self.surname()
            };
            let year = if surname == family {
                adult_year - self.rng.random_range(20..35)
            } else {
                self.rng.random_range(1950..2004)
            };
            let female = self.rng.random_bool(0.5);
            let dob = self.date(year);
            people.push(self.person(None, &surname, dob, female, &home));
            rest -= 1;
        }
        let double_barrelled =
            people.len() > 1 && people[1].surname != family && self.rng.random_bool(0.2);
        let child_surname = if double_barrelled {
            format!("{family}-{}", people[1].surname)
        } else {
            family.clone()
        };
        let mut year = (adult_year + self.rng.random_range(19..32)).min(2024);
        while rest > 0 {
            let dob = self.date(year);
            let births = if rest >= 2 && self.rng.random_bool(self.profile.twins) {
                if rest >= 3 && self.rng.random_bool(0.05) {
                    3
                } else {
                    2
                }
            } else {
                1
            };
            let mut names: Vec<String> = Vec::new();
            for _ in 0..births {
                let female = self.rng.random_bool(0.5);
                let mut first = self.first(female);
                while names.contains(&first) {
                    first = self.first(female);
                }
                names.push(first.clone());
                people.push(self.person(Some(first), &child_surname, dob, female, &home));
            }
            rest -= births;
            year = (year + self.rng.random_range(1..6)).min(2025);
        }
        people
    }

    /// The person as they are at the second snapshot: moved, married.
    fn later(&mut self, person: &Person, household_moved: Option<&Address>) -> Person {
        let mut p = person.clone();
        if let Some(home) = household_moved {
            p.home = home.clone();
        } else if self.rng.random_bool(self.profile.person_moves) {
            p.home = self.address();
        }
        if p.female && p.dob.0 < 2004 && self.rng.random_bool(self.profile.marriage_name_change) {
            p.surname = self.surname();
        }
        p
    }

    fn chance(&mut self, rate: f64, noisy: bool) -> bool {
        let rate = if noisy {
            rate * self.profile.noise
        } else {
            rate * 0.4
        };
        self.rng.random_bool(rate.min(1.0))
    }

    fn missing(&mut self, rate: f64) -> bool {
        self.rng.random_bool((rate * self.profile.missing).min(1.0))
    }

    /// One agency's record of `p`; `noisy` is the second agency, whose habits are worse.
    fn record(&mut self, p: &Person, id: String, noisy: bool) -> [String; 9] {
        let mut first = p.first.clone();
        let mut surname = p.surname.clone();
        if self.chance(0.05, noisy)
            && let Some((_, short)) = SHORT_FORMS.iter().find(|(full, _)| *full == first)
        {
            first = short.choose(&mut self.rng).expect("forms").to_string();
        }
        if self.chance(0.01, noisy) {
            // A middle name recorded with the first.
            let extra = self.first(p.female);
            first = format!("{first} {extra}");
        }
        if self.chance(0.05, noisy) {
            first = self.typo(&first);
        }
        if self.chance(0.04, noisy) {
            surname = self.typo(&surname);
        }
        if self.chance(0.005, noisy) {
            first = first[..1].to_string();
        }
        if self.chance(0.02, noisy) {
            std::mem::swap(&mut first, &mut surname);
        }
        let (mut y, mut m, mut d) = p.dob;
        if self.chance(0.02, noisy) && d <= 12 {
            std::mem::swap(&mut m, &mut d);
        } else if self.chance(0.015, noisy) {
            y = if self.rng.random_bool(0.5) {
                y + 1
            } else {
                y - 1
            };
        } else if self.chance(0.02, noisy) {
            // One digit of the day mistyped, or its digits exchanged.
            d = if d >= 10 && d % 10 != 0 && self.rng.random_bool(0.5) {
                (d % 10) * 10 + d / 10
            } else {
                (d / 10) * 10 + self.rng.random_range(1..10)
            };
        }
        let dob = if noisy {
            format!("{d}/{m}/{y}")
        } else {
            format!("{y}-{m:02}-{d:02}")
        };
        let street = &self.streets[p.home.street];
        let (town, area) = TOWNS[street.town];
        let unit = p.home.number / 24;
        let letters = |k: u32| (b'A' + (k % 26) as u8) as char;
        let postcode = format!(
            "{area}{} {}{}{}",
            street.district,
            street.sector,
            letters(p.home.street as u32 * 3 + unit),
            letters(p.home.street as u32 / 26 + unit * 5)
        );
        let mut street_text = street.name.clone();
        let mut number = p.home.number.to_string();
        let mut postcode = if noisy {
            postcode.to_lowercase().replace(' ', "")
        } else {
            postcode
        };
        if self.chance(0.15, noisy) {
            for (long, short) in STREET_KINDS {
                if let Some(stem) = street_text.strip_suffix(long) {
                    street_text = format!("{stem}{short}");
                }
            }
        }
        if self.chance(0.03, noisy) {
            street_text = self.typo(&street_text);
        }
        if self.chance(0.02, noisy) {
            postcode = self.typo(&postcode);
        }
        if self.chance(0.01, noisy) {
            number = format!("{}", p.home.number + self.rng.random_range(1..3));
        }
        if self.chance(0.02, noisy) {
            number = format!("{number}{}", ['a', 'b'].choose(&mut self.rng).expect("two"));
        }
        let gender = match (p.female, noisy) {
            (true, true) => "F",
            (false, true) => "M",
            (true, false) => "female",
            (false, false) => "male",
        };
        let mut record = [
            id,
            first,
            surname,
            dob,
            gender.to_string(),
            number,
            street_text,
            town.to_string(),
            postcode,
        ];
        let rates = [0.0, 0.015, 0.01, 0.03, 0.05, 0.05, 0.04, 0.12, 0.04];
        for (value, rate) in record.iter_mut().zip(rates).skip(1) {
            if self.missing(if noisy { rate } else { rate * 0.5 }) {
                value.clear();
            }
        }
        record
    }

    /// A typo of one of several kinds: a neighbouring key, a dropped or doubled letter, two
    /// letters exchanged, or a spelling that sounds the same.
    fn typo(&mut self, text: &str) -> String {
        const SOUNDS: &[(&str, &str)] = &[
            ("ph", "f"),
            ("ck", "k"),
            ("ee", "ea"),
            ("ie", "y"),
            ("th", "t"),
            ("ou", "ow"),
            ("c", "k"),
            ("y", "i"),
        ];
        const ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
        let mut chars: Vec<char> = text.chars().collect();
        if chars.len() < 3 {
            return text.to_string();
        }
        let at = self.rng.random_range(1..chars.len() - 1);
        match self.rng.random_range(0..5) {
            0 => {
                let c = chars[at];
                if let Some(row) = ROWS.iter().find(|r| r.contains(c)) {
                    let row: Vec<char> = row.chars().collect();
                    let k = row.iter().position(|x| *x == c).expect("in row");
                    chars[at] = if k + 1 < row.len() {
                        row[k + 1]
                    } else {
                        row[k - 1]
                    };
                }
            }
            1 => {
                chars.remove(at);
            }
            2 => chars.insert(at, chars[at]),
            3 => chars.swap(at, at + 1),
            _ => {
                let sounds: Vec<&(&str, &str)> = SOUNDS
                    .iter()
                    .filter(|(from, _)| text.contains(from))
                    .collect();
                if let Some((from, to)) = sounds.choose(&mut self.rng) {
                    return text.replacen(from, to, 1);
                }
                chars.remove(at);
            }
        }
        chars.into_iter().collect()
    }
}

fn running(shares: &[f64]) -> Vec<f64> {
    let mut total = 0.0;
    shares
        .iter()
        .map(|s| {
            total += s;
            total
        })
        .collect()
}

/// Two files of about `per_side` records each about one population; `profile` sets its shape.
pub fn households(per_side: usize, seed: u64, profile: Profile) -> Households {
    let mut town = Town::new(per_side * 2, seed, profile);
    let (mut left, mut right, mut truth) = (Vec::new(), Vec::new(), Vec::new());
    let overlap = town.profile.overlap;
    // Each file holds a household or not as a whole, mostly; a person in both is in the truth.
    let (mut in_left, mut in_right) = (Vec::new(), Vec::new());
    while in_left.len() < per_side || in_right.len() < per_side {
        let people = town.household();
        let moved = town
            .rng
            .random_bool(town.profile.household_moves)
            .then(|| town.address());
        // A share `overlap` of each file is in both: P(both) = o / (2 - o).
        let both = overlap / (2.0 - overlap);
        let to = town.rng.random::<f64>();
        for person in people {
            let later = town.later(&person, moved.as_ref());
            let draw = if town.rng.random_bool(0.85) {
                to
            } else {
                town.rng.random()
            };
            let (l, r) = if draw < both {
                (true, true)
            } else if draw < (1.0 + both) / 2.0 {
                (true, false)
            } else {
                (false, true)
            };
            let l = l && in_left.len() < per_side;
            let r = r && in_right.len() < per_side;
            if l {
                in_left.push(person);
            }
            if r {
                in_right.push(later);
            }
            if l && r {
                truth.push((in_left.len() - 1, in_right.len() - 1));
            }
        }
    }
    let mut left_ids: Vec<usize> = (0..in_left.len()).collect();
    let mut right_ids: Vec<usize> = (0..in_right.len()).collect();
    left_ids.shuffle(&mut town.rng);
    right_ids.shuffle(&mut town.rng);
    for (k, p) in in_left.iter().enumerate() {
        left.push(town.record(p, format!("a{}", left_ids[k]), false));
    }
    for (k, p) in in_right.iter().enumerate() {
        right.push(town.record(p, format!("b{}", right_ids[k]), true));
    }
    left.sort_by(|x, y| x[0].cmp(&y[0]));
    right.sort_by(|x, y| x[0].cmp(&y[0]));
    let truth = truth
        .into_iter()
        .map(|(l, r)| (format!("a{}", left_ids[l]), format!("b{}", right_ids[r])))
        .collect();
    Households { left, right, truth }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_and_overlaps_in_part() {
        let one = households(3000, 7, Profile::a());
        let again = households(3000, 7, Profile::a());
        assert_eq!(one.left, again.left);
        assert_eq!(one.truth, again.truth);
        assert_eq!((one.left.len(), one.right.len()), (3000, 3000));
        let share = one.truth.len() as f64 / 3000.0;
        assert!((0.4..0.8).contains(&share), "{share}");
        let b = households(3000, 7, Profile::b());
        assert!(b.truth.len() > one.truth.len());
    }
}
