//! Charts as inline SVG, so `report.html` stays one self-contained file (no
//! scripts, no external assets). A [`Plot`] is a plot area with a legend
//! column beside it (no label ever sits on a curve or on another label); axes
//! are linear, log-odds (probabilities) or by decade. [`bars`] draws ranked
//! horizontal bars. What each chart shows is `charts`' business, not this.

use std::fmt::Write as _;

use super::escape;

/// How an axis maps values to pixels and labels its ticks.
#[derive(Clone, Copy)]
pub(super) enum Scale {
    /// Plain values.
    Linear,
    /// Probabilities on the log-odds axis: `ln(p / (1 − p))`; ticks read as probabilities.
    LogOdds,
    /// Positive values by decade.
    Log10,
}

#[derive(Clone, Copy)]
pub(super) struct Axis<'a> {
    pub label: &'a str,
    pub scale: Scale,
    /// Range in axis units (log-odds or log10 for those scales).
    pub lo: f64,
    pub hi: f64,
}

impl Axis<'_> {
    fn unit(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => v,
            Scale::LogOdds => {
                let p = v.clamp(1e-300, 1.0 - 1e-16);
                (p / (1.0 - p)).ln()
            }
            Scale::Log10 => v.max(1e-300).log10(),
        }
    }

    /// Where a value sits on [0, 1] of the axis (clamped).
    fn frac(&self, v: f64) -> f64 {
        ((self.unit(v) - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    /// Candidate ticks (value, label), in order; [`spaced`] keeps those with room.
    fn ticks(&self) -> Vec<(f64, String)> {
        match self.scale {
            Scale::Linear => self.linear_ticks(),
            Scale::LogOdds => self.log_odds_ticks(),
            Scale::Log10 => (self.lo.ceil() as i32..=self.hi.floor() as i32)
                .map(|e| {
                    (
                        10f64.powi(e),
                        if (0..=3).contains(&e) { format!("{}", 10i64.pow(e as u32)) } else { format!("1e{e}") },
                    )
                })
                .collect(),
        }
    }

    /// About six ticks at a round step (1, 2, 2.5 or 5 times a power of ten).
    fn linear_ticks(&self) -> Vec<(f64, String)> {
        let raw = (self.hi - self.lo) / 6.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(mag * 10.0);
        let first = (self.lo / step).ceil() as i64;
        let last = (self.hi / step).floor() as i64;
        (first..=last).map(|k| k as f64 * step).map(|v| (v, tick_text(v, step))).collect()
    }

    /// Probabilities people read: decades near 0, 0.5, and nines near 1.
    fn log_odds_ticks(&self) -> Vec<(f64, String)> {
        let in_range = |u: f64| u >= self.lo - 1e-9 && u <= self.hi + 1e-9;
        let mut ps: Vec<f64> = (1..=12).rev().map(|k| 10f64.powi(-k)).collect();
        ps.extend([0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0 - 1e-6, 1.0 - 1e-8, 1.0 - 1e-10]);
        ps.into_iter()
            .filter(|&p| in_range(self.unit(p)))
            .map(|p| {
                let label = if p < 0.01 {
                    format!("1e{}", p.log10().round())
                } else if p > 0.999 {
                    format!("1-1e{}", (1.0 - p).log10().round())
                } else {
                    format!("{p}")
                };
                (p, label)
            })
            .collect()
    }
}

fn tick_text(v: f64, step: f64) -> String {
    let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
    if step >= 1000.0 || v.abs() >= 10_000.0 {
        format!("{}k", v / 1000.0)
    } else if step >= 1.0 {
        format!("{v:.0}")
    } else if step >= 0.1 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The log-odds range covering `values` (probabilities), padded, within ±25.
pub(super) fn log_odds_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && *v < 1.0)
        .map(|p| (p / (1.0 - p)).ln())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), z| (lo.min(z), hi.max(z)));
    if !lo.is_finite() {
        return (-10.0, 10.0);
    }
    ((lo - 0.5).max(-25.0).floor(), (hi + 0.5).min(25.0).ceil())
}

