//! Draws a `Figure` on any plotters drawing area: the same code paints the page's canvases and the CLI's
//! PNG files.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::legend::{Corner, Swatch, legend};
use super::raster::Raster;
use super::{Figure, GraphBox, PALETTE, Series};

type Out = Result<(), String>;

fn fail<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing failed: {e:?}")
}

fn colour(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// A colour mixed towards white: `t` = 0 the colour, 1 white.
fn tint(c: RGBColor, t: f64) -> RGBColor {
    let mix = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * t) as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// Lower and upper bound with a little air, never empty.
fn span(v: impl Iterator<Item = f32>) -> (f32, f32) {
    let (lo, hi) = v
        .filter(|x| x.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
    (lo - pad, hi + pad)
}

/// A drawable axis range from whatever a figure holds: finite, increasing, not empty.
fn axis((lo, hi): (f32, f32)) -> (f32, f32) {
    if lo.is_finite() && hi.is_finite() && hi > lo { (lo, hi) } else { span([lo, hi].into_iter()) }
}

type XyChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf32, plotters::coord::types::RangedCoordf32>,
>;

/// The one set-up every x-y figure shares: caption, margins, label areas, the two ranges.
fn xy_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: (f32, f32),
    y: (f32, f32),
) -> Result<XyChart<'a, DB>, String> {
    ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(32)
        .y_label_area_size(48)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(fail)
}

/// Whether a point lies within ten widths of the plotted window. Points farther out (a diverging run's
/// path) are left out: mapping them to pixels would overflow plotters' integer coordinates.
fn near((px, py): (f32, f32), x: (f32, f32), y: (f32, f32)) -> bool {
    let (wx, wy) = ((x.1 - x.0).abs() * 10.0, (y.1 - y.0).abs() * 10.0);
    px.is_finite() && py.is_finite() && px > x.0 - wx && px < x.1 + wx && py > y.0 - wy && py < y.1 + wy
}

/// Where a drawn confusion matrix's cells are: the pixel span of its k columns (`x`, left to right:
/// predicted class 0..k) and k rows (`y`, top to bottom: true class 0..k), each split evenly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Cells {
    pub x: (i32, i32),
    pub y: (i32, i32),
    pub k: usize,
}

/// Draws `fig` filling `area` (cleared to white first).
pub fn draw<DB: DrawingBackend>(fig: &Figure, area: &DrawingArea<DB, Shift>) -> Out {
    draw_cells(fig, area).map(|_| ())
}

/// `draw`, also saying where a confusion matrix's cells landed (`None` for other figures), so a click
/// can be mapped to the cell under it.
pub fn draw_cells<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
) -> Result<Option<Cells>, String> {
    area.fill(&WHITE).map_err(fail)?;
    let mut cells = None;
    match fig {
        Figure::Lines { title, x_label, y_label, series, guide } => {
            lines(area, (title, x_label, y_label), series, guide.as_ref())
        }
        Figure::Scatter { title, x_label, y_label, points, line } => {
            let fit = [Series { label: "fit".into(), points: line.clone() }];
            scatter(area, title, x_label, y_label, points, &fit)
        }
        Figure::Regions { title, x_label, y_label, x, y, cols, cells, points, classes } => {
            regions(area, (title, x_label, y_label), (axis(*x), axis(*y), *cols), cells, points, classes)
        }
        Figure::Contour { title, x_label, y_label, x, y, cols, values, paths } => {
            contour(area, (title, x_label, y_label), (axis(*x), axis(*y), *cols), values, paths)
        }
        Figure::Bars { title, y_label, labels, series } => bars(area, title, y_label, labels, series),
        Figure::Matrix { title, labels, counts } => {
            matrix(area, title, labels, counts).map(|c| cells = Some(c))
        }
        Figure::Graph { title, nodes, edges, shown } => graph(area, title, nodes, edges, *shown),
        Figure::Images { title, width, height, images, captions, columns } => {
            gallery(area, title, (*width, *height), images, captions, *columns)
        }
    }
    .and_then(|_| area.present().map_err(fail))?;
    Ok(cells)
}

