//! Figures over several runs, and the tables they are printed in (plain text for the terminal,
//! markdown for `BENCHMARKS.md`).

use std::fmt::Write as _;

/// Samples of one figure, one per run.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn push(&mut self, value: f64) {
        self.0.push(value);
    }

    fn sorted(&self) -> Vec<f64> {
        let mut values = self.0.clone();
        values.sort_by(f64::total_cmp);
        values
    }

    pub fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    pub fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(f64::NAN)
    }

    /// The middle value (the mean of the two middle ones for an even count).
    pub fn median(&self) -> f64 {
        let values = self.sorted();
        match values.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => values[n / 2],
            n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        }
    }

    /// `median` alone for one run, else `median (min–max)`, each with `digits` decimals.
    pub fn show(&self, digits: usize) -> String {
        let f = |v: f64| number(v, digits);
        if self.0.len() <= 1 {
            f(self.median())
        } else {
            format!("{} ({}–{})", f(self.median()), f(self.min()), f(self.max()))
        }
    }
}

/// `value` with `digits` decimals and thousands separators (`12,345.6`).
pub fn number(value: f64, digits: usize) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let text = format!("{:.*}", digits, value.abs());
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i.to_owned(), Some(f.to_owned())),
        None => (text, None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if value < 0.0 && value.abs() >= 0.5 * 10f64.powi(-(digits as i32)) {
        "-"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A table with a title, a header row, rows and notes under it.
#[derive(Debug, Clone)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(title: impl Into<String>, headers: &[&str]) -> Table {
        Table {
            title: title.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Aligned columns for a terminal.
    pub fn text(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = width - cell.chars().count();
                if i == 0 {
                    // The first column names the row: left-aligned; figures right-aligned.
                    write!(out, "{cell}{}", " ".repeat(pad)).unwrap();
                } else {
                    write!(out, "  {}{cell}", " ".repeat(pad)).unwrap();
                }
            }
            out.trim_end().to_owned() + "\n"
        };
        let mut out = format!("== {} ==\n", self.title);
        out += &line(&self.headers);
        let total: usize = widths.iter().sum::<usize>() + 2 * (columns.saturating_sub(1));
        out += &format!("{}\n", "-".repeat(total));
        for row in &self.rows {
            out += &line(row);
        }
        for note in &self.notes {
            out += &format!("  * {note}\n");
        }
        out
    }

    /// A GitHub markdown table under a `###` heading.
    pub fn markdown(&self) -> String {
        let escape = |s: &str| s.replace('|', "\\|");
        let mut out = format!("### {}\n\n", self.title);
        out += &format!(
            "| {} |\n",
            self.headers
                .iter()
                .map(|h| escape(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let align: Vec<&str> = (0..self.headers.len())
            .map(|i| if i == 0 { "---" } else { "---:" })
            .collect();
        out += &format!("| {} |\n", align.join(" | "));
        for row in &self.rows {
            let cells: Vec<String> = (0..self.headers.len())
                .map(|i| escape(row.get(i).map(String::as_str).unwrap_or("")))
                .collect();
            out += &format!("| {} |\n", cells.join(" | "));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                out += &format!("- {note}\n");
            }
        }
        out
    }
}

/// `met` or `missed` for a target.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_and_numbers() {
        let s = Samples(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.min(), s.median(), s.max()), (1.0, 2.5, 10.0));
        assert_eq!(s.show(1), "2.5 (1.0–10.0)");
        assert_eq!(Samples(vec![4.0]).show(0), "4");
        assert_eq!(number(1234567.891, 2), "1,234,567.89");
        assert_eq!(number(999.0, 0), "999");
        assert_eq!(number(-1234.0, 0), "-1,234");
        assert_eq!(number(0.004, 3), "0.004");
        assert_eq!(number(f64::NAN, 1), "–");
    }

    #[test]
    fn tables_render() {
        let mut t = Table::new("T", &["what", "n"]);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["bb|c".into(), "22".into()]);
        t.note("a note");
        assert_eq!(
            t.text(),
            "== T ==\nwhat   n\n--------\na      1\nbb|c  22\n  * a note\n"
        );
        assert!(t.markdown().contains("| bb\\|c | 22 |\n"));
        assert!(t.markdown().contains("| --- | ---: |\n"));
    }
}
