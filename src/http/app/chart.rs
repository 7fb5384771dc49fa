//! Bar charts as inline SVG, drawn on the server: no script, nothing to
//! load, readable by a screen reader (a title and each bar's value as
//! text), and as sharp on a phone as on a desk screen.

use maud::{html, Markup};

/// One bar: its label and value (`None`: nothing to show for it, drawn as
/// a dash).
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
    /// The value as people read it ("42 %", "12 min").
    pub text: String,
}

const BAR: f64 = 56.0;
const HEIGHT: f64 = 120.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 34.0;

/// A bar chart of `bars` scaled to `max` (at least the largest value). A
/// value over `alarm` is drawn red, with its own line.
pub fn bars(title: &str, bars: &[Bar], max: f64, alarm: Option<f64>) -> Markup {
    let top_value = bars
        .iter()
        .filter_map(|b| b.value)
        .fold(max, f64::max)
        .max(f64::MIN_POSITIVE);
    let width = (bars.len().max(1) as f64) * BAR + 8.0;
    let total = TOP + HEIGHT + BOTTOM;
    let y = |v: f64| TOP + HEIGHT - (v / top_value).clamp(0.0, 1.0) * HEIGHT;
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(title)
                viewBox={ "0 0 " (width) " " (total) } width=(width) height=(total) {
                title { (title) }
                line x1="0" x2=(width) y1=(TOP + HEIGHT) y2=(TOP + HEIGHT) stroke="#888" {}
                @if let Some(a) = alarm {
                    line.alarm x1="0" x2=(width) y1=(y(a)) y2=(y(a)) stroke="#c62828" stroke-dasharray="4 3" {}
                }
                @for (i, b) in bars.iter().enumerate() {
                    @let x = 8.0 + i as f64 * BAR;
                    @let over = matches!((b.value, alarm), (Some(v), Some(a)) if v > a);
                    @if let Some(v) = b.value {
                        rect x=(x) y=(y(v)) width=(BAR - 14.0) height=(TOP + HEIGHT - y(v))
                            fill=(if over { "#c62828" } else { "#2e7d32" }) {
                            title { (b.label) ": " (b.text) }
                        }
                    }
                    text x=(x + (BAR - 14.0) / 2.0) y=(b.value.map_or(TOP + HEIGHT, y) - 4.0)
                        text-anchor="middle" font-size="11" { (b.text) }
                    text x=(x + (BAR - 14.0) / 2.0) y=(TOP + HEIGHT + 14.0)
                        text-anchor="middle" font-size="10" { (short(&b.label)) }
                }
            }
            figcaption { (title) }
        }
    }
}

/// A label that fits under its bar.
fn short(label: &str) -> String {
    if label.chars().count() <= 9 {
        label.to_string()
    } else {
        label.chars().take(8).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_alarms_draw_red() {
        let svg = bars(
            "Opt-outs",
            &[
                Bar {
                    label: "Nov 23".into(),
                    value: Some(0.05),
                    text: "5 %".into(),
                },
                Bar {
                    label: "Nov 30".into(),
                    value: None,
                    text: "–".into(),
                },
            ],
            0.0,
            Some(0.03),
        )
        .into_string();
        assert!(svg.contains("<svg") && svg.contains("<title>Opt-outs</title>"));
        assert_eq!(svg.matches("<rect").count(), 1, "no bar for no value");
        assert!(svg.contains("fill=\"#c62828\""), "{svg}");
        assert!(svg.contains(">5 %<") && svg.contains(">–<"));
    }
}
