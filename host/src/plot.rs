//! `kingly bench --plot FILE`: guest instructions against tokens generated,
//! one line per thread count, as a PNG (plotters, bitmap backend).
//!
//! Text is drawn with DejaVu Sans, read at run time from Debian's
//! `fonts-dejavu-core` (scripts/setup installs it), so no system font
//! library is linked.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::error::{Error, IoContext, Result};

/// Where the font comes from.
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// One line of the chart: (tokens generated, guest instructions so far).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Plot(e.to_string())
}

/// Draws `series` into the PNG at `path`.
pub fn tokens_chart(path: &Path, title: &str, series: &[Series]) -> Result<()> {
    let font =
        std::fs::read(FONT_PATH).path_context("reading the chart font", Path::new(FONT_PATH))?;
    // plotters keeps registered fonts for the life of the process.
    register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| plot_error(format!("{FONT_PATH} is not a usable font")))?;

    let max = |f: fn(&(f64, f64)) -> f64| {
        series
            .iter()
            .flat_map(|s| s.points.iter().map(f))
            .fold(1.0, f64::max)
    };
    let (x_max, y_max) = (max(|p| p.0), max(|p| p.1) / 1e6 * 1.05);

    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("tokens generated (0: the prompt evaluated)")
        .y_desc("guest instructions, millions (all cores)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(plot_error)?;
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (x, y / 1e6)).collect();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label(s.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(plot_error)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}