/// How a series is drawn.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Mark {
    /// Joined points.
    Line,
    /// Steps: horizontal, then vertical (a precision–recall curve's shape).
    Steps,
    /// Dashed vertical line at each point's x (a threshold).
    VLine,
    /// Dashed horizontal line at each point's y (a level).
    HLine,
    /// Dots, radius from [`Series::radii`].
    Dots,
}

pub(super) struct Series<'a> {
    pub name: String,
    pub color: &'a str,
    pub mark: Mark,
    pub points: Vec<(f64, f64)>,
    /// Dot radius per point (Dots only).
    pub radii: Vec<f64>,
}

impl<'a> Series<'a> {
    pub fn new(name: impl Into<String>, color: &'a str, mark: Mark, points: Vec<(f64, f64)>) -> Series<'a> {
        Series { name: name.into(), color, mark, points, radii: Vec::new() }
    }
}

/// A chart: plot area on the left, legend on the right, ticks thinned to what fits.
pub(super) struct Plot<'a> {
    pub title: String,
    pub x: Axis<'a>,
    pub y: Axis<'a>,
    pub series: Vec<Series<'a>>,
    /// Draw the y = x diagonal (reliability diagrams).
    pub diagonal: bool,
}

const PLOT_W: f64 = 600.0;
const PLOT_H: f64 = 330.0;
const LEFT: f64 = 62.0;
const TOP: f64 = 34.0;
const LEGEND_W: f64 = 190.0;
const BOTTOM: f64 = 46.0;
/// Legend text is cut to what fits its column (font 11 ≈ 6.2 px per character).
const LEGEND_CHARS: usize = 27;

/// The plot area in pixels and how values map into it.
struct Area<'a> {
    x: Axis<'a>,
    y: Axis<'a>,
    w: f64,
    h: f64,
}

impl Area<'_> {
    fn px(&self, v: f64) -> f64 {
        LEFT + self.x.frac(v) * self.w
    }

    fn py(&self, v: f64) -> f64 {
        TOP + (1.0 - self.y.frac(v)) * self.h
    }

    fn right(&self) -> f64 {
        LEFT + self.w
    }

    fn bottom(&self) -> f64 {
        TOP + self.h
    }
}

/// `axis`'s ticks at their pixel positions (`at`), thinned so labels keep `gap` pixels apart.
fn spaced(axis: &Axis, at: impl Fn(f64) -> f64, gap: f64) -> Vec<(f64, String)> {
    let mut last: Option<f64> = None;
    let mut kept = Vec::new();
    for (v, label) in axis.ticks() {
        let pos = at(v);
        if last.is_some_and(|last| (pos - last).abs() < gap) {
            continue;
        }
        last = Some(pos);
        kept.push((pos, label));
    }
    kept
}

