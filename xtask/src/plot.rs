//! The chart of `docs/benchmarks.md`: throughput and p99 latency against concurrency, one line
//! per client and mode, one row of two panels per broker (plotters, SVG backend).

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

/// One line of the chart: its label and (concurrency, value) points.
pub struct Series {
    /// E.g. `rmq async`.
    pub label: String,
    /// (concurrency, messages per second).
    pub tps: Vec<(u32, f64)>,
    /// (concurrency, p99 latency in µs).
    pub p99_us: Vec<(u32, f64)>,
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Writes one row (throughput, p99) per `(broker, series)` to `path`.
pub fn write(path: &Path, rows: &[(&str, Vec<Series>)]) -> Result<()> {
    let rows: Vec<&(&str, Vec<Series>)> = rows.iter().filter(|(_, s)| !s.is_empty()).collect();
    let height = 440 * u32::try_from(rows.len().max(1)).unwrap_or(1);
    let root = SVGBackend::new(path, (1200, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
    for (area, (broker, series)) in root.split_evenly((rows.len().max(1), 1)).iter().zip(&rows) {
        let (left, right) = area.split_horizontally(600);
        chart(
            &left,
            &format!("{broker}: throughput (msg/s)"),
            series,
            |s| &s.tps,
        )?;
        chart(
            &right,
            &format!("{broker}: p99 latency (µs)"),
            series,
            |s| &s.p99_us,
        )?;
    }
    root.present().map_err(|e| anyhow!("plot: {e}"))?;
    Ok(())
}

fn chart(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    series: &[Series],
    values: impl Fn(&Series) -> &Vec<(u32, f64)>,
) -> Result<()> {
    let all = || {
        series
            .iter()
            .flat_map(|s| values(s).iter().map(|(_, v)| *v))
            .filter(|v| *v > 0.0)
    };
    let max = all().fold(1.0_f64, f64::max);
    let min = all().fold(max, f64::min);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (1u32..300u32).log_scale(),
            ((min / 2.0).max(0.1)..max * 2.0).log_scale(),
        )
        .map_err(|e| anyhow!("plot: {e}"))?;
    chart
        .configure_mesh()
        .x_desc("concurrency (sends in flight)")
        .x_labels(4)
        .draw()
        .map_err(|e| anyhow!("plot: {e}"))?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<(u32, f64)> = values(s)
            .iter()
            .copied()
            .filter(|(_, v)| *v > 0.0)
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| anyhow!("plot: {e}"))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(|e| anyhow!("plot: {e}"))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| anyhow!("plot: {e}"))?;
    Ok(())
}