fn lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (title, xl, yl): Labels,
    series: &[Series],
    guide: Option<&Series>,
) -> Out {
    let all = || series.iter().chain(guide).flat_map(|s| s.points.iter());
    let (x, y) = (span(all().map(|p| p.0)), span(all().map(|p| p.1)));
    let mut chart = xy_chart(area, title, x, y)?;
    chart.configure_mesh().x_desc(xl).y_desc(yl).light_line_style(WHITE.mix(0.0)).draw().map_err(fail)?;
    if let Some(g) = guide {
        let grey = RGBColor(160, 160, 160);
        chart
            .draw_series(LineSeries::new(
                g.points.iter().copied().filter(|p| p.1.is_finite()),
                grey.stroke_width(1),
            ))
            .map_err(fail)?;
    }
    for (i, s) in series.iter().enumerate() {
        let c = colour(i);
        // A curve of a few epochs: dots, so that one epoch shows as something.
        if s.points.len() <= 30 {
            let dots =
                s.points.iter().copied().filter(|p| p.1.is_finite()).map(|p| Circle::new(p, 3, c.filled()));
            chart.draw_series(dots).map_err(fail)?;
        }
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied().filter(|p| p.1.is_finite()),
                c.stroke_width(2),
            ))
            .map_err(fail)?;
    }
    if series.len() > 1 {
        // The legend goes where the curves end up not being: below rising curves, above falling ones.
        let ends: Vec<f32> = series.iter().filter_map(|s| s.points.last().map(|p| p.1)).collect();
        let mean_end = ends.iter().sum::<f32>() / ends.len().max(1) as f32;
        let corner = if mean_end > (y.0 + y.1) / 2.0 { Corner::Bottom } else { Corner::Top };
        let grey = guide.map(|g| (g.label.clone(), RGBColor(160, 160, 160), Swatch::Line(1)));
        let lines = series.iter().enumerate().map(|(i, s)| (s.label.clone(), colour(i), Swatch::Line(2)));
        let entries: Vec<_> = grey.into_iter().chain(lines).collect();
        legend(&chart.plotting_area().strip_coord_spec(), &entries, corner)?;
    }
    Ok(())
}

fn scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    xl: &str,
    yl: &str,
    points: &[(f32, f32)],
    fit: &[Series],
) -> Out {
    let (x, y) = (span(points.iter().map(|p| p.0)), span(points.iter().map(|p| p.1)));
    let mut chart = xy_chart(area, title, x, y)?;
    chart.configure_mesh().x_desc(xl).y_desc(yl).light_line_style(WHITE.mix(0.0)).draw().map_err(fail)?;
    chart
        .draw_series(
            points
                .iter()
                .filter(|&&p| near(p, x, y))
                .map(|&p| Circle::new(p, 3, colour(0).mix(0.6).filled())),
        )
        .map_err(fail)?;
    for s in fit {
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied().filter(|&p| near(p, x, y)),
                colour(5).stroke_width(3),
            ))
            .map_err(fail)?;
    }
    Ok(())
}

type Labels<'a> = (&'a str, &'a str, &'a str);
type Grid = ((f32, f32), (f32, f32), usize);

fn regions<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (title, xl, yl): Labels,
    (x, y, cols): Grid,
    cells: &[u8],
    points: &[(f32, f32, u8)],
    classes: &[String],
) -> Out {
    let mut chart = xy_chart(area, title, x, y)?;
    // Cell (row r from the bottom, column c) covers [x0 + c·dx, x0 + (c+1)·dx) × [y0 + r·dy, y0 + (r+1)·dy).
    let cols = cols.max(1);
    let rows = cells.len() / cols;
    let (dx, dy) = ((x.1 - x.0) / cols as f32, (y.1 - y.0) / rows.max(1) as f32);
    let plot = chart.plotting_area().strip_coord_spec();
    let palette: Vec<RGBColor> = (0..=u8::MAX).map(|k| tint(colour(usize::from(k)), 0.7)).collect();
    let colours: Vec<RGBColor> = cells.iter().map(|&k| palette[usize::from(k)]).collect();
    // `as usize` saturates: a pixel left of or below the grid maps to cell 0, like the grid's edge.
    let at = ((move |v: f32| ((v - x.0) / dx) as usize), (move |v: f32| ((v - y.0) / dy) as usize));
    let mut heat = Raster::cells(&plot, (x, y), at, cols, &colours);
    // The points go into the same image: six hundred squares would be twelve hundred canvas calls.
    for &(px, py, k) in points.iter().filter(|p| near((p.0, p.1), x, y)) {
        heat.mark((x, y), (px, py), 3, (colour(usize::from(k)), WHITE));
    }
    plot.draw(&heat).map_err(fail)?;
    chart.configure_mesh().x_desc(xl).y_desc(yl).disable_mesh().draw().map_err(fail)?;
    let entries: Vec<_> =
        classes.iter().enumerate().map(|(k, name)| (name.clone(), colour(k), Swatch::Dot)).collect();
    legend(&plot, &entries, Corner::Middle)
}

