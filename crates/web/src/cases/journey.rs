//! The family's journey on one measure: readings drawn as an SVG line per area, with the same
//! numbers in a table beside it.

use earlyhelp_storage::cases::Reading;

/// One row of the journey table: a reading date and a score per area (in `areas` order).
pub struct JourneyRow {
    pub taken_on: String,
    pub scores: Vec<String>,
}

pub struct Journey {
    pub areas: Vec<String>,
    pub rows: Vec<JourneyRow>,
    pub svg: String,
}

const COLOURS: &[&str] = &[
    "#1d70b8", "#d4351c", "#00703c", "#4c2c92", "#b58840", "#f499be", "#28a197", "#6f72af",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The journey drawn from `readings` (all on one measure); `id` makes the chart's title unique
/// on a page with several.
pub fn journey(readings: &[Reading], id: &str) -> Journey {
    let mut areas: Vec<String> = Vec::new();
    let mut dates: Vec<String> = Vec::new();
    for r in readings {
        if !areas.contains(&r.area) {
            areas.push(r.area.clone());
        }
        if !dates.contains(&r.taken_on) {
            dates.push(r.taken_on.clone());
        }
    }
    dates.sort();
    let score = |date: &str, area: &str| {
        readings
            .iter()
            .find(|r| r.taken_on == date && r.area == area)
            .map(|r| r.score)
    };
    let rows = dates
        .iter()
        .map(|d| JourneyRow {
            taken_on: d.clone(),
            scores: areas
                .iter()
                .map(|a| score(d, a).map(|s| s.to_string()).unwrap_or_default())
                .collect(),
        })
        .collect();
    let (width, height, left, right, top, bottom) = (640.0, 300.0, 40.0, 200.0, 15.0, 40.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let x = |i: usize| {
        if dates.len() <= 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (dates.len() - 1) as f64
        }
    };
    let y = |s: i64| top + plot_h * (10 - s) as f64 / 9.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" \
         role=\"img\" aria-labelledby=\"{id}-title\"><title id=\"{id}-title\">The family's \
         journey: scores from 1 to 10 in each area at each reading; the table below has the same numbers</title>"
    );
    for s in [1, 4, 7, 10] {
        svg.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#b1b4b6\" stroke-width=\"1\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\" fill=\"#0b0c0c\">{s}</text>",
            left + plot_w,
            left - 6.0,
            y(s) + 4.0,
            y = y(s)
        ));
    }
    for (i, d) in dates.iter().enumerate() {
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#0b0c0c\">{}</text>",
            x(i),
            height - bottom + 18.0,
            escape(&crate::dates::display(d))
        ));
    }
    for (a, area) in areas.iter().enumerate() {
        let colour = COLOURS[a % COLOURS.len()];
        let points: Vec<String> = dates
            .iter()
            .enumerate()
            .filter_map(|(i, d)| score(d, area).map(|s| format!("{:.1},{:.1}", x(i), y(s))))
            .collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"3\" points=\"{}\"/>",
            points.join(" ")
        ));
        for p in &points {
            let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
            svg.push_str(&format!(
                "<circle cx=\"{px}\" cy=\"{py}\" r=\"4\" fill=\"{colour}\"/>"
            ));
        }
        let ly = top + 18.0 * a as f64 + 6.0;
        svg.push_str(&format!(
            "<line x1=\"{}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"3\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#0b0c0c\">{}</text>",
            width - right + 15.0,
            width - right + 35.0,
            width - right + 40.0,
            ly + 4.0,
            escape(area)
        ));
    }
    svg.push_str("</svg>");
    Journey { areas, rows, svg }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(taken_on: &str, area: &str, score: i64) -> Reading {
        Reading {
            measure_id: uuid::Uuid::nil(),
            measure: "Family wellbeing".into(),
            taken_on: taken_on.into(),
            area: area.into(),
            score,
        }
    }

    #[test]
    fn the_table_and_the_lines_hold_the_same_readings() {
        let j = journey(
            &[
                reading("2026-09-01", "Home <and> money", 3),
                reading("2026-10-01", "Home <and> money", 6),
                reading("2026-09-01", "Feeling safe", 5),
            ],
            "journey-1",
        );
        assert_eq!(j.areas, vec!["Home <and> money", "Feeling safe"]);
        assert_eq!(j.rows.len(), 2);
        assert_eq!(j.rows[1].scores, vec!["6".to_string(), String::new()]);
        assert_eq!(j.svg.matches("<polyline").count(), 2);
        assert!(
            j.svg.contains("Home &lt;and&gt; money"),
            "area names are escaped"
        );
        assert!(!j.svg.contains("<and>"));
        assert!(j.svg.contains("aria-labelledby=\"journey-1-title\""));
    }
}
