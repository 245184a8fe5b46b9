//! CSV in and out for analysts: `metric,date,value` rows in, one chart per metric out.
//!
//! Works on any `Read`/`Write` so the engine stays free of file handling. Rows are numbered
//! from 1 for the first data row (the header is not counted); the file line is given too,
//! because the two differ by one and editors show lines.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};

use time::{Date, Month};

use crate::{Chart, Options, xmr};

/// One metric's values in date order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub metric: String,
    pub dates: Vec<Date>,
    pub values: Vec<f64>,
}

impl Series {
    /// Chart the series; each date in `recalculate_from` starts a new phase at the first
    /// point on or after it.
    pub fn chart(&self, opts: &Options, recalculate_from: &[Date]) -> Chart {
        let mut opts = opts.clone();
        opts.recalculate_at.extend(
            recalculate_from
                .iter()
                .map(|d| self.dates.partition_point(|x| x < d)),
        );
        xmr(&self.values, &opts)
    }
}

/// A problem with one field of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based data row, not counting the header.
    pub row: usize,
    /// 1-based line of the file where the row starts.
    pub line: u64,
    pub field: &'static str,
    pub problem: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {} (line {}), field \"{}\": {}",
            self.row, self.line, self.field, self.problem
        )
    }
}

/// Why a CSV could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The header lacks required columns.
    MissingColumns(Vec<&'static str>),
    /// The CSV itself is malformed (e.g. not UTF-8).
    Csv(String),
    /// Every bad row found, in file order.
    Rows(Vec<RowError>),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::MissingColumns(cols) => {
                write!(f, "the header has no column named {}", cols.join(", "))
            }
            ReadError::Csv(msg) => write!(f, "could not read the CSV: {msg}"),
            ReadError::Rows(rows) => {
                write!(f, "{} bad row(s):", rows.len())?;
                for r in rows {
                    write!(f, "\n{r}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ReadError {}

const COLUMNS: [&str; 3] = ["metric", "date", "value"];

/// Read `metric,date,value` rows (in any column order, other columns ignored, names
/// case-insensitive) into one series per metric, in order of first appearance, each sorted
/// by date. Dates are YYYY-MM-DD or DD/MM/YYYY. Every bad row is reported, not just the first.
pub fn read_series<R: Read>(input: R) -> Result<Vec<Series>, ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| ReadError::Csv(e.to_string()))?
        .clone();
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let (Some(mi), Some(di), Some(vi)) = (find("metric"), find("date"), find("value")) else {
        let missing = COLUMNS.into_iter().filter(|c| find(c).is_none()).collect();
        return Err(ReadError::MissingColumns(missing));
    };

    struct Obs {
        date: Date,
        value: f64,
        row: usize,
        line: u64,
    }
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<Obs>> = HashMap::new();
    let mut errors = Vec::new();

    for (n, record) in reader.records().enumerate() {
        let row = n + 1;
        let record = record.map_err(|e| ReadError::Csv(format!("data row {row}: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let mut fail = |field, problem: String| {
            errors.push(RowError {
                row,
                line,
                field,
                problem,
            })
        };
        let get = |i: usize| record.get(i);

        let metric = match get(mi) {
            Some(m) if !m.is_empty() => Some(m),
            Some(_) => {
                fail("metric", "is empty".into());
                None
            }
            None => {
                fail("metric", "is missing".into());
                None
            }
        };
        let date = match get(di) {
            None => {
                fail("date", "is missing".into());
                None
            }
            Some(d) => parse_date(d).or_else(|| {
                fail(
                    "date",
                    format!("{d:?} is not a date (expected YYYY-MM-DD or DD/MM/YYYY)"),
                );
                None
            }),
        };
        let value = match get(vi) {
            None => {
                fail("value", "is missing".into());
                None
            }
            Some("") => {
                fail("value", "is empty".into());
                None
            }
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Some(x),
                _ => {
                    fail("value", format!("{v:?} is not a number"));
                    None
                }
            },
        };
        if let (Some(metric), Some(date), Some(value)) = (metric, date, value) {
            let obs = Obs {
                date,
                value,
                row,
                line,
            };
            match groups.get_mut(metric) {
                Some(g) => g.push(obs),
                None => {
                    order.push(metric.to_string());
                    groups.insert(metric.to_string(), vec![obs]);
                }
            }
        }
    }

    let mut series = Vec::with_capacity(order.len());
    for metric in order {
        let mut obs = groups.remove(&metric).unwrap_or_default();
        obs.sort_by_key(|o| (o.date, o.row));
        for w in obs.windows(2) {
            if w[0].date == w[1].date {
                let later = if w[0].row > w[1].row { &w[0] } else { &w[1] };
                let earlier = w[0].row.min(w[1].row);
                errors.push(RowError {
                    row: later.row,
                    line: later.line,
                    field: "date",
                    problem: format!("{} repeats row {earlier} for metric {metric:?}", later.date),
                });
            }
        }
        series.push(Series {
            dates: obs.iter().map(|o| o.date).collect(),
            values: obs.iter().map(|o| o.value).collect(),
            metric,
        });
    }

    if errors.is_empty() {
        Ok(series)
    } else {
        errors.sort_by_key(|e| e.row);
        Err(ReadError::Rows(errors))
    }
}

/// Parse YYYY-MM-DD or DD/MM/YYYY.
pub fn parse_date(s: &str) -> Option<Date> {
    let num = |p: &str| -> Option<u32> {
        (!p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let (y, m, d) = if let Some((y, rest)) = s.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        (y.len() == 4).then_some(())?;
        (num(y)?, num(m)?, num(d)?)
    } else {
        let mut parts = s.split('/');
        let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
        (parts.next().is_none() && y.len() == 4).then_some(())?;
        (num(y)?, num(m)?, num(d)?)
    };
    let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// Write one row per point: `metric,date,value,mean,lower_limit,upper_limit,colour`.
/// Limits are empty where there are too few points. `charts[i]` belongs to `series[i]`.
pub fn write_points<W: Write>(out: W, series: &[Series], charts: &[Chart]) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "metric",
        "date",
        "value",
        "mean",
        "lower_limit",
        "upper_limit",
        "colour",
    ])?;
    for (s, chart) in series.iter().zip(charts) {
        for (date, p) in s.dates.iter().zip(&chart.points) {
            w.write_record([
                s.metric.clone(),
                date.to_string(),
                p.value.to_string(),
                p.mean.to_string(),
                opt(p.limits.map(|l| l.lower)),
                opt(p.limits.map(|l| l.upper)),
                p.colour.as_str().to_string(),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Write one row per metric with the latest point and the icons:
/// `metric,points,latest_date,latest_value,mean,lower_limit,upper_limit,variation,assurance`.
pub fn write_summary<W: Write>(out: W, series: &[Series], charts: &[Chart]) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "metric",
        "points",
        "latest_date",
        "latest_value",
        "mean",
        "lower_limit",
        "upper_limit",
        "variation",
        "assurance",
    ])?;
    for (s, chart) in series.iter().zip(charts) {
        let (Some(date), Some(p)) = (s.dates.last(), chart.points.last()) else {
            continue;
        };
        w.write_record([
            s.metric.clone(),
            chart.points.len().to_string(),
            date.to_string(),
            p.value.to_string(),
            p.mean.to_string(),
            opt(p.limits.map(|l| l.lower)),
            opt(p.limits.map(|l| l.upper)),
            chart
                .variation_icon()
                .map_or("", |i| i.as_str())
                .to_string(),
            chart
                .assurance_icon()
                .map_or("", |i| i.as_str())
                .to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn rows(err: ReadError) -> Vec<String> {
        match err {
            ReadError::Rows(r) => r.iter().map(|e| e.to_string()).collect(),
            other => panic!("expected row errors, got {other}"),
        }
    }

    #[test]
    fn groups_by_metric_in_order_and_sorts_by_date() {
        let csv = "metric,date,value\nb,2023-02-01,2\na,01/01/2023,10\nb,2023-01-01,1\n";
        let s = read_series(csv.as_bytes()).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].metric, "b");
        assert_eq!(s[0].dates, [date!(2023 - 01 - 01), date!(2023 - 02 - 01)]);
        assert_eq!(s[0].values, [1.0, 2.0]);
        assert_eq!(s[1].metric, "a");
    }

    #[test]
    fn accepts_bom_capitals_extra_columns_and_crlf() {
        let csv = "\u{feff}Metric,Date,Value,Colour\r\nx,02/01/2023,3.5,grey\r\n";
        let s = read_series(csv.as_bytes()).unwrap();
        assert_eq!(s[0].values, [3.5]);
        assert_eq!(s[0].dates, [date!(2023 - 01 - 02)]);
    }

    #[test]
    fn reports_every_bad_row_with_row_line_and_field() {
        let csv = "metric,date,value\n\
                   a,2023-01-01,1\n\
                   a,2023-01-02,abc\n\
                   ,2023-01-03,3\n\
                   a,31/02/2023,4\n\
                   a,2023-01-05\n\
                   a,2023-01-06,inf\n";
        let errs = rows(read_series(csv.as_bytes()).unwrap_err());
        assert_eq!(
            errs,
            [
                "row 2 (line 3), field \"value\": \"abc\" is not a number",
                "row 3 (line 4), field \"metric\": is empty",
                "row 4 (line 5), field \"date\": \"31/02/2023\" is not a date (expected YYYY-MM-DD or DD/MM/YYYY)",
                "row 5 (line 6), field \"value\": is missing",
                "row 6 (line 7), field \"value\": \"inf\" is not a number",
            ]
        );
    }

    #[test]
    fn reports_repeated_dates() {
        let csv = "metric,date,value\na,2023-01-01,1\nb,2023-01-01,1\na,01/01/2023,2\n";
        let errs = rows(read_series(csv.as_bytes()).unwrap_err());
        assert_eq!(
            errs,
            ["row 3 (line 4), field \"date\": 2023-01-01 repeats row 1 for metric \"a\""]
        );
    }

    #[test]
    fn names_missing_columns() {
        let err = read_series("metric,when,amount\n".as_bytes()).unwrap_err();
        assert_eq!(err, ReadError::MissingColumns(vec!["date", "value"]));
        assert_eq!(
            err.to_string(),
            "the header has no column named date, value"
        );
    }

    #[test]
    fn parses_both_date_forms_strictly() {
        assert_eq!(parse_date("2024-02-29"), Some(date!(2024 - 02 - 29)));
        assert_eq!(parse_date("29/02/2024"), Some(date!(2024 - 02 - 29)));
        assert_eq!(parse_date("1/3/2024"), Some(date!(2024 - 03 - 01)));
        for bad in [
            "2023-02-29",
            "23-01-01",
            "01/01/23",
            "2023/01/01",
            "2023-1",
            "x",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn writes_points_and_summary() {
        let mut csv = String::from("metric,date,value\n");
        for i in 1..=15 {
            csv += &format!(
                "\"a, b\",{i:02}/01/2023,{}\n",
                if i == 15 { 90 } else { 10 + i % 2 }
            );
        }
        csv += "short,2023-01-01,1\n";
        let series = read_series(csv.as_bytes()).unwrap();
        let charts: Vec<Chart> = series
            .iter()
            .map(|s| s.chart(&Options::default(), &[]))
            .collect();
        let mut out = Vec::new();
        write_points(&mut out, &series, &charts).unwrap();
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "metric,date,value,mean,lower_limit,upper_limit,colour"
        );
        assert_eq!(lines.len(), 17);
        assert!(lines[1].starts_with("\"a, b\",2023-01-01,11,"));
        assert!(lines[15].ends_with(",blue"));
        assert_eq!(lines[16], "short,2023-01-01,1,1,,,grey");

        let mut out = Vec::new();
        write_summary(&mut out, &series, &charts).unwrap();
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("\"a, b\",15,2023-01-15,90,"));
        assert!(lines[1].ends_with(",improvement_high,"));
        assert_eq!(lines[2], "short,1,2023-01-01,1,1,,,,");
    }

    #[test]
    fn recalculation_dates_map_to_first_point_on_or_after() {
        let s = Series {
            metric: "m".into(),
            dates: (1..=30)
                .map(|d| Date::from_calendar_date(2023, Month::January, d).unwrap())
                .collect(),
            values: (0..30).map(f64::from).collect(),
        };
        let chart = s.chart(&Options::default(), &[date!(2023 - 01 - 16)]);
        assert_eq!(chart.phases.len(), 2);
        assert_eq!(chart.phases[1].start, 15);
    }
}
