//! Statistical process control: XmR charts to NHS England's "Making Data Count" (MDC) rules.
//!
//! The engine is pure: it takes values in time order and returns a [`Chart`] with the mean,
//! process limits, sigma lines, special cause flags and colour of every point, and the
//! variation and assurance icons. Reading and writing CSV lives in [`table`], which works on
//! any `std::io::Read`/`Write` and never opens a file.
//!
//! ```
//! use spc::{xmr, Colour, Options};
//!
//! let mut values = vec![20.0, 24.0, 20.0, 26.0, 22.0, 16.0, 18.0, 16.0, 31.0, 28.0, 34.0, 26.0, 30.0, 19.0];
//! values.push(18.0);
//! let chart = xmr(&values, &Options::default());
//! let limits = chart.points[0].limits.unwrap();
//! assert!((limits.upper - 37.64).abs() < 0.005);
//! assert!(chart.points.iter().all(|p| p.colour == Colour::Grey));
//! ```
//!
//! Rules, as in the MDC Excel single chart tool v5 (and its published test cases):
//! - limits are the mean ± 2.66 × the average moving range (AMR); a phase (or baseline) of
//!   fewer than [`MIN_POINTS`] points gets no limits, no special causes and no icons;
//! - special cause: a point beyond a process limit; a shift of 6 points on one side of the mean;
//!   a trend of 6 points each rising (or each falling) with no pauses; two of three consecutive
//!   points beyond the same two-sigma line with all three on that side of the mean (a point
//!   beyond a process limit does not count towards two of three);
//! - the multi-point rules run across recalculations, each point judged against its own phase;
//! - a point flagged both improvement and concern shows blue (improvement), as the Excel tool.

use serde::Serialize;

pub mod table;

/// Fewest points from which limits are calculated: the MDC tool shows limits from 13 points.
pub const MIN_POINTS: usize = 13;
/// Wheeler's scaling of the average moving range to three sigma, used for process limits.
pub const LIMIT_FACTOR: f64 = 2.66;
/// The bias correction d2 for moving ranges of two points: sigma = AMR / 1.128.
pub const D2: f64 = 1.128;
/// NHSRplotthedots drops moving ranges at or above 3.267 × AMR when screening outliers.
pub const MR_OUTLIER_FACTOR: f64 = 3.267;

/// Which way is improvement for the indicator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Higher,
    Lower,
    Neither,
}

/// Which rule set to apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rules {
    /// NHS England's Making Data Count Excel tool: runs of 6, rules cross recalculations.
    #[default]
    Mdc,
    /// The NHS-R NHSRplotthedots package: runs of 7, moving-range outliers screened out of
    /// the AMR, and the multi-point rules stay inside each recalculation phase. Colours and
    /// conflicts are resolved as for MDC.
    Nhsr,
}

impl Rules {
    /// Points needed for a shift or a trend.
    pub fn run_length(self) -> usize {
        match self {
            Rules::Mdc => 6,
            Rules::Nhsr => 7,
        }
    }
}

/// How to build a chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    pub rules: Rules,
    pub direction: Direction,
    /// A target for the assurance icon.
    pub target: Option<f64>,
    /// Compute the mean and limits from the first `baseline` points of each phase and extend
    /// them to the rest. Under [`Rules::Mdc`] a baseline replaces any recalculation, as in
    /// the Excel tool.
    pub baseline: Option<usize>,
    /// Indices of the points that start a new phase with its own mean and limits.
    pub recalculate_at: Vec<usize>,
}

/// The colour of a point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    /// Common cause variation.
    #[default]
    Grey,
    /// Special cause improvement.
    Blue,
    /// Special cause concern.
    Orange,
    /// Special cause where the direction is neither.
    Purple,
}

impl Colour {
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Grey => "grey",
            Colour::Blue => "blue",
            Colour::Orange => "orange",
            Colour::Purple => "purple",
        }
    }
}

/// Which special cause rules flagged a point, and which way they point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Flags {
    pub beyond_limits: bool,
    pub shift: bool,
    pub trend: bool,
    pub two_sigma: bool,
    /// Some rule signals a high value: above the upper limit, a shift or two of three above
    /// the mean, or a rising trend.
    pub high: bool,
    /// Some rule signals a low value.
    pub low: bool,
}

impl Flags {
    pub fn any(&self) -> bool {
        self.high || self.low
    }
}