impl Plot<'_> {
    /// The chart as one `<svg>` element.
    pub fn render(&self) -> String {
        let area = Area { x: self.x, y: self.y, w: PLOT_W - LEFT - LEGEND_W, h: PLOT_H - TOP - BOTTOM };
        // Clip paths need ids unique in the page: the title's hash.
        let id = self.title.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
        let mut s = String::new();
        self.open(&mut s, &area, id);
        grid(&mut s, &area);
        self.frame(&mut s, &area);
        let _ = write!(s, r#"<g clip-path="url(#c{id})">"#);
        if self.diagonal {
            diagonal(&mut s, &area);
        }
        for series in &self.series {
            draw(&mut s, &area, series);
        }
        s.push_str("</g>");
        self.legend(&mut s, &area);
        s.push_str("</svg>");
        s
    }

    /// The `<svg>` start, the plot area's clip path and the title.
    fn open(&self, s: &mut String, area: &Area, id: u32) {
        let (pw, ph) = (area.w, area.h);
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {PLOT_W} {PLOT_H}" width="{PLOT_W}" height="{PLOT_H}" role="img" aria-label="{t}"><defs><clipPath id="c{id}"><rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}"/></clipPath></defs>"#,
            t = escape(&self.title)
        );
        let _ =
            write!(s, r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>"#, escape(&self.title));
    }

    /// The plot area's border and both axis labels.
    fn frame(&self, s: &mut String, area: &Area) {
        let (pw, ph) = (area.w, area.h);
        let _ = write!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/><text x="{cx}" y="{by}" font-size="12" text-anchor="middle">{xl}</text><text x="14" y="{cy}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {cy})">{yl}</text>"##,
            cx = LEFT + pw / 2.0,
            by = PLOT_H - 8.0,
            xl = escape(self.x.label),
            cy = TOP + ph / 2.0,
            yl = escape(self.y.label),
        );
    }

    /// One row per series, in the legend's own column.
    fn legend(&self, s: &mut String, area: &Area) {
        let lx = area.right() + 14.0;
        for (k, sr) in self.series.iter().enumerate() {
            let ly = TOP + 10.0 + 17.0 * k as f64;
            if ly > PLOT_H - 10.0 {
                break;
            }
            let name: String = if sr.name.chars().count() > LEGEND_CHARS {
                sr.name.chars().take(LEGEND_CHARS - 1).chain(['…']).collect()
            } else {
                sr.name.clone()
            };
            let _ = write!(
                s,
                r#"{}<text x="{}" y="{ly}" font-size="11">{}</text>"#,
                swatch(sr, lx, ly),
                lx + 19.0,
                escape(&name)
            );
        }
    }
}

/// Grid lines and tick labels, thinned so labels keep ≥ 46 px (x) and ≥ 18 px (y) apart.
fn grid(s: &mut String, area: &Area) {
    for (x, label) in spaced(&area.x, |v| area.px(v), 46.0) {
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{y1}" stroke="#e3e3e3"/><text x="{x:.1}" y="{ty}" font-size="11" text-anchor="middle">{label}</text>"##,
            y1 = area.bottom(),
            ty = area.bottom() + 19.0,
        );
    }
    for (y, label) in spaced(&area.y, |v| area.py(v), 18.0) {
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#e3e3e3"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end">{label}</text>"##,
            x1 = area.right(),
            tx = LEFT - 5.0,
            ty = y + 4.0,
        );
    }
}

/// The y = x line over the range both axes share (decade axes).
fn diagonal(s: &mut String, area: &Area) {
    let (lo, hi) = (area.x.lo.max(area.y.lo), area.x.hi.min(area.y.hi));
    let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
    let _ = write!(
        s,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#888" stroke-dasharray="2 3"/>"##,
        area.px(a),
        area.py(a),
        area.px(b),
        area.py(b)
    );
}

/// One series in the plot area, as its mark says.
fn draw(s: &mut String, area: &Area, sr: &Series) {
    match sr.mark {
        Mark::Line | Mark::Steps => {
            let mut pts = Vec::with_capacity(sr.points.len() * 2);
            for (k, &(x, y)) in sr.points.iter().enumerate() {
                if sr.mark == Mark::Steps && k > 0 {
                    pts.push(format!("{:.1},{:.1}", area.px(x), area.py(sr.points[k - 1].1)));
                }
                pts.push(format!("{:.1},{:.1}", area.px(x), area.py(y)));
            }
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{}" stroke-width="1.6" points="{}"/>"#,
                sr.color,
                pts.join(" ")
            );
        }
        Mark::VLine => {
            for &(x, _) in &sr.points {
                let _ = write!(
                    s,
                    r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{y1}" stroke="{c}" stroke-width="1.4" stroke-dasharray="5 3"/>"#,
                    x = area.px(x),
                    y1 = area.bottom(),
                    c = sr.color
                );
            }
        }
        Mark::HLine => {
            for &(_, y) in &sr.points {
                let _ = write!(
                    s,
                    r#"<line x1="{LEFT}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="{c}" stroke-width="1.4" stroke-dasharray="2 3"/>"#,
                    y = area.py(y),
                    x1 = area.right(),
                    c = sr.color
                );
            }
        }
        Mark::Dots => {
            for (k, &(x, y)) in sr.points.iter().enumerate() {
                let r = sr.radii.get(k).copied().unwrap_or(3.0);
                let _ = write!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="{r:.1}" fill="{c}" fill-opacity="0.7" stroke="{c}"/>"#,
                    area.px(x),
                    area.py(y),
                    c = sr.color
                );
            }
        }
    }
}

