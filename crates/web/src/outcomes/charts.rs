//! Hand-written SVG: the full SPC chart (every point a link to its row in the table beside
//! it, so keyboard users reach each one), sparklines, and line charts of several series.
//!
//! Every chart is drawn with presentation attributes only (the site's Content Security Policy
//! refuses inline styles), so a downloaded SVG looks the same as the one on the page, and
//! [`png`] draws the same SVG as a picture.

use resvg::{tiny_skia, usvg};
use std::fmt::Write;
use std::sync::{Arc, OnceLock};

/// The Making Data Count colours of points.
pub fn colour_hex(colour: spc::Colour) -> &'static str {
    match colour {
        spc::Colour::Grey => "#7b7d7d",
        spc::Colour::Blue => "#289de0",
        spc::Colour::Orange => "#fab428",
        spc::Colour::Purple => "#361475",
    }
}

/// Colours for several series, from GOV.UK's palette, each with a dash pattern so lines are
/// told apart without colour too.
const SERIES: &[(&str, &str)] = &[
    ("#1d70b8", ""),
    ("#d4351c", "8 4"),
    ("#00703c", "2 3"),
    ("#4c2c92", "10 3 2 3"),
    ("#f47738", "4 4"),
    ("#28a197", ""),
    ("#912b88", "8 4"),
    ("#505a5f", "2 3"),
    ("#b58840", "10 3 2 3"),
    ("#0b0c0c", "4 4"),
    ("#5694ca", ""),
];

pub fn series_style(index: usize) -> (&'static str, &'static str) {
    SERIES[index % SERIES.len()]
}

/// Escapes text for XML (and HTML).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Up to about `count` round tick values covering `lo..=hi`.
pub fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let mut tick = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while tick <= hi + step * 1e-9 {
        out.push(if tick.abs() < step * 1e-9 { 0.0 } else { tick });
        tick += step;
    }
    out
}

/// Formats a tick or value: thousands separators, at most `decimals` places, no trailing zeros.
pub fn number(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value);
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if grouped.chars().all(|c| c == '0' || c == ',') && fraction.is_none() {
        ""
    } else {
        sign
    };
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Maps data to the plotting area.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    lo: f64,
    hi: f64,
    n: usize,
}

impl Frame {
    fn new(width: f64, height: f64, values: impl Iterator<Item = f64>, n: usize) -> Frame {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-9 {
            let pad = if hi.abs() > 0.0 { hi.abs() * 0.1 } else { 1.0 };
            lo -= pad;
            hi += pad;
        }
        let pad = (hi - lo) * 0.06;
        // Counts and rates never go below zero: keep the axis there when the data are near it.
        let lo = if lo >= 0.0 && lo - pad < 0.0 {
            0.0
        } else {
            lo - pad
        };
        Frame {
            width,
            height,
            left: 64.0,
            right: 16.0,
            top: 16.0,
            bottom: 56.0,
            lo,
            hi: hi + pad,
            n,
        }
    }

    fn x(&self, i: usize) -> f64 {
        let span = self.width - self.left - self.right;
        if self.n <= 1 {
            self.left + span / 2.0
        } else {
            self.left + span * i as f64 / (self.n - 1) as f64
        }
    }

    fn y(&self, v: f64) -> f64 {
        let span = self.height - self.top - self.bottom;
        self.top + span * (1.0 - (v - self.lo) / (self.hi - self.lo))
    }

    /// Axes, gridlines, y ticks and x labels, hidden from assistive technology (the table
    /// beside the chart says the same).
    fn axes(&self, out: &mut String, labels: &[String]) {
        let _ = write!(
            out,
            r##"<g aria-hidden="true" font-family="Arial, sans-serif" font-size="13" fill="#0b0c0c">"##
        );
        for t in ticks(self.lo, self.hi, 5) {
            let y = self.y(t);
            let _ = write!(
                out,
                r##"<line x1="{l:.1}" x2="{r:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e6e7"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="end">{label}</text>"##,
                l = self.left,
                r = self.width - self.right,
                tx = self.left - 6.0,
                ty = y + 4.0,
                label = esc(&number(t, 2)),
            );
        }
        let every = labels.len().div_ceil(12).max(1);
        let last = labels.len().saturating_sub(1);
        for (i, label) in labels.iter().enumerate() {
            // Every `every`th month and the last, but not one so close to the last they overlap.
            let shown = i == last || (i % every == 0 && last - i >= every);
            if !shown {
                continue;
            }
            let x = self.x(i);
            let base = self.height - self.bottom;
            let _ = write!(
                out,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{base:.1}" y2="{tick:.1}" stroke="#0b0c0c"/><text x="{x:.1}" y="{ty:.1}" text-anchor="end" transform="rotate(-40 {x:.1} {ty:.1})">{label}</text>"##,
                tick = base + 5.0,
                ty = base + 18.0,
                label = esc(label),
            );
        }
        let _ = write!(
            out,
            r##"<line x1="{l:.1}" x2="{r:.1}" y1="{b:.1}" y2="{b:.1}" stroke="#0b0c0c"/><line x1="{l:.1}" x2="{l:.1}" y1="{t:.1}" y2="{b:.1}" stroke="#0b0c0c"/></g>"##,
            l = self.left,
            r = self.width - self.right,
            t = self.top,
            b = self.height - self.bottom,
        );
    }
}

