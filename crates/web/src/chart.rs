//! Reports' common parts: the query every report reads, and charts drawn on the server as
//! SVG (no JavaScript, they print, and each carries a title for screen readers; the figures
//! are also in the table every report shows beside its chart).

/// The query of a report page or API: `?from=&to=` (a period), `?by=` (a grouping) and
/// `?days=` (a look-back), each optional; what they default to is the report's choice.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub by: Option<String>,
    #[serde(default)]
    pub days: Option<String>,
}

/// A period as (first day, last day), `YYYY-MM-DD`.
pub type Period = (String, String);

impl ReportQuery {
    /// The period, by default this year up to today (see `Ctx::period`).
    pub fn period(&self, ctx: &crate::Ctx) -> crate::AppResult<(String, String)> {
        ctx.period(self.from.as_deref(), self.to.as_deref())
    }

    /// For a report page: the period asked for or, when a date is not valid, the default period
    /// with the refusals as (field, message) to show next to the filter's fields.
    pub fn period_for_page(&self, ctx: &crate::Ctx) -> crate::AppResult<(Period, Vec<(String, String)>)> {
        match self.period(ctx) {
            Ok(period) => Ok((period, Vec::new())),
            Err(crate::AppError::Domain(kernel::DomainError::Invalid(errors))) => {
                let messages = errors
                    .iter()
                    .map(|e| (e.field.clone(), ctx.state.messages.format(ctx.lang, e.key, &e.detail)))
                    .collect();
                Ok((ctx.period(None, None)?, messages))
            }
            Err(e) => Err(e),
        }
    }

    /// The grouping asked for, or `default`.
    pub fn grouping(&self, default: &str) -> String {
        self.by.as_deref().map(str::trim).filter(|b| !b.is_empty()).unwrap_or(default).to_string()
    }
}

/// One bar: a label and a value (fen, millionths or a count; `format` turns it into text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: i64,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const WIDTH: i64 = 640;
const LABEL_WIDTH: i64 = 170;
const VALUE_WIDTH: i64 = 110;
const ROW: i64 = 24;

/// A horizontal bar chart, one row per bar, scaled to the largest value. Negative values are
/// drawn as empty bars (the table shows them); an empty list draws nothing.
pub fn bars(title: &str, bars: &[Bar], format: impl Fn(i64) -> String) -> String {
    if bars.is_empty() {
        return String::new();
    }
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let height = ROW * bars.len() as i64 + 8;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = i as i64 * ROW + 4;
        let width = i64::try_from(i128::from(bar.value.max(0)) * i128::from(plot) / i128::from(max)).unwrap_or(0);
        let label: String = bar.label.chars().take(18).collect();
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{}</text>\
             <rect x=\"{LABEL_WIDTH}\" y=\"{y}\" width=\"{width}\" height=\"{}\" fill=\"#3b6ea5\"><title>{}: {}</title></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
            LABEL_WIDTH - 6,
            y + 15,
            escape(&label),
            ROW - 6,
            escape(&bar.label),
            escape(&format(bar.value)),
            LABEL_WIDTH + width + 6,
            y + 15,
            escape(&format(bar.value)),
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_bar_fills_the_plot_and_labels_are_escaped() {
        let svg = bars(
            "销售额 <按月>",
            &[Bar { label: "2026-01".into(), value: 500 }, Bar { label: "A&B".into(), value: 1000 }],
            |v| v.to_string(),
        );
        assert!(svg.contains("<title>销售额 &lt;按月&gt;</title>"));
        assert!(svg.contains("width=\"360\"") && svg.contains("width=\"180\""), "{svg}");
        assert!(svg.contains("A&amp;B"));
        assert_eq!(bars("empty", &[], |v| v.to_string()), "");
    }
}
