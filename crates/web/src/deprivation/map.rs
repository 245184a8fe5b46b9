//! The map of spend over deprivation, drawn as SVG in Rust: each of the city's LSOAs a dot at
//! the middle of its postcodes, coloured by its decile; payments to families a circle and
//! community grant awards a square at the LSOA, their area in proportion to the money. No
//! tiles, no script: it reads the same in a downloaded page. Presentation attributes only (the
//! Content Security Policy refuses inline styles). The tables beside it say the same in words.

use crate::outcomes::esc;
use earlyhelp_domain::deprivation::AreaSpend;
use earlyhelp_domain::money::pounds;
use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 560.0;
const MARGIN: f64 = 28.0;
/// The radius of the largest sum of money drawn.
const LARGEST: f64 = 20.0;
const DOT: f64 = 4.5;

/// Deciles 1 (most deprived) to 10: a sequential scale dark to light (viridis), told apart by
/// people who see colour differently, and by lightness alone in grey.
pub const DECILE_COLOURS: [&str; 10] = [
    "#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
    "#b5de2b", "#fde725",
];
pub const NO_DECILE: &str = "#ffffff";
pub const PAYMENTS: &str = "#d4351c";
pub const AWARDS: &str = "#0b0c0c";

pub fn decile_colour(decile: Option<u8>) -> &'static str {
    decile
        .and_then(|d| DECILE_COLOURS.get(usize::from(d).wrapping_sub(1)))
        .copied()
        .unwrap_or(NO_DECILE)
}

/// The map, and the largest sum drawn (for the key). Empty when no LSOA is placed.
pub struct Map {
    pub svg: String,
    pub largest_pence: i64,
}