/// Process limits and sigma lines of a phase. One sigma is 2.66 / 3 × AMR, so the three-sigma
/// line is exactly the process limit and no point can be beyond one but not the other.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Limits {
    pub lower: f64,
    pub upper: f64,
    pub lower_two_sigma: f64,
    pub upper_two_sigma: f64,
    pub lower_one_sigma: f64,
    pub upper_one_sigma: f64,
}

/// A run of points sharing one mean and one set of limits.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Phase {
    /// First point of the phase.
    pub start: usize,
    /// One past the last point.
    pub end: usize,
    pub mean: f64,
    /// Average moving range of the calculation period (after any outlier screening).
    pub average_moving_range: Option<f64>,
    pub limits: Option<Limits>,
}

impl Phase {
    /// Sigma estimated as AMR / d2. The limits use 2.66 × AMR (= 3 × AMR / 1.128 to three
    /// figures) as the MDC tool does; this is the unrounded estimate for reference.
    pub fn sigma(&self) -> Option<f64> {
        self.average_moving_range.map(|amr| amr / D2)
    }
}

/// One point of the chart.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Point {
    pub value: f64,
    /// Index into [`Chart::phases`].
    pub phase: usize,
    pub mean: f64,
    /// Absolute difference from the previous point in the same phase.
    pub moving_range: Option<f64>,
    pub limits: Option<Limits>,
    pub flags: Flags,
    pub colour: Colour,
}

/// Summary of the latest point, as the MDC variation icons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VariationIcon {
    CommonCause,
    ImprovementHigh,
    ImprovementLow,
    ConcernHigh,
    ConcernLow,
    NeitherHigh,
    NeitherLow,
}

impl VariationIcon {
    pub fn as_str(self) -> &'static str {
        match self {
            VariationIcon::CommonCause => "common_cause",
            VariationIcon::ImprovementHigh => "improvement_high",
            VariationIcon::ImprovementLow => "improvement_low",
            VariationIcon::ConcernHigh => "concern_high",
            VariationIcon::ConcernLow => "concern_low",
            VariationIcon::NeitherHigh => "neither_high",
            VariationIcon::NeitherLow => "neither_low",
        }
    }
}

/// Whether the process will meet its target, from where the target sits against the limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssuranceIcon {
    /// The target is beyond the limits on the bad side: the process consistently passes.
    Pass,
    /// The target is beyond the limits on the good side: the process consistently fails.
    Fail,
    /// The target is within the limits.
    HitOrMiss,
}

impl AssuranceIcon {
    pub fn as_str(self) -> &'static str {
        match self {
            AssuranceIcon::Pass => "pass",
            AssuranceIcon::Fail => "fail",
            AssuranceIcon::HitOrMiss => "hit_or_miss",
        }
    }
}

/// An XmR chart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chart {
    pub points: Vec<Point>,
    pub phases: Vec<Phase>,
    pub direction: Direction,
    pub target: Option<f64>,
}

impl Chart {
    /// The variation icon, from the last point; `None` when it has no limits.
    pub fn variation_icon(&self) -> Option<VariationIcon> {
        let last = self.points.last()?;
        last.limits?;
        let f = last.flags;
        Some(match (last.colour, self.direction) {
            (Colour::Grey, _) => VariationIcon::CommonCause,
            (Colour::Blue, Direction::Lower) => VariationIcon::ImprovementLow,
            (Colour::Blue, _) => VariationIcon::ImprovementHigh,
            (Colour::Orange, Direction::Lower) => VariationIcon::ConcernHigh,
            (Colour::Orange, _) => VariationIcon::ConcernLow,
            // High or low by the side of the mean; on the mean only a trend can flag the
            // point, and the last point ends at most one trend.
            (Colour::Purple, _) if side(last) > 0 || (side(last) == 0 && f.high) => {
                VariationIcon::NeitherHigh
            }
            (Colour::Purple, _) => VariationIcon::NeitherLow,
        })
    }

    /// The same values as a run chart: the mean, but no process limits, special causes or
    /// icons. For a series that cannot be in statistical control, such as a running total,
    /// which only ever rises and whose moving ranges are the monthly counts.
    pub fn without_limits(mut self) -> Chart {
        for ph in &mut self.phases {
            ph.limits = None;
        }
        for p in &mut self.points {
            p.limits = None;
            p.flags = Flags::default();
            p.colour = Colour::Grey;
        }
        self
    }

