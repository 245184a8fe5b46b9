//! A small table of English given names and their usual short forms.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Each line is one family of names a person may be recorded under.
const GROUPS: &[&str] = &[
    "alexander alex alec sandy xander",
    "alexandra alex alexa sandra sandy lexi",
    "andrew andy drew",
    "anthony tony ant",
    "benjamin ben benny",
    "catherine katherine kathryn cathy kathy kate katie kat",
    "charles charlie chas chuck",
    "charlotte charlie lottie",
    "christopher chris kit",
    "christine christina chris chrissy tina",
    "daniel dan danny",
    "david dave davy",
    "deborah debra debbie deb",
    "edward ed eddie ted ned",
    "elizabeth liz lizzie beth betty eliza libby bess",
    "eleanor ellie nell nora",
    "frederick fred freddie",
    "gregory greg",
    "harry harold hal henry hank",
    "isabella isabel bella izzy",
    "jacob jake",
    "james jim jimmy jamie",
    "jennifer jen jenny",
    "jessica jess jessie",
    "john jack johnny jon",
    "jonathan jon jonny",
    "joseph joe joey",
    "joshua josh",
    "kenneth ken kenny",
    "lawrence laurence larry laurie",
    "margaret maggie meg peggy marge",
    "matthew matt matty",
    "michael mike mikey mick",
    "nicholas nick nicky",
    "oliver ollie",
    "patricia pat patty trish",
    "patrick pat paddy",
    "peter pete",
    "rebecca becky becca",
    "richard rich rick ricky dick",
    "robert rob bob bobby robbie bert",
    "samantha sam sammy",
    "samuel sam sammy",
    "sarah sara sally",
    "stephen steven steve stevie",
    "susan sue susie suzanne",
    "thomas tom tommy",
    "timothy tim timmy",
    "victoria vicky tori",
    "william will bill billy liam willy",
    "zachary zach zack",
];

fn table() -> &'static HashMap<&'static str, Vec<u16>> {
    static TABLE: OnceLock<HashMap<&'static str, Vec<u16>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: HashMap<&str, Vec<u16>> = HashMap::new();
        for (group, names) in GROUPS.iter().enumerate() {
            for name in names.split_whitespace() {
                table.entry(name).or_default().push(group as u16);
            }
        }
        table
    })
}

/// The groups a cleaned given name belongs to, one bit per group: two names are forms of the
/// same name ("bill" and "william") when their groups intersect. Bits, so that comparing two
/// names is an `and` of two numbers looked up once per distinct name.
pub fn groups(name: &str) -> u64 {
    const _: () = assert!(GROUPS.len() <= 64, "one bit per group");
    table()
        .get(name)
        .map_or(0, |groups| groups.iter().fold(0, |bits, g| bits | 1 << g))
}

/// The names that may stand for `name`, itself excluded; used by the generator.
pub fn alternatives(name: &str) -> Vec<&'static str> {
    let Some(groups) = table().get(name) else {
        return Vec::new();
    };
    groups
        .iter()
        .flat_map(|&g| GROUPS[g as usize].split_whitespace())
        .filter(|n| *n != name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_match_their_full_names_only() {
        let same_name = |a, b| groups(a) & groups(b) != 0;
        assert!(same_name("bill", "william"));
        assert!(same_name("chris", "christine"));
        assert!(same_name("chris", "christopher"));
        assert!(!same_name("bill", "robert"));
        assert!(!same_name("christine", "christopher"));
        assert!(
            !same_name("zelda", "zelda"),
            "names outside the table are left to exact match"
        );
        assert!(alternatives("liz").contains(&"elizabeth"));
    }
}