/// One point of an SPC chart as the page describes it.
pub struct SpcPoint {
    pub label: String,
    /// What a screen reader says for the point.
    pub description: String,
    /// The id of the table row the point links to.
    pub row_id: String,
    pub annotated: bool,
}

/// Room above a downloaded chart for its title, which the page gives as its heading.
const HEADING: f64 = 36.0;

/// The full SPC chart. `id` prefixes the ids of its title and description; `headed` writes the
/// title above the chart too, for a file that leaves the page (a board paper, a slide).
pub fn spc_chart(
    id: &str,
    title: &str,
    description: &str,
    chart: &spc::Chart,
    points: &[SpcPoint],
    headed: bool,
) -> String {
    let heading = if headed { HEADING } else { 0.0 };
    let (width, height) = (760.0, 380.0 + heading);
    let mut extent: Vec<f64> = chart.points.iter().map(|p| p.value).collect();
    for p in &chart.points {
        if let Some(l) = p.limits {
            extent.extend([l.lower, l.upper]);
        }
    }
    extent.extend(chart.target);
    let mut frame = Frame::new(width, height, extent.into_iter(), chart.points.len());
    frame.top += heading;
    let mut out = String::with_capacity(8192);
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="eh-chart" viewBox="0 0 {width} {height}" width="100%" role="group" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{title}</title><desc id="{id}-desc">{description}</desc>"##,
        title = esc(title),
        description = esc(description),
    );
    if headed {
        let _ = write!(
            out,
            r##"<text aria-hidden="true" x="8" y="24" font-family="Arial, sans-serif" font-size="18" fill="#0b0c0c">{}</text>"##,
            esc(title)
        );
    }
    let labels: Vec<String> = points.iter().map(|p| p.label.clone()).collect();
    frame.axes(&mut out, &labels);

    // Mean, limits and target, phase by phase.
    out.push_str(r#"<g aria-hidden="true" fill="none">"#);
    for phase in &chart.phases {
        if phase.end <= phase.start {
            continue;
        }
        let (x1, x2) = (frame.x(phase.start), frame.x(phase.end - 1));
        if phase.start > 0 {
            // Where the limits were recalculated: between the two months.
            let x = (frame.x(phase.start - 1) + x1) / 2.0;
            let _ = write!(
                out,
                r##"<line class="eh-chart__recalculation" x1="{x:.1}" x2="{x:.1}" y1="{t:.1}" y2="{b:.1}" stroke="#0b0c0c" stroke-width="1.5" stroke-dasharray="3 2"/>"##,
                t = frame.top,
                b = height - frame.bottom,
            );
        }
        let mut line = |v: f64, colour: &str, dash: &str, w: f64| {
            let y = frame.y(v);
            let _ = write!(
                out,
                r#"<line x1="{x1:.1}" x2="{x2:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="{w}" stroke-dasharray="{dash}"/>"#
            );
        };
        line(phase.mean, "#0b0c0c", "", 1.5);
        if let Some(l) = phase.limits {
            line(l.upper, "#505a5f", "6 4", 1.5);
            line(l.lower, "#505a5f", "6 4", 1.5);
        }
    }
    if let Some(target) = chart.target {
        let y = frame.y(target);
        let _ = write!(
            out,
            r##"<line x1="{l:.1}" x2="{r:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#d4351c" stroke-width="2" stroke-dasharray="2 3"/>"##,
            l = frame.left,
            r = width - frame.right,
        );
    }
    // The data line.
    let path: Vec<String> = chart
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", frame.x(i), frame.y(p.value)))
        .collect();
    let _ = write!(
        out,
        r##"<polyline points="{}" stroke="#505a5f" stroke-width="2"/>"##,
        path.join(" ")
    );
    out.push_str("</g>");

    // The points: links to their rows, so each is reachable by keyboard and named.
    out.push_str(r#"<g class="eh-chart__points">"#);
    for (i, (p, view)) in chart.points.iter().zip(points).enumerate() {
        let (x, y) = (frame.x(i), frame.y(p.value));
        let special = p.colour != spc::Colour::Grey;
        let _ = write!(
            out,
            r##"<a href="#{row}" aria-label="{label}"><circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{fill}" stroke="#0b0c0c" stroke-width="{sw}"/>"##,
            row = esc(&view.row_id),
            label = esc(&view.description),
            r = if special { 6.5 } else { 4.5 },
            fill = colour_hex(p.colour),
            sw = if special { 1.5 } else { 0.75 },
        );
        if view.annotated {
            let base = height - frame.bottom;
            let _ = write!(
                out,
                r##"<path d="M{x:.1},{t:.1} l-5,8 h10 z" fill="#0b0c0c"/>"##,
                t = base - 10.0,
            );
        }
        out.push_str("</a>");
    }
    out.push_str("</g></svg>");
    out
}

/// A small line of the last values, its final point coloured by SPC.
pub fn sparkline(values: &[f64], last_colour: spc::Colour, label: &str) -> String {
    let (width, height) = (120.0, 32.0);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="eh-sparkline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}">"#,
        esc(label)
    );
    if values.is_empty() {
        out.push_str("</svg>");
        return out;
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi - lo < 1e-9 { 1.0 } else { hi - lo };
    let x = |i: usize| {
        if values.len() == 1 {
            width / 2.0
        } else {
            4.0 + (width - 8.0) * i as f64 / (values.len() - 1) as f64
        }
    };
    let y = |v: f64| 4.0 + (height - 8.0) * (1.0 - (v - lo) / span);
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    let last = values.len() - 1;
    let _ = write!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#505a5f" stroke-width="1.5"/><circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}" stroke="#0b0c0c" stroke-width="0.75"/></svg>"##,
        points.join(" "),
        x(last),
        y(values[last]),
        colour_hex(last_colour),
    );
    out
}