/// Draws `areas`; `locality_name` names a locality's slug for the labels.
pub fn draw(areas: &[AreaSpend], locality_name: impl Fn(&str) -> String, summary: &str) -> Map {
    if areas.is_empty() {
        return Map {
            svg: String::new(),
            largest_pence: 0,
        };
    }
    let (mut south, mut north, mut west, mut east) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for a in areas {
        south = south.min(a.area.latitude);
        north = north.max(a.area.latitude);
        west = west.min(a.area.longitude);
        east = east.max(a.area.longitude);
    }
    // A degree of longitude is shorter than one of latitude by the cosine of the latitude.
    let squeeze = ((south + north) / 2.0).to_radians().cos();
    let wide = ((east - west) * squeeze).max(1e-3);
    let tall = (north - south).max(1e-3);
    let scale = ((WIDTH - 2.0 * MARGIN) / wide).min((HEIGHT - 2.0 * MARGIN) / tall);
    let (left, top) = ((WIDTH - wide * scale) / 2.0, (HEIGHT - tall * scale) / 2.0);
    let at = |latitude: f64, longitude: f64| {
        (
            left + (longitude - west) * squeeze * scale,
            top + (north - latitude) * scale,
        )
    };
    let largest_pence = areas
        .iter()
        .map(|a| a.payments_pence.unwrap_or(0).max(a.awards_pence))
        .max()
        .unwrap_or(0);
    let radius = |pence: i64| LARGEST * (pence as f64 / largest_pence.max(1) as f64).sqrt();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="eh-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="need-map-title need-map-desc" focusable="false"><title id="need-map-title">Map of spend over deprivation deciles</title><desc id="need-map-desc">{}</desc><rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#f3f2f1" stroke="#b1b4b6"></rect>"##,
        esc(summary)
    );
    for a in areas.iter().filter(|a| a.awards_pence > 0) {
        let (x, y) = at(a.area.latitude, a.area.longitude);
        // A square of the same area as a circle of this radius.
        let side = radius(a.awards_pence) * std::f64::consts::PI.sqrt();
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="{:.1}" width="{side:.1}" height="{side:.1}" fill="{AWARDS}" fill-opacity="0.12" stroke="{AWARDS}" stroke-width="1.5"></rect>"##,
            x - side / 2.0,
            y - side / 2.0,
        );
    }
    for a in areas {
        if let Some(pence) = a.payments_pence.filter(|p| *p > 0) {
            let (x, y) = at(a.area.latitude, a.area.longitude);
            let _ = write!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="{:.1}" fill="{PAYMENTS}" fill-opacity="0.15" stroke="{PAYMENTS}" stroke-width="1.5"></circle>"##,
                radius(pence).max(1.5)
            );
        }
    }
    // The LSOAs over the money, so every dot shows.
    for a in areas {
        let (x, y) = at(a.area.latitude, a.area.longitude);
        let decile = a
            .area
            .decile
            .map_or("no decile".to_string(), |d| format!("decile {d}"));
        let payments = a.payments_pence.map_or(
            "payments not shown (fewer than 5 families)".to_string(),
            |p| format!("payments {}", pounds(p)),
        );
        let _ = write!(
            svg,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{DOT}" fill="{}" stroke="#505a5f" stroke-width="0.75"><title>{}, {}: {decile}; {payments}; awards {}</title></circle>"##,
            decile_colour(a.area.decile),
            esc(&a.area.lsoa),
            esc(&locality_name(&a.area.locality)),
            pounds(a.awards_pence),
        );
    }
    // Each locality's name at the middle of its LSOAs, on a white halo.
    let mut middles: Vec<(&str, f64, f64, f64)> = Vec::new();
    for a in areas {
        let (x, y) = at(a.area.latitude, a.area.longitude);
        match middles.iter_mut().find(|m| m.0 == a.area.locality) {
            Some(m) => (m.1, m.2, m.3) = (m.1 + x, m.2 + y, m.3 + 1.0),
            None => middles.push((&a.area.locality, x, y, 1.0)),
        }
    }
    for (slug, x, y, n) in middles {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-family="Arial, sans-serif" font-size="14" font-weight="bold" fill="#0b0c0c" stroke="#ffffff" stroke-width="3" paint-order="stroke">{}</text>"##,
            x / n,
            y / n,
            esc(&locality_name(slug))
        );
    }
    svg.push_str("</svg>");
    Map { svg, largest_pence }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earlyhelp_domain::deprivation::Area;

    fn spend(lsoa: &str, latitude: f64, payments: Option<i64>, awards: i64) -> AreaSpend {
        AreaSpend {
            area: Area {
                lsoa: lsoa.into(),
                locality: "ladywood".into(),
                latitude,
                longitude: -1.9,
                decile: Some(1),
            },
            payments_pence: payments,
            awards_pence: awards,
        }
    }

    #[test]
    fn the_map_is_labelled_and_draws_money_by_area() {
        let areas = [
            spend("E01000001", 52.48, Some(40_000), 0),
            spend("E01000002", 52.50, None, 10_000),
            spend("E01000003", 52.52, Some(10_000), 0),
        ];
        let map = draw(&areas, |_| "Ladywood & Co".into(), "Three LSOAs <here>");
        assert_eq!(map.largest_pence, 40_000);
        assert!(map.svg.starts_with("<svg"));
        assert!(
            map.svg
                .contains(r#"role="img" aria-labelledby="need-map-title need-map-desc""#)
        );
        assert!(
            map.svg
                .contains("<desc id=\"need-map-desc\">Three LSOAs &lt;here&gt;</desc>")
        );
        assert!(map.svg.contains("Ladywood &amp; Co"));
        assert_eq!(
            map.svg.matches("<circle").count(),
            3 + 2,
            "three dots, two payments"
        );
        // The largest is drawn at the full radius; a quarter of it at half.
        assert!(
            map.svg.contains(r##"r="20.0" fill="#d4351c""##),
            "{}",
            map.svg
        );
        assert!(map.svg.contains(r##"r="10.0" fill="#d4351c""##));
        assert!(
            map.svg
                .contains("payments not shown (fewer than 5 families)")
        );
        // North is up: the northern LSOA is nearer the top.
        let y = |lsoa: &str| {
            let at = map.svg.find(&format!("<title>{lsoa}")).unwrap();
            let circle = map.svg[..at].rfind("cy=\"").unwrap() + 4;
            map.svg[circle..]
                .split('"')
                .next()
                .unwrap()
                .parse::<f64>()
                .unwrap()
        };
        assert!(y("E01000003") < y("E01000001"));
        assert!(draw(&[], |s| s.to_string(), "").svg.is_empty());
    }

    #[test]
    fn deciles_have_their_own_colours() {
        assert_eq!(decile_colour(Some(1)), "#440154");
        assert_eq!(decile_colour(Some(10)), "#fde725");
        assert_eq!(decile_colour(None), NO_DECILE);
        assert_eq!(decile_colour(Some(0)), NO_DECILE);
        assert_eq!(decile_colour(Some(11)), NO_DECILE);
    }
}