fn contour<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (title, xl, yl): Labels,
    (x, y, cols): Grid,
    values: &[f32],
    paths: &[Series],
) -> Out {
    let mut chart = xy_chart(area, title, x, y)?;
    // A signed log scale, sign(v)·ln(1 + |v|): a bowl's rim would otherwise swamp its floor, and saddles
    // and the quintic go negative.
    let logs: Vec<f32> = values.iter().map(|v| v.signum() * v.abs().ln_1p()).collect();
    let (lo, hi) = span(logs.iter().copied());
    let rows = values.len() / cols.max(1);
    let (dx, dy) = (
        (x.1 - x.0) / cols.saturating_sub(1).max(1) as f32,
        (y.1 - y.0) / rows.saturating_sub(1).max(1) as f32,
    );
    // Ten bands, dark at the minimum: the bands' edges are the contour lines.
    let bands: Vec<u8> = logs
        .iter()
        .map(|&v| ((v - lo) / (hi - lo).max(1e-9) * 10.0).floor().clamp(0.0, 10.0) as u8)
        .collect();
    // Values are samples at grid points (x0 + c·dx, y0 + r·dy); each pixel takes the nearest one's band.
    let (cols, rows) = (cols.max(1), rows.max(1));
    let plot = chart.plotting_area().strip_coord_spec();
    let shades: Vec<RGBColor> = (0..=10).map(|band| tint(colour(0), 0.15 + 0.08 * f64::from(band))).collect();
    let colours: Vec<RGBColor> = bands.iter().map(|&b| shades[usize::from(b)]).collect();
    let nearest =
        move |v: f32, lo: f32, d: f32, n: usize| (((v - lo) / d).round().max(0.0) as usize).min(n - 1);
    let at = (move |v: f32| nearest(v, x.0, dx, cols), move |v: f32| nearest(v, y.0, dy, rows));
    let heat = Raster::cells(&plot, (x, y), at, cols, &colours);
    plot.draw(&heat).map_err(fail)?;
    chart.configure_mesh().x_desc(xl).y_desc(yl).disable_mesh().draw().map_err(fail)?;
    let show_legend = paths.len() > 1;
    for (i, s) in paths.iter().enumerate() {
        // One path: a colour that stands out on the blue bands; several: the colours of the loss plot.
        let c = if paths.len() == 1 { colour(5) } else { colour(i) };
        let path = s.points.iter().copied().filter(|&p| near(p, x, y));
        chart.draw_series(LineSeries::new(path, c.stroke_width(2))).map_err(fail)?;
        let inside: Vec<(f32, f32)> = s.points.iter().copied().filter(|&p| near(p, x, y)).collect();
        if let (Some(&first), Some(&last)) = (inside.first(), inside.last()) {
            chart
                .draw_series([Circle::new(first, 5, BLACK.filled()), Circle::new(last, 5, c.filled())])
                .map_err(fail)?;
        }
    }
    if show_legend {
        let entries: Vec<_> =
            paths.iter().enumerate().map(|(i, s)| (s.label.clone(), colour(i), Swatch::Line(2))).collect();
        legend(&plot, &entries, Corner::Middle)?;
    }
    Ok(())
}

fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    yl: &str,
    labels: &[String],
    series: &[(String, Vec<f32>)],
) -> Out {
    let top =
        series.iter().flat_map(|s| s.1.iter().copied()).filter(|v| v.is_finite()).fold(1.0f32, f32::max);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(48)
        .build_cartesian_2d(0f32..labels.len().max(1) as f32, 0f32..top * 1.1)
        .map_err(fail)?;
    let short =
        |v: &f32| labels.get(v.floor() as usize).map(|l| l.chars().take(14).collect()).unwrap_or_default();
    chart
        .configure_mesh()
        .y_desc(yl)
        .x_labels(labels.len().max(1) * 2)
        .x_label_formatter(&|v: &f32| if v.fract() == 0.5 { short(v) } else { String::new() })
        .disable_mesh()
        .draw()
        .map_err(fail)?;
    let width = 0.8 / series.len().max(1) as f32;
    for (k, (_, values)) in series.iter().enumerate() {
        let c = colour(k);
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                let x0 = i as f32 + 0.1 + k as f32 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, v.max(0.0))], c.filled())
            }))
            .map_err(fail)?;
    }
    let entries: Vec<_> =
        series.iter().enumerate().map(|(k, (name, _))| (name.clone(), colour(k), Swatch::Bar)).collect();
    legend(&chart.plotting_area().strip_coord_spec(), &entries, Corner::Middle)
}

/// Row-normalised counts as a blue heat map, the count written in each cell; rows are true classes,
/// the first class on top as in a table.
fn matrix<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    labels: &[String],
    counts: &[u32],
) -> Result<Cells, String> {
    let k = labels.len();
    if k < 2 || counts.len() != k * k {
        return Err(format!("a confusion matrix needs {k}x{k} counts, got {}", counts.len()));
    }
    let kk = k as i32;
    let short =
        |i: i32| labels.get(i as usize).map(|l| l.chars().take(9).collect::<String>()).unwrap_or_default();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 14))
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((0..kk - 1).into_segmented(), (0..kk - 1).into_segmented())
        .map_err(fail)?;
    // Segment y = k − 1 − row holds row `row`.
    let name = |v: &SegmentValue<i32>, flip: bool| match v {
        SegmentValue::CenterOf(i) => short(if flip { kk - 1 - i } else { *i }),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(k)
        .y_labels(k)
        .x_label_formatter(&|v| name(v, false))
        .y_label_formatter(&|v| name(v, true))
        .x_desc("predicted")
        .y_desc("true")
        .draw()
        .map_err(fail)?;
    for r in 0..k {
        let row = &counts[r * k..(r + 1) * k];
        let total = row.iter().sum::<u32>().max(1) as f64;
        let y = kk - 1 - r as i32;
        chart
            .draw_series(row.iter().enumerate().map(|(c, &n)| {
                let share = f64::from(n) / total;
                let (x0, x1) = (SegmentValue::Exact(c as i32), SegmentValue::Exact(c as i32 + 1));
                let fill = tint(colour(0), 1.0 - share * 0.9).filled();
                Rectangle::new([(x0, SegmentValue::Exact(y)), (x1, SegmentValue::Exact(y + 1))], fill)
            }))
            .map_err(fail)?;
        let style =
            |share: f64| ("sans-serif", 11).into_font().color(if share > 0.5 { &WHITE } else { &BLACK });
        chart
            .draw_series(row.iter().enumerate().filter(|(_, n)| **n > 0).map(|(c, &n)| {
                let at = (SegmentValue::CenterOf(c as i32), SegmentValue::CenterOf(y));
                Text::new(n.to_string(), at, style(f64::from(n) / total))
            }))
            .map_err(fail)?;
    }
    let (x, y) = chart.plotting_area().get_pixel_range();
    Ok(Cells { x: (x.start, x.end), y: (y.start, y.end), k })
}