/// One line of a multi-series chart; `None` values (suppressed or missing) break the line.
pub struct Line {
    pub values: Vec<Option<f64>>,
}

/// Several series over the same periods, with the table beside it saying the same.
pub fn line_chart(
    id: &str,
    title: &str,
    description: &str,
    labels: &[String],
    lines: &[Line],
) -> String {
    let (width, height) = (760.0, 360.0);
    let frame = Frame::new(
        width,
        height,
        lines
            .iter()
            .flat_map(|l| l.values.iter().flatten().copied()),
        labels.len(),
    );
    let mut out = String::with_capacity(8192);
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="eh-chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{title}</title><desc id="{id}-desc">{description}</desc>"##,
        title = esc(title),
        description = esc(description),
    );
    frame.axes(&mut out, labels);
    out.push_str(r#"<g aria-hidden="true" fill="none">"#);
    for (k, line) in lines.iter().enumerate() {
        let (colour, dash) = series_style(k);
        let mut run: Vec<String> = Vec::new();
        let flush = |run: &mut Vec<String>, out: &mut String| {
            if run.len() > 1 {
                let _ = write!(
                    out,
                    r#"<polyline points="{}" stroke="{colour}" stroke-width="2.5" stroke-dasharray="{dash}"/>"#,
                    run.join(" ")
                );
            }
            run.clear();
        };
        for (i, v) in line.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let (x, y) = (frame.x(i), frame.y(*v));
                    run.push(format!("{x:.1},{y:.1}"));
                    let _ = write!(
                        out,
                        r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"/>"#
                    );
                }
                None => flush(&mut run, &mut out),
            }
        }
        flush(&mut run, &mut out);
    }
    out.push_str("</g></svg>");
    out
}

/// The typeface of PNG charts' text: Liberation Sans, the same widths as the Arial the SVG
/// asks for, under the SIL Open Font Licence 1.1 (see `crates/web/fonts/LICENSE`). Embedded,
/// so a PNG looks the same on every server and nothing is read from the system.
const FONT: &[u8] = include_bytes!("../../fonts/LiberationSans-Regular.ttf");
const FONT_FAMILY: &str = "Liberation Sans";
/// Pixels per unit of the SVG: twice the size on screen, sharp when printed in a board paper.
const PNG_SCALE: f32 = 2.0;

fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut fonts = usvg::fontdb::Database::new();
            fonts.load_font_data(FONT.to_vec());
            fonts.set_sans_serif_family(FONT_FAMILY);
            Arc::new(fonts)
        })
        .clone()
}

/// Draws one of our SVG charts on white, at [`PNG_SCALE`].
fn rasterise(svg: &str) -> Result<tiny_skia::Pixmap, String> {
    let options = usvg::Options {
        font_family: FONT_FAMILY.into(),
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| e.to_string())?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(PNG_SCALE)
        .ok_or("the chart has no size")?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("the chart has no size")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap)
}

/// The chart as a PNG file.
pub fn png(svg: &str) -> Result<Vec<u8>, String> {
    rasterise(svg)?.encode_png().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_trimmed() {
        assert_eq!(number(2898.0, 1), "2,898");
        assert_eq!(number(1234567.25, 2), "1,234,567.25");
        assert_eq!(number(-1500.5, 1), "-1,500.5");
        assert_eq!(number(12.0, 1), "12");
        assert_eq!(number(-0.0001, 1), "0");
        assert_eq!(number(0.35, 2), "0.35");
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        let t = ticks(2512.0, 4231.0, 5);
        assert!(
            t.windows(2).all(|w| (w[1] - w[0] - 500.0).abs() < 1e-6),
            "{t:?}"
        );
        assert_eq!(ticks(5.0, 5.0, 5), vec![5.0]);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    #[test]
    fn every_point_of_an_spc_chart_is_a_named_link() {
        let values: Vec<f64> = (0..15)
            .map(|i| if i == 14 { 40.0 } else { 20.0 + (i % 2) as f64 })
            .collect();
        let chart = spc::xmr(&values, &spc::Options::default());
        let points: Vec<SpcPoint> = (0..15)
            .map(|i| SpcPoint {
                label: format!("P{i}"),
                description: format!("point {i} <x>"),
                row_id: format!("row-{i}"),
                annotated: i == 3,
            })
            .collect();
        let svg = spc_chart("c", "Title & more", "Desc", &chart, &points, false);
        assert_eq!(svg.matches("<a href=\"#row-").count(), 15);
        assert!(svg.contains("aria-label=\"point 0 &lt;x&gt;\""));
        assert!(svg.contains("<title id=\"c-title\">Title &amp; more</title>"));
        // The last point is a special cause (above the limit): blue for higher-is-better.
        assert!(svg.contains("fill=\"#289de0\""));
        assert!(!svg.contains("style="), "the CSP refuses inline styles");
    }

    #[test]
    fn sparklines_and_line_charts_survive_edge_cases() {
        assert!(sparkline(&[], spc::Colour::Grey, "none").ends_with("</svg>"));
        assert!(sparkline(&[3.0], spc::Colour::Grey, "one").contains("<circle"));
        let svg = line_chart(
            "x",
            "t",
            "d",
            &["a".into(), "b".into(), "c".into()],
            &[Line {
                values: vec![Some(1.0), None, Some(3.0)],
            }],
        );
        // A gap breaks the line: two lone points, no polyline.
        assert!(!svg.contains("<polyline points="));
        assert_eq!(svg.matches("<circle").count(), 2);
    }

    #[test]
    fn a_png_is_the_chart_at_twice_the_size_with_its_text_drawn() {
        let text = |words: &str| {
            format!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 40" width="100%"><text x="4" y="28" font-family="Arial, sans-serif" font-size="24" fill="#0b0c0c">{words}</text></svg>"##
            )
        };
        let dark = |pixmap: &tiny_skia::Pixmap| {
            pixmap
                .pixels()
                .iter()
                .filter(|p| p.red() < 100 && p.alpha() == 255)
                .count()
        };
        let blank = rasterise(&text("")).unwrap();
        assert_eq!((blank.width(), blank.height()), (400, 80));
        assert_eq!(dark(&blank), 0, "a white background");
        // The embedded font draws the words: without a font, text draws nothing at all.
        let words = rasterise(&text("Mean 2,898")).unwrap();
        assert!(dark(&words) > 500, "{} dark pixels", dark(&words));
        let file = png(&text("x")).unwrap();
        assert!(file.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}