    /// The assurance icon against the target, using the latest limits; `None` without a
    /// target, without limits, or when the direction is neither (a target makes no sense).
    pub fn assurance_icon(&self) -> Option<AssuranceIcon> {
        let target = self.target?;
        let limits = self.points.last()?.limits?;
        let higher = match self.direction {
            Direction::Higher => true,
            Direction::Lower => false,
            Direction::Neither => return None,
        };
        Some(if target > limits.upper {
            if higher {
                AssuranceIcon::Fail
            } else {
                AssuranceIcon::Pass
            }
        } else if target < limits.lower {
            if higher {
                AssuranceIcon::Pass
            } else {
                AssuranceIcon::Fail
            }
        } else {
            AssuranceIcon::HitOrMiss
        })
    }
}

/// Build an XmR chart from values in time order, with no gaps (the MDC guidance: a missing
/// month would shrink the moving ranges and narrow the limits). Values should be finite.
pub fn xmr(values: &[f64], opts: &Options) -> Chart {
    let phases: Vec<Phase> = phase_bounds(values.len(), opts)
        .into_iter()
        .map(|(start, end)| phase(values, start, end, opts))
        .collect();

    let mut points = Vec::with_capacity(values.len());
    for (k, ph) in phases.iter().enumerate() {
        for i in ph.start..ph.end {
            points.push(Point {
                value: values[i],
                phase: k,
                mean: ph.mean,
                moving_range: (i > ph.start).then(|| (values[i] - values[i - 1]).abs()),
                limits: ph.limits,
                flags: Flags::default(),
                colour: Colour::Grey,
            });
        }
    }

    for (start, end) in rule_segments(&phases, opts.rules) {
        flag_segment(&mut points[start..end], opts.rules.run_length());
    }
    for p in &mut points {
        p.colour = colour(p.flags, opts.direction);
    }

    Chart {
        points,
        phases,
        direction: opts.direction,
        target: opts.target,
    }
}

/// Phase boundaries as `(start, end)` pairs covering `0..n`.
fn phase_bounds(n: usize, opts: &Options) -> Vec<(usize, usize)> {
    if n == 0 {
        return Vec::new();
    }
    let mut starts: Vec<usize> = if opts.rules == Rules::Mdc && baseline(opts).is_some() {
        Vec::new()
    } else {
        opts.recalculate_at
            .iter()
            .copied()
            .filter(|&i| i > 0 && i < n)
            .collect()
    };
    starts.sort_unstable();
    starts.dedup();
    starts.insert(0, 0);
    (0..starts.len())
        .map(|k| (starts[k], starts.get(k + 1).copied().unwrap_or(n)))
        .collect()
}

/// The baseline length; a baseline of no points means none.
fn baseline(opts: &Options) -> Option<usize> {
    opts.baseline.filter(|&b| b > 0)
}

fn phase(values: &[f64], start: usize, end: usize, opts: &Options) -> Phase {
    let take = baseline(opts).map_or(end - start, |b| b.min(end - start));
    let calc = &values[start..start + take];
    let mean = calc.iter().sum::<f64>() / calc.len() as f64;
    let amr = average_moving_range(calc, opts.rules == Rules::Nhsr);
    let limits = amr.filter(|_| calc.len() >= MIN_POINTS).map(|amr| {
        let sigma = LIMIT_FACTOR / 3.0 * amr;
        Limits {
            lower: mean - LIMIT_FACTOR * amr,
            upper: mean + LIMIT_FACTOR * amr,
            lower_two_sigma: mean - 2.0 * sigma,
            upper_two_sigma: mean + 2.0 * sigma,
            lower_one_sigma: mean - sigma,
            upper_one_sigma: mean + sigma,
        }
    });
    Phase {
        start,
        end,
        mean,
        average_moving_range: amr,
        limits,
    }
}

fn average_moving_range(values: &[f64], screen_outliers: bool) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let ranges = || values.windows(2).map(|w| (w[1] - w[0]).abs());
    let amr = ranges().sum::<f64>() / (values.len() - 1) as f64;
    // With AMR zero every range is zero: nothing to screen.
    if !screen_outliers || amr == 0.0 {
        return Some(amr);
    }
    let cut = MR_OUTLIER_FACTOR * amr;
    let (sum, count) = ranges()
        .filter(|&r| r < cut)
        .fold((0.0, 0usize), |(s, c), r| (s + r, c + 1));
    Some(sum / count as f64)
}

