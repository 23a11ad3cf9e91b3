//! A horizontal grouped bar chart as geometry for the report's SVG: one group of bars per code of
//! the table's first dimension, one bar per code of its second (or one bar at its total), error
//! bars for noisy values, and a hatched empty bar where a value is withheld.

use serde::Serialize;

/// What one bar shows.
#[derive(Debug, Clone)]
pub struct Point {
    pub value: Option<i64>,
    pub moe95: Option<i64>,
}

/// One category (a code of the first dimension) with a point per series.
#[derive(Debug, Clone)]
pub struct Category {
    pub label: String,
    pub points: Vec<Point>,
}

/// The drawn chart, in SVG user units.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    /// Above the plot: the measure.
    pub title: String,
    /// Below the chart: what it shows.
    pub caption: String,
    pub plot_left: u32,
    pub plot_top: u32,
    pub plot_bottom: u32,
    pub labels: Vec<Text>,
    pub bars: Vec<Bar>,
    pub errors: Vec<ErrorBar>,
    pub ticks: Vec<Tick>,
    pub legend: Vec<LegendEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Text {
    pub x: u32,
    pub y: u32,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// `series-N`, or `withheld` for a suppressed value.
    pub class: String,
    /// What a pointer over the bar shows.
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorBar {
    pub x1: u32,
    pub x2: u32,
    pub y: u32,
    pub top: u32,
    pub bottom: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub x: u32,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegendEntry {
    pub x: u32,
    pub y: u32,
    pub class: String,
    pub label: String,
}

const LABEL_WIDTH: u32 = 190;
const PLOT_WIDTH: u32 = 560;
const BAR: u32 = 14;
const GAP: u32 = 10;
const TOP: u32 = 34;
const AXIS: u32 = 28;
const LEGEND_WIDTH: u32 = 130;
const LEGEND_ROW: u32 = 18;
/// Legend entries that fit beside each other over the plot (and the margin right of it).
const LEGEND_PER_ROW: usize = 4;

/// Lays out the chart; `series` names the bars of each category, in order.
#[must_use]
pub fn layout(title: String, caption: String, series: &[String], categories: &[Category]) -> Chart {
    let per_group = u32::try_from(series.len().max(1)).unwrap_or(1);
    let group = per_group * BAR + GAP;
    let n = u32::try_from(categories.len()).unwrap_or(0);
    // The legend in rows of LEGEND_PER_ROW entries above the plot.
    let legend_rows = if series.len() > 1 {
        u32::try_from(series.len().div_ceil(LEGEND_PER_ROW)).unwrap_or(1)
    } else {
        0
    };
    let plot_top = TOP + legend_rows * LEGEND_ROW + if legend_rows > 0 { 4 } else { 0 };
    let plot_bottom = plot_top + n * group;
    let top_value = categories
        .iter()
        .flat_map(|c| &c.points)
        .map(|p| p.value.unwrap_or(0) + p.moe95.unwrap_or(0))
        .max()
        .unwrap_or(0)
        .max(1);
    let step = nice_step(top_value);
    let axis_max = (top_value + step - 1) / step * step;
    let x_of = |v: i64| {
        let v = v.clamp(0, axis_max);
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a pixel position within the plot"
        )]
        let px = (v as f64 / axis_max as f64 * f64::from(PLOT_WIDTH)).round() as u32;
        LABEL_WIDTH + px
    };
    let mut labels = Vec::new();
    let mut bars = Vec::new();
    let mut errors = Vec::new();
    for (g, category) in (0u32..).zip(categories) {
        let y0 = plot_top + g * group + GAP / 2;
        labels.push(Text {
            x: LABEL_WIDTH - 8,
            y: y0 + per_group * BAR / 2 + 4,
            text: category.label.clone(),
        });
        for (s, point) in (0u32..).zip(&category.points) {
            let y = y0 + s * BAR;
            let name = series.get(s as usize).cloned().unwrap_or_default();
            match point.value {
                Some(v) => {
                    let title = match point.moe95 {
                        Some(m) => format!("{} {name}: {v} ± {m}", category.label),
                        None => format!("{} {name}: {v}", category.label),
                    };
                    bars.push(Bar {
                        x: LABEL_WIDTH,
                        y,
                        width: x_of(v) - LABEL_WIDTH,
                        height: BAR - 2,
                        class: format!("series-{s}"),
                        title,
                    });
                    if let Some(m) = point.moe95 {
                        errors.push(ErrorBar {
                            x1: x_of(v - m),
                            x2: x_of(v + m),
                            y: y + (BAR - 2) / 2,
                            top: y + 2,
                            bottom: y + BAR - 4,
                        });
                    }
                }
                None => bars.push(Bar {
                    x: LABEL_WIDTH,
                    y,
                    width: 36,
                    height: BAR - 2,
                    class: "withheld".into(),
                    title: format!("{} {name}: withheld / 不公布", category.label),
                }),
            }
        }
    }
    let ticks = (0..)
        .map(|i| i * step)
        .take_while(|&v| v <= axis_max)
        .map(|v| Tick {
            x: x_of(v),
            label: group_digits(v),
        })
        .collect();
    let legend = if series.len() > 1 {
        (0usize..)
            .zip(series)
            .map(|(i, s)| {
                let (row, column) = (i / LEGEND_PER_ROW, i % LEGEND_PER_ROW);
                LegendEntry {
                    x: LABEL_WIDTH + u32::try_from(column).unwrap_or(0) * LEGEND_WIDTH,
                    y: TOP + u32::try_from(row).unwrap_or(0) * LEGEND_ROW,
                    class: format!("series-{i}"),
                    label: s.clone(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Chart {
        width: LABEL_WIDTH + PLOT_WIDTH + 40,
        height: plot_bottom + AXIS,
        title,
        caption,
        plot_left: LABEL_WIDTH,
        plot_top,
        plot_bottom,
        labels,
        bars,
        errors,
        ticks,
        legend,
    }
}

/// A step of 1, 2 or 5 × 10ⁿ giving four to ten ticks up to `top`.
fn nice_step(top: i64) -> i64 {
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if top / (step * m) <= 8 {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// `1234567` as `1,234,567`.
#[must_use]
pub fn group_digits(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::{Category, Point, group_digits, layout, nice_step};

    #[test]
    fn bars_scale_to_the_largest_value_and_withheld_values_are_marked() {
        let p = |value, moe95| Point { value, moe95 };
        let chart = layout(
            "persons".into(),
            "persons by district".into(),
            &["F".into(), "M".into()],
            &[
                Category {
                    label: "A".into(),
                    points: vec![p(Some(80), None), p(None, None)],
                },
                Category {
                    label: "B".into(),
                    points: vec![p(Some(40), Some(10)), p(Some(0), Some(3))],
                },
            ],
        );
        assert_eq!(chart.bars.len(), 4);
        assert_eq!(chart.bars[1].class, "withheld");
        // 80 on an axis to 80 (step 10) fills the plot; 40 half of it.
        assert_eq!(chart.bars[0].width, 560);
        assert_eq!(chart.bars[2].width, 280);
        assert_eq!(chart.errors.len(), 2);
        assert_eq!(chart.errors[0].x1 - chart.plot_left, 210);
        // An error bar never leaves the plot on the left.
        assert_eq!(chart.errors[1].x1, chart.plot_left);
        assert_eq!(chart.legend.len(), 2);
        assert!(chart.legend[1].x + 130 <= chart.width);
        assert!(chart.ticks.len() >= 4 && chart.ticks.len() <= 10);
    }

    #[test]
    fn steps_are_one_two_or_five_and_digits_are_grouped() {
        assert_eq!(nice_step(7), 1);
        assert_eq!(nice_step(80), 10);
        assert_eq!(nice_step(1290), 200);
        assert_eq!(group_digits(1_234_567), "1,234,567");
        assert_eq!(group_digits(-1000), "-1,000");
        assert_eq!(group_digits(999), "999");
    }
}