/// A series' legend symbol, drawn like its mark, left of the text at (`lx`, `ly`).
fn swatch(sr: &Series, lx: f64, ly: f64) -> String {
    match sr.mark {
        Mark::Dots => format!(r#"<circle cx="{}" cy="{}" r="4" fill="{}"/>"#, lx + 7.0, ly - 4.0, sr.color),
        Mark::VLine | Mark::HLine => format!(
            r#"<line x1="{lx}" y1="{y}" x2="{x2}" y2="{y}" stroke="{}" stroke-width="2" stroke-dasharray="4 2"/>"#,
            sr.color,
            y = ly - 4.0,
            x2 = lx + 14.0
        ),
        Mark::Line | Mark::Steps => {
            format!(r#"<rect x="{lx}" y="{}" width="14" height="3" fill="{}"/>"#, ly - 5.5, sr.color)
        }
    }
}

/// Horizontal bars, longest first, at most `most` of them, each named and labelled with its value.
pub(super) fn bars(names: &[String], values: &[f64], most: usize) -> String {
    let mut ranked: Vec<(&str, f64)> = names.iter().map(String::as_str).zip(values.iter().copied()).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(most);
    let top = ranked.first().map_or(1.0, |r| r.1).max(1e-12);
    // Room for the longest name (a team's own names are longer than V14), ~7 px a character at 12 px.
    let longest = ranked.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0);
    let label_w = (longest as f64 * 7.0 + 8.0).clamp(60.0, 460.0);
    let (w, bar_h) = (label_w + 460.0, 18.0);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}">"#,
        ranked.len() as f64 * bar_h + 10.0
    );
    for (i, (name, v)) in ranked.iter().enumerate() {
        let y = i as f64 * bar_h + 5.0;
        let len = v / top * (w - label_w - 110.0);
        let _ = write!(
            svg,
            r##"<text x="{label_w}" y="{ty}" font-size="12" text-anchor="end">{name}</text><rect x="{rx}" y="{y}" width="{len:.1}" height="{bh}" fill="#1f77b4"/><text x="{tx:.1}" y="{ty}" font-size="11">{v:.4}</text>"##,
            ty = y + 13.0,
            bh = bar_h - 4.0,
            rx = label_w + 6.0,
            tx = label_w + 10.0 + len,
            name = escape(name),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_escapes_and_clamps() {
        let svg = Plot {
            title: "a<b".into(),
            x: Axis { label: "x", scale: Scale::Linear, lo: 0.0, hi: 1.0 },
            y: Axis { label: "y", scale: Scale::LogOdds, lo: -5.0, hi: 5.0 },
            series: vec![Series::new("s&t", "#000", Mark::Steps, vec![(0.0, 0.0), (2.0, 1.0)])],
            diagonal: false,
        }
        .render();
        assert!(svg.contains("a&lt;b") && svg.contains("s&amp;t"));
        assert!(!svg.contains("<b"), "no raw markup from titles");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "every coordinate is finite");
    }

    #[test]
    fn log_odds_ticks_fit_their_range() {
        let axis = Axis { label: "", scale: Scale::LogOdds, lo: -12.0, hi: 8.0 };
        let ticks = axis.ticks();
        assert!(ticks.iter().any(|t| t.1 == "0.5") && ticks.iter().any(|t| t.1 == "1e-5"));
        assert!(ticks.iter().all(|t| (-12.0..=8.0).contains(&axis.unit(t.0))));
    }
}