/// Stretches of points over which the multi-point rules run: consecutive points with limits,
/// across phases for MDC, inside each phase for NHSRplotthedots.
fn rule_segments(phases: &[Phase], rules: Rules) -> Vec<(usize, usize)> {
    let mut segments: Vec<(usize, usize)> = Vec::new();
    for ph in phases.iter().filter(|ph| ph.limits.is_some()) {
        match segments.last_mut() {
            Some(last) if rules == Rules::Mdc && last.1 == ph.start => last.1 = ph.end,
            _ => segments.push((ph.start, ph.end)),
        }
    }
    segments
}

/// Which side of its mean a point lies: 1 above, -1 below, 0 on it.
fn side(p: &Point) -> i8 {
    sign(p.value - p.mean)
}

fn sign(x: f64) -> i8 {
    if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    }
}

/// Set the flags of points that all have limits.
fn flag_segment(points: &mut [Point], run: usize) {
    let n = points.len();
    let limits = |p: &Point| p.limits.expect("segments hold only points with limits");

    // A point beyond a process limit.
    for p in points.iter_mut() {
        let l = limits(p);
        if p.value > l.upper {
            p.flags.beyond_limits = true;
            p.flags.high = true;
        } else if p.value < l.lower {
            p.flags.beyond_limits = true;
            p.flags.low = true;
        }
    }

    // A shift: `run` or more consecutive points on the same side of the mean; a point on
    // the mean breaks the run.
    let mut start = 0;
    while start < n {
        let s = side(&points[start]);
        let mut end = start + 1;
        while end < n && side(&points[end]) == s {
            end += 1;
        }
        if s != 0 && end - start >= run {
            for p in &mut points[start..end] {
                p.flags.shift = true;
                set_sense(&mut p.flags, s);
            }
        }
        start = end;
    }

    // A trend: `run` or more points each higher (or each lower) than the one before; an equal
    // value is a pause and breaks the run, though the second of two equal points may start
    // the next trend. A turning point may belong to two trends.
    let mut start = 0;
    while start + 1 < n {
        let d = sign(points[start + 1].value - points[start].value);
        let mut end = start + 2;
        while end < n && sign(points[end].value - points[end - 1].value) == d {
            end += 1;
        }
        if d != 0 && end - start >= run {
            for p in &mut points[start..end] {
                p.flags.trend = true;
                set_sense(&mut p.flags, d);
            }
        }
        // The last point of this run may start the next one, after a rise, a fall or a pause
        // alike: a trend may begin on a point equal to the one before it.
        start = end - 1;
    }

    // Two of three: in any three consecutive points all on one side of the mean, two or three
    // beyond the two-sigma line (but not beyond the process limit) on that side.
    let near = |p: &Point| {
        let l = limits(p);
        !p.flags.beyond_limits && (p.value > l.upper_two_sigma || p.value < l.lower_two_sigma)
    };
    for w in 0..n.saturating_sub(2) {
        let s = side(&points[w]);
        let window = w..w + 3;
        if s == 0 || window.clone().any(|i| side(&points[i]) != s) {
            continue;
        }
        if window.clone().filter(|&i| near(&points[i])).count() >= 2 {
            for i in window {
                if near(&points[i]) {
                    points[i].flags.two_sigma = true;
                    set_sense(&mut points[i].flags, s);
                }
            }
        }
    }
}

fn set_sense(flags: &mut Flags, s: i8) {
    if s > 0 {
        flags.high = true;
    } else {
        flags.low = true;
    }
}