/// Small grayscale images in a grid, each with its caption underneath; each image is one `Raster`.
fn gallery<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    (w, h): (usize, usize),
    images: &[Vec<f32>],
    captions: &[String],
    columns: usize,
) -> Out {
    let body = area.titled(title, ("sans-serif", 14)).map_err(fail)?;
    if images.is_empty() || w == 0 || h == 0 {
        body.draw(&Text::new("nothing to show", (10, 10), ("sans-serif", 12))).map_err(fail)?;
        return Ok(());
    }
    let cols = if columns > 0 { columns } else { (images.len() as f64).sqrt().ceil() as usize };
    let rows = images.len().div_ceil(cols);
    for (i, cell) in body.split_evenly((rows, cols)).into_iter().enumerate().take(images.len()) {
        let (cw, ch) = cell.dim_in_pixel();
        let caption_h = 14;
        let px = ((cw as usize).saturating_sub(4) / w)
            .min((ch as usize).saturating_sub(caption_h + 4) / h)
            .max(1) as i32;
        let x0 = (cw as i32 - px * w as i32) / 2;
        let image = &images[i];
        let raster = if image.len() == 3 * w * h { Raster::rgb } else { Raster::gray };
        cell.draw(&raster((x0, 2), (w, h), image, px as u32)).map_err(fail)?;
        if let Some(text) = captions.get(i) {
            let y = 4 + h as i32 * px;
            cell.draw(&Text::new(text.clone(), (x0, y), ("sans-serif", 11))).map_err(fail)?;
        }
    }
    Ok(())
}

/// Boxes in columns by layer (leaves on the left, the loss on the right) and arrows from inputs to outputs.
/// A long graph wraps into bands of at most six columns, one under the other. With `shown = Some(k)` only
/// the last k nodes (the ones backward has reached) show their gradient, the newest outlined.
fn graph<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    nodes: &[GraphBox],
    edges: &[(usize, usize)],
    shown: Option<usize>,
) -> Out {
    let body = area.titled(title, ("sans-serif", 14)).map_err(fail)?;
    let (w, h) = body.dim_in_pixel();
    let layers = nodes.iter().map(|n| n.layer + 1).max().unwrap_or(1);
    let bands = layers.div_ceil(6);
    let per_band = layers.div_ceil(bands);
    let rows = (0..layers).map(|l| nodes.iter().filter(|n| n.layer == l).count()).max().unwrap_or(1).max(1);
    let (col_w, band_h) = (w as i32 / per_band as i32, h as i32 / bands as i32);
    let (bw, bh) = ((col_w - 16).max(40), (band_h / rows as i32 - 6).clamp(16, 58));
    let at = |n: &GraphBox| {
        let in_layer = nodes.iter().filter(|m| m.layer == n.layer).count().max(1) as i32;
        let (band, col) = ((n.layer / per_band) as i32, (n.layer % per_band) as i32);
        let x = col * col_w + 8;
        let y = band * band_h + (band_h * (2 * n.slot as i32 + 1)) / (2 * in_layer) - bh / 2;
        (x, y)
    };
    let reached = |i: usize| shown.is_none_or(|k| i + k >= nodes.len());
    for &(from, to) in edges {
        let (Some(a), Some(b)) = (nodes.get(from), nodes.get(to)) else { continue };
        let ((ax, ay), (bx, by)) = (at(a), at(b));
        let (p, q) = ((ax + bw, ay + bh / 2), (bx, by + bh / 2));
        body.draw(&PathElement::new(vec![p, q], BLACK.mix(0.5).stroke_width(1))).map_err(fail)?;
        body.draw(&Circle::new(q, 3, BLACK.mix(0.6).filled())).map_err(fail)?;
    }
    for (i, n) in nodes.iter().enumerate() {
        let (x, y) = at(n);
        let fill = if n.leaf { tint(colour(1), 0.6) } else { tint(colour(0), 0.75) };
        body.draw(&Rectangle::new([(x, y), (x + bw, y + bh)], fill.filled())).map_err(fail)?;
        let newest = shown.is_some_and(|k| k > 0 && i + k == nodes.len());
        let border = if newest { colour(5).stroke_width(3) } else { BLACK.mix(0.4).stroke_width(1) };
        body.draw(&Rectangle::new([(x, y), (x + bw, y + bh)], border)).map_err(fail)?;
        body.draw(&Text::new(n.label.clone(), (x + 4, y + 3), ("sans-serif", 12))).map_err(fail)?;
        // The value on the second line and the gradient on the third, where the box has room.
        let grad = n.grad.clone().filter(|_| reached(i));
        for (k, line) in [Some(n.detail.clone()), grad].into_iter().enumerate() {
            let top = 18 + 15 * k as i32;
            if let Some(line) = line.filter(|_| top + 12 <= bh) {
                body.draw(&Text::new(line, (x + 4, y + top), ("sans-serif", 11))).map_err(fail)?;
            }
        }
    }
    Ok(())
}
