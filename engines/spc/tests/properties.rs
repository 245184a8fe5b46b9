//! Properties any XmR chart must have, whatever the data and options.

use proptest::prelude::*;
use spc::{Chart, Direction, Options, Rules, VariationIcon, xmr};

/// Integer random walks: they give trends, shifts and outliers often, and keep sums exact.
fn walk() -> impl Strategy<Value = Vec<f64>> {
    (0i32..100, prop::collection::vec(-12i32..=12, 0..60)).prop_map(|(start, steps)| {
        steps
            .iter()
            .scan(start, |v, s| {
                *v += s;
                Some(f64::from(*v))
            })
            .collect()
    })
}

fn options() -> impl Strategy<Value = Options> {
    (
        prop_oneof![Just(Rules::Mdc), Just(Rules::Nhsr)],
        prop_oneof![
            Just(Direction::Higher),
            Just(Direction::Lower),
            Just(Direction::Neither)
        ],
        prop::option::of(13usize..30),
        prop::collection::vec(1usize..60, 0..3),
    )
        .prop_map(|(rules, direction, baseline, recalculate_at)| Options {
            rules,
            direction,
            target: None,
            baseline,
            recalculate_at,
        })
}

fn colours(c: &Chart) -> Vec<&'static str> {
    c.points.iter().map(|p| p.colour.as_str()).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// True unless a value lies within rounding distance of a line it is judged against. After a
/// shift or a rescale the lines move by a rounding error, so such a tie could fall either way;
/// exact ties on the mean survive both transforms on integer data and are kept.
fn clear_of_lines(c: &Chart) -> bool {
    c.points.iter().all(|p| {
        let Some(l) = p.limits else { return true };
        let lines = [l.lower, l.upper, l.lower_two_sigma, l.upper_two_sigma];
        (p.value == p.mean || !close(p.value, p.mean)) && lines.iter().all(|&x| !close(p.value, x))
    })
}

fn flip(d: Direction) -> Direction {
    match d {
        Direction::Higher => Direction::Lower,
        Direction::Lower => Direction::Higher,
        Direction::Neither => Direction::Neither,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn limits_are_symmetric_about_the_mean(values in walk(), opts in options()) {
        let chart = xmr(&values, &opts);
        prop_assert_eq!(chart.points.len(), values.len());
        for p in &chart.points {
            if let Some(l) = p.limits {
                prop_assert!(close(l.upper - p.mean, p.mean - l.lower));
                prop_assert!(close(l.upper_two_sigma - p.mean, p.mean - l.lower_two_sigma));
                prop_assert!(close(l.upper_one_sigma - p.mean, p.mean - l.lower_one_sigma));
                prop_assert!(l.lower <= l.lower_two_sigma && l.lower_two_sigma <= l.lower_one_sigma);
                prop_assert!(l.lower_one_sigma <= p.mean && p.mean <= l.upper_one_sigma);
            } else {
                prop_assert_eq!(p.colour.as_str(), "grey");
            }
        }
    }

    #[test]
    fn adding_a_constant_shifts_limits_and_keeps_colours(
        values in walk(), opts in options(), c in -1000i32..1000,
    ) {
        let a = xmr(&values, &opts);
        prop_assume!(clear_of_lines(&a));
        let c = f64::from(c);
        let shifted: Vec<f64> = values.iter().map(|v| v + c).collect();
        let b = xmr(&shifted, &opts);
        prop_assert_eq!(colours(&a), colours(&b));
        prop_assert_eq!(a.variation_icon(), b.variation_icon());
        for (p, q) in a.points.iter().zip(&b.points) {
            prop_assert!(close(p.mean + c, q.mean));
            match (p.limits, q.limits) {
                (Some(l), Some(m)) => {
                    prop_assert!(close(l.lower + c, m.lower));
                    prop_assert!(close(l.upper + c, m.upper));
                }
                (None, None) => {}
                _ => prop_assert!(false, "limits appeared or vanished"),
            }
        }
    }

    #[test]
    fn scaling_by_a_positive_factor_keeps_colours(
        values in walk(), opts in options(), k in 0.001f64..1000.0,
    ) {
        let a = xmr(&values, &opts);
        prop_assume!(clear_of_lines(&a));
        let scaled: Vec<f64> = values.iter().map(|v| v * k).collect();
        let b = xmr(&scaled, &opts);
        // A tie on the mean may not survive an inexact rescale: skip those few cases.
        prop_assume!(a.points.iter().zip(&b.points).all(|(p, q)| (p.value == p.mean) == (q.value == q.mean)));
        prop_assert_eq!(colours(&a), colours(&b));
        prop_assert_eq!(a.variation_icon(), b.variation_icon());
        for (p, q) in a.points.iter().zip(&b.points) {
            if let (Some(l), Some(m)) = (p.limits, q.limits) {
                prop_assert!(close(l.upper * k, m.upper));
            }
        }
    }

    #[test]
    fn negating_with_the_direction_flipped_keeps_colours(values in walk(), opts in options()) {
        // Negation is exact in floating point, so no tie can break.
        let a = xmr(&values, &opts);
        let negated: Vec<f64> = values.iter().map(|v| -v).collect();
        let b = xmr(&negated, &Options { direction: flip(opts.direction), ..opts.clone() });
        prop_assert_eq!(colours(&a), colours(&b));
        for (p, q) in a.points.iter().zip(&b.points) {
            prop_assert_eq!(-p.mean, q.mean);
            prop_assert_eq!(p.limits.map(|l| -l.upper), q.limits.map(|l| l.lower));
            prop_assert_eq!((p.flags.high, p.flags.low), (q.flags.low, q.flags.high));
        }
        use VariationIcon::*;
        let mirrored = a.variation_icon().map(|i| match i {
            ImprovementHigh => ImprovementLow,
            ImprovementLow => ImprovementHigh,
            ConcernHigh => ConcernLow,
            ConcernLow => ConcernHigh,
            NeitherHigh => NeitherLow,
            NeitherLow => NeitherHigh,
            CommonCause => CommonCause,
        });
        prop_assert_eq!(mirrored, b.variation_icon());
    }
}