/// The colour of a point from its flags. Improvement wins over concern, as the MDC tool
/// shows blue where a trend and another rule disagree.
fn colour(flags: Flags, direction: Direction) -> Colour {
    let (improvement, concern) = match direction {
        Direction::Higher => (flags.high, flags.low),
        Direction::Lower => (flags.low, flags.high),
        Direction::Neither => {
            return if flags.any() {
                Colour::Purple
            } else {
                Colour::Grey
            };
        }
    };
    if improvement {
        Colour::Blue
    } else if concern {
        Colour::Orange
    } else {
        Colour::Grey
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(direction: Direction) -> Options {
        Options {
            direction,
            ..Options::default()
        }
    }

    #[test]
    fn empty_and_single_point_do_not_panic() {
        let chart = xmr(&[], &Options::default());
        assert!(chart.points.is_empty() && chart.phases.is_empty());
        assert_eq!(chart.variation_icon(), None);
        let chart = xmr(&[5.0], &Options::default());
        assert_eq!(chart.points[0].mean, 5.0);
        assert_eq!(chart.points[0].limits, None);
    }

    #[test]
    fn too_few_points_give_no_limits_flags_or_icons() {
        // Ten points with a run of six below the mean: still grey, as the MDC tool.
        let v = [16.0, 20.0, 22.0, 18.0, 21.0, 18.0, 26.0, 28.0, 24.0, 26.0];
        let mut o = opts(Direction::Higher);
        o.target = Some(0.0);
        let chart = xmr(&v, &o);
        assert!(chart.points.iter().all(|p| p.limits.is_none()));
        assert!(chart.points.iter().all(|p| p.colour == Colour::Grey));
        assert_eq!(chart.variation_icon(), None);
        assert_eq!(chart.assurance_icon(), None);
    }

    #[test]
    fn constant_series_is_common_cause() {
        let chart = xmr(&[7.0; 20], &Options::default());
        let l = chart.points[0].limits.unwrap();
        assert_eq!((l.lower, l.upper), (7.0, 7.0));
        assert!(chart.points.iter().all(|p| p.colour == Colour::Grey));
    }

    #[test]
    fn trend_needs_six_points_without_pauses() {
        // Zig-zag filler around 20 keeps the mean and the limits wide.
        let mut v: Vec<f64> = (0..14)
            .map(|i| if i % 2 == 0 { 14.0 } else { 26.0 })
            .collect();
        v.extend([15.0, 16.0, 17.0, 18.0, 19.0]);
        let five = xmr(&v, &Options::default());
        assert!(five.points.iter().all(|p| !p.flags.trend));
        v.push(21.0);
        let six = xmr(&v, &Options::default());
        assert!(six.points[14..].iter().all(|p| p.flags.trend));
        // 26 → 15 falls, then the rise starts at 15; only the rising points are in the trend.
        assert_eq!(six.points.iter().filter(|p| p.flags.trend).count(), 6);
        v.insert(17, 17.0);
        let paused = xmr(&v, &Options::default());
        assert!(paused.points.iter().all(|p| !p.flags.trend));
    }

    #[test]
    fn a_tie_before_a_trend_does_not_drop_its_first_point() {
        // Zig-zag filler, then 19, 19 and five falls from the second 19: a falling run of six
        // points (19, 18, 17, 16, 15, 14) that starts on a point equal to the one before it.
        let mut v: Vec<f64> = (0..14)
            .map(|i| if i % 2 == 0 { 14.0 } else { 26.0 })
            .collect();
        v.extend([19.0, 19.0, 18.0, 17.0, 16.0, 15.0, 14.0]);
        let chart = xmr(&v, &Options::default());
        let trend: Vec<usize> = (0..v.len())
            .filter(|&i| chart.points[i].flags.trend)
            .collect();
        assert_eq!(trend, (15..21).collect::<Vec<_>>());
        assert!(chart.points[15..].iter().all(|p| p.flags.low));
        // The same with a rise after a run of ties.
        let mut v: Vec<f64> = (0..14)
            .map(|i| if i % 2 == 0 { 14.0 } else { 26.0 })
            .collect();
        v.extend([21.0, 21.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.5]);
        let chart = xmr(&v, &Options::default());
        let trend: Vec<usize> = (0..v.len())
            .filter(|&i| chart.points[i].flags.trend)
            .collect();
        assert_eq!(trend, (16..22).collect::<Vec<_>>());
    }

    #[test]
    fn a_run_chart_has_no_limits_flags_or_icons() {
        // A running total: every point rises, so as an XmR chart it is one long trend.
        let v: Vec<f64> = (1..=20).map(|i| f64::from(i * i)).collect();
        let o = Options {
            target: Some(100.0),
            ..opts(Direction::Higher)
        };
        let xmr_chart = xmr(&v, &o);
        assert!(xmr_chart.points.iter().all(|p| p.flags.trend));
        let run = xmr_chart.clone().without_limits();
        assert!(
            run.points
                .iter()
                .all(|p| p.limits.is_none() && !p.flags.any())
        );
        assert!(run.points.iter().all(|p| p.colour == Colour::Grey));
        assert_eq!(run.points[0].mean, xmr_chart.points[0].mean);
        assert_eq!((run.variation_icon(), run.assurance_icon()), (None, None));
    }

    #[test]
    fn nhsr_needs_seven_points_and_mdc_six() {
        // Filler ends below the mean so the six points above it are a run of exactly six.
        let mut v: Vec<f64> = (0..13)
            .map(|i| if i % 2 == 0 { 14.0 } else { 26.0 })
            .collect();
        v.extend([21.0; 6]);
        let mdc = xmr(&v, &Options::default());
        let nhsr = xmr(
            &v,
            &Options {
                rules: Rules::Nhsr,
                ..Options::default()
            },
        );
        assert!(mdc.points[13..].iter().all(|p| p.flags.shift));
        assert_eq!(mdc.points.iter().filter(|p| p.flags.shift).count(), 6);
        assert!(nhsr.points.iter().all(|p| !p.flags.shift));
    }

    #[test]
    fn nhsr_screens_moving_range_outliers() {
        // Fourteen ranges: twelve of 2 and two of 40 around a spike. AMR = 104 / 14 = 7.43,
        // cut 3.267 × 7.43 = 24.3, so the 40s go and the screened AMR is 24 / 12 = 2.
        let mut v: Vec<f64> = (0..15)
            .map(|i| if i % 2 == 0 { 10.0 } else { 12.0 })
            .collect();
        v[7] = 50.0;
        let mdc = xmr(&v, &Options::default());
        let nhsr = xmr(
            &v,
            &Options {
                rules: Rules::Nhsr,
                ..Options::default()
            },
        );
        let raw: f64 = v.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / 14.0;
        assert!((mdc.phases[0].average_moving_range.unwrap() - raw).abs() < 1e-12);
        assert!((nhsr.phases[0].average_moving_range.unwrap() - 2.0).abs() < 1e-12);
        assert!(nhsr.points[7].flags.beyond_limits);
    }

    #[test]
    fn recalculation_gives_each_phase_its_own_limits() {
        let mut v = [10.0, 12.0].repeat(8);
        v.extend([30.0, 34.0].repeat(8));
        let o = Options {
            recalculate_at: vec![16, 0, 99],
            ..Options::default()
        };
        let chart = xmr(&v, &o);
        assert_eq!(chart.phases.len(), 2);
        assert_eq!(chart.points[15].mean, 11.0);
        assert_eq!(chart.points[16].mean, 32.0);
        assert_eq!(chart.points[16].moving_range, None);
        assert!((chart.phases[1].average_moving_range.unwrap() - 4.0).abs() < 1e-12);
    }

    #[test]
    fn baseline_extends_limits_and_overrides_recalculation_under_mdc() {
        let mut v = [10.0, 12.0].repeat(8);
        v.extend([30.0, 34.0].repeat(8));
        let o = Options {
            baseline: Some(16),
            recalculate_at: vec![16],
            ..Options::default()
        };
        let chart = xmr(&v, &o);
        assert_eq!(chart.phases.len(), 1);
        assert!(chart.points.iter().all(|p| p.mean == 11.0));
        assert!(chart.points[16..].iter().all(|p| p.colour == Colour::Blue));
        // A baseline shorter than the minimum gives no limits.
        let short = xmr(
            &v,
            &Options {
                baseline: Some(12),
                ..Options::default()
            },
        );
        assert!(short.points.iter().all(|p| p.limits.is_none()));
        // A baseline of zero points is no baseline.
        let zero = xmr(
            &v,
            &Options {
                baseline: Some(0),
                recalculate_at: vec![16],
                ..Options::default()
            },
        );
        assert_eq!(zero.phases.len(), 2);
        assert!(zero.points.iter().all(|p| p.mean.is_finite()));
    }

    #[test]
    fn colours_follow_direction() {
        let mut v: Vec<f64> = (0..14)
            .map(|i| if i % 2 == 0 { 19.0 } else { 21.0 })
            .collect();
        v.push(40.0);
        let colour_of_last = |d| xmr(&v, &opts(d)).points[14].colour;
        assert_eq!(colour_of_last(Direction::Higher), Colour::Blue);
        assert_eq!(colour_of_last(Direction::Lower), Colour::Orange);
        assert_eq!(colour_of_last(Direction::Neither), Colour::Purple);
        assert_eq!(
            xmr(&v, &opts(Direction::Lower)).variation_icon(),
            Some(VariationIcon::ConcernHigh)
        );
        assert_eq!(
            xmr(&v, &opts(Direction::Neither)).variation_icon(),
            Some(VariationIcon::NeitherHigh)
        );
    }

    #[test]
    fn colours_serialise_lowercase() {
        let names: Vec<&str> = [Colour::Grey, Colour::Blue, Colour::Orange, Colour::Purple]
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(names, ["grey", "blue", "orange", "purple"]);
    }
}
