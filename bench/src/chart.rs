//! The SVG chart of a run: two panels of grouped bars, one group per cell
//! (payload × connections), one bar per WebSocket server. Top: server CPU
//! per message relative to the raw TCP echo (lower is better; the line at
//! 1 is the cost of a blocking read and write per message). Bottom:
//! messages per second relative to the raw echo (higher is better).

use std::fmt::Write as _;

use crate::report::{ratio, size_name, summarize, Run, Summary};

/// The server every bar is relative to.
const FLOOR: &str = "raw";

/// One colour per server, in the run's order (stdws first).
const COLORS: &[&str] = &[
    "#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d69e2e", "#e53e3e", "#319795", "#718096",
];

/// A panel: its title and the figure compared.
type Panel = (&'static str, fn(&Summary) -> f64);

/// The chart of `run`.
pub fn svg(run: &Run) -> String {
    let sums = summarize(&run.measures);
    let mut cells: Vec<(usize, usize)> = sums.iter().map(|s| (s.size, s.conns)).collect();
    cells.dedup();
    let shown: Vec<&str> = run
        .servers
        .iter()
        .map(String::as_str)
        .filter(|n| *n != FLOOR)
        .collect();
    let (w, panel_h, top, left, gap) = (1200.0, 230.0, 40.0, 60.0, 70.0);
    let plot_w = w - left - 20.0;
    let group_w = plot_w / cells.len().max(1) as f64;
    let legend_rows = shown.len().div_ceil(4) as f64;
    let h = top + 2.0 * panel_h + gap + 50.0 + 18.0 * legend_rows;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{left}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Echo servers against the raw TCP echo (one message in flight per connection), {}</text>\n",
        run.when
    );
    let panels: [Panel; 2] = [
        (
            "Server CPU per message, × raw TCP echo (lower is better)",
            |x| x.cpu_us,
        ),
        (
            "Messages per second, × raw TCP echo (higher is better)",
            |x| x.msgs_per_sec,
        ),
    ];
    let find = |name: &str, size: usize, conns: usize| {
        sums.iter()
            .find(|x| x.server == name && x.size == size && x.conns == conns)
    };
    for (p, (title, value)) in panels.iter().enumerate() {
        let y0 = top + p as f64 * (panel_h + gap);
        let ratios: Vec<Vec<f64>> = cells
            .iter()
            .map(|&(size, conns)| {
                let base = find(FLOOR, size, conns).map(value);
                shown
                    .iter()
                    .map(|name| {
                        find(name, size, conns)
                            .and_then(|x| ratio(value(x), base))
                            .unwrap_or(0.0)
                    })
                    .collect()
            })
            .collect();
        let max = ratios.iter().flatten().cloned().fold(1.5, f64::max).ceil();
        let ys = |v: f64| y0 + 20.0 + (panel_h - 20.0) * (1.0 - v / max);
        let _ = writeln!(
            s,
            "<text x=\"{left}\" y=\"{}\" font-size=\"12\" font-weight=\"bold\">{title}</text>",
            y0 + 10.0
        );
        let step = if max > 8.0 {
            2.0
        } else if max > 4.0 {
            1.0
        } else {
            0.5
        };
        let mut tick = 0.0;
        while tick <= max {
            let y = ys(tick);
            let _ = writeln!(
                s,
                "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{}\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{tick:.1}</text>",
                w - 20.0,
                if tick == 1.0 { "#000" } else { "#ddd" },
                left - 6.0,
                y + 4.0
            );
            tick += step;
        }
        for (c, &(size, conns)) in cells.iter().enumerate() {
            let gx = left + c as f64 * group_w;
            let bar_w = group_w * 0.8 / shown.len().max(1) as f64;
            for (k, name) in shown.iter().enumerate() {
                let v = ratios[c][k];
                let x = gx + group_w * 0.1 + k as f64 * bar_w;
                let _ = writeln!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{name} {} × {conns}: {v:.2}×</title></rect>",
                    ys(v),
                    (bar_w - 1.0).max(1.0),
                    (ys(0.0) - ys(v)).max(0.0),
                    COLORS[k % COLORS.len()],
                    size_name(size)
                );
            }
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{} × {conns}</text>",
                gx + group_w / 2.0,
                ys(0.0) + 14.0,
                size_name(size)
            );
        }
    }
    let legend_top = top + 2.0 * panel_h + gap + 40.0;
    for (i, name) in shown.iter().enumerate() {
        let x = left + (i % 4) as f64 * 180.0;
        let y = legend_top + (i / 4) as f64 * 18.0;
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{y}\">{name}</text>",
            y - 10.0,
            COLORS[i % COLORS.len()],
            x + 16.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{legend_top}\">payload × connections; the line at 1 is the raw TCP echo</text>",
        left + 740.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::Machine;
    use crate::report::Measure;

    fn measure(server: &str, messages: u64, ticks: u64) -> Measure {
        Measure {
            server: server.into(),
            size: 4096,
            conns: 16,
            round: 1,
            messages,
            secs: 1.0,
            server_ticks: ticks,
            machine_ticks: ticks,
            client_ticks: 0,
            server_faults: 0,
            error: None,
        }
    }

    #[test]
    fn every_websocket_server_gets_a_bar_relative_to_the_raw_echo() {
        let run = Run {
            machine: Machine::describe(),
            when: "2026-01-01 00:00 UTC".into(),
            commit: "x".into(),
            command: "test".into(),
            binary: false,
            rounds: 1,
            window: 1.0,
            warmup: 0.0,
            measures: vec![
                measure("stdws", 1000, 110),
                measure("node ws", 500, 100),
                measure("raw", 1000, 100),
            ],
            idle: Vec::new(),
            micro: Vec::new(),
            deflate: Vec::new(),
            wall_secs: 1.0,
            servers: vec!["stdws".into(), "node ws".into(), "raw".into()],
        };
        let svg = svg(&run);
        // CPU per message: stdws 1.10× raw, node ws 2.00×; msgs/s 1.00× and 0.50×.
        for bar in [
            "stdws 4 KiB × 16: 1.10×",
            "node ws 4 KiB × 16: 2.00×",
            "stdws 4 KiB × 16: 1.00×",
            "node ws 4 KiB × 16: 0.50×",
        ] {
            assert!(svg.contains(bar), "{bar} missing");
        }
        assert!(!svg.contains("<title>raw "));
    }
}
