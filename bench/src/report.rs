//! Results: per-round measurements, their medians and ratios, the targets
//! checked against them, and the files they go to (Markdown, JSON, CSV; the
//! chart is [`crate::chart`]). No dependency: the formats are written by hand.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::deflate::DeflateResult;
use crate::idle::IdleResult;
use crate::micro::MicroResult;
use crate::procfs::{Machine, TICKS_PER_SEC};

/// One server, one payload size, one connection count, one round.
#[derive(Debug, Clone)]
pub struct Measure {
    /// Server name.
    pub server: String,
    /// Payload bytes per message.
    pub size: usize,
    /// Connections, each with one message in flight.
    pub conns: usize,
    /// Round number (from 1).
    pub round: usize,
    /// Echoes completed in the window.
    pub messages: u64,
    /// Length of the window, seconds.
    pub secs: f64,
    /// Server CPU (utime + stime) over the window, ticks.
    pub server_ticks: u64,
    /// Busy CPU of the whole machine over the window, ticks.
    pub machine_ticks: u64,
    /// The load generator's own CPU over the window, ticks.
    pub client_ticks: u64,
    /// Minor page faults of the server over the window.
    pub server_faults: u64,
    /// Why the cell failed (wrong echo, dropped connection...).
    pub error: Option<String>,
}

impl Measure {
    /// Echoes per second.
    pub fn msgs_per_sec(&self) -> f64 {
        self.messages as f64 / self.secs
    }

    /// Payload megabytes (10^6) per second, one way.
    pub fn mb_per_sec(&self) -> f64 {
        self.msgs_per_sec() * self.size as f64 / 1e6
    }

    /// Server CPU per echoed message, microseconds.
    pub fn cpu_us_per_msg(&self) -> f64 {
        if self.messages == 0 {
            return f64::NAN;
        }
        self.server_ticks as f64 / TICKS_PER_SEC * 1e6 / self.messages as f64
    }

    /// Server page faults per echoed message (fresh memory touched).
    pub fn faults_per_msg(&self) -> f64 {
        self.server_faults as f64 / self.messages.max(1) as f64
    }

    /// Share of the window the machine spent on anything but the server
    /// and the load generator (other users, unattributed kernel work), in
    /// percent of all cores.
    pub fn others_pct(&self, cores: usize) -> f64 {
        let others = self
            .machine_ticks
            .saturating_sub(self.server_ticks + self.client_ticks);
        others as f64 / TICKS_PER_SEC / (self.secs * cores as f64) * 100.0
    }
}

/// Medians over the rounds of one cell.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Server name.
    pub server: String,
    /// Payload bytes.
    pub size: usize,
    /// Connections.
    pub conns: usize,
    /// Median echoes per second (0 if any round failed).
    pub msgs_per_sec: f64,
    /// Median payload MB/s.
    pub mb_per_sec: f64,
    /// Median server CPU µs per message.
    pub cpu_us: f64,
    /// Median server CPU use, percent of one core.
    pub cpu_pct: f64,
    /// Median server page faults per message.
    pub faults: f64,
    /// (max - min) / median of msgs/s over the rounds, percent.
    pub spread_rate: f64,
    /// (max - min) / median of CPU per message over the rounds, percent.
    pub spread_cpu: f64,
    /// Rounds measured.
    pub rounds: usize,
    /// First error, if a round failed.
    pub error: Option<String>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn spread(v: &[f64]) -> f64 {
    let max = v.iter().cloned().fold(f64::MIN, f64::max);
    let min = v.iter().cloned().fold(f64::MAX, f64::min);
    (max - min) / median(v.to_vec()) * 100.0
}

/// Groups measures per cell and takes medians.
pub fn summarize(measures: &[Measure]) -> Vec<Summary> {
    let mut groups: BTreeMap<(usize, usize, String), Vec<&Measure>> = BTreeMap::new();
    for m in measures {
        groups
            .entry((m.size, m.conns, m.server.clone()))
            .or_default()
            .push(m);
    }
    groups
        .into_iter()
        .map(|((size, conns, server), ms)| {
            let error = ms.iter().find_map(|m| m.error.clone());
            let ok: Vec<&&Measure> = ms.iter().filter(|m| m.error.is_none()).collect();
            let rates: Vec<f64> = ok.iter().map(|m| m.msgs_per_sec()).collect();
            let cpus: Vec<f64> = ok.iter().map(|m| m.cpu_us_per_msg()).collect();
            let pcts: Vec<f64> = ok
                .iter()
                .map(|m| m.server_ticks as f64 / TICKS_PER_SEC / m.secs * 100.0)
                .collect();
            let failed = error.is_some();
            let msgs_per_sec = if failed { 0.0 } else { median(rates.clone()) };
            Summary {
                mb_per_sec: msgs_per_sec * size as f64 / 1e6,
                msgs_per_sec,
                cpu_us: if failed {
                    f64::NAN
                } else {
                    median(cpus.clone())
                },
                cpu_pct: median(pcts),
                faults: median(ok.iter().map(|m| m.faults_per_msg()).collect()),
                spread_rate: if rates.is_empty() {
                    f64::NAN
                } else {
                    spread(&rates)
                },
                spread_cpu: if cpus.is_empty() {
                    f64::NAN
                } else {
                    spread(&cpus)
                },
                rounds: ms.len(),
                server,
                size,
                conns,
                error,
            }
        })
        .collect()
}

/// The cell of another server at the same size and connections.
fn peer<'a>(all: &'a [Summary], s: &Summary, server: &str) -> Option<&'a Summary> {
    all.iter()
        .find(|o| o.server == server && o.size == s.size && o.conns == s.conns)
}

/// Human size: 64 B, 4 KiB, 1 MiB.
pub fn size_name(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// `a / b` when both are figures.
pub fn ratio(a: f64, b: Option<f64>) -> Option<f64> {
    b.filter(|b| *b > 0.0 && b.is_finite() && a.is_finite())
        .map(|b| a / b)
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{r:.2}×"))
}

/// Everything one run produced.
pub struct Run {
    /// The machine.
    pub machine: Machine,
    /// UTC date and time, `YYYY-MM-DD HH:MM`.
    pub when: String,
    /// The stdws commit measured.
    pub commit: String,
    /// The command line that produced it.
    pub command: String,
    /// Rounds, window and warm-up per cell (seconds).
    pub rounds: usize,
    /// Measurement window per cell, seconds.
    pub window: f64,
    /// Warm-up per cell, seconds.
    pub warmup: f64,
    /// Every measurement.
    pub measures: Vec<Measure>,
    /// Idle tests.
    pub idle: Vec<IdleResult>,
    /// Micro-benchmarks.
    pub micro: Vec<MicroResult>,
    /// Compressed echoes, every round.
    pub deflate: Vec<DeflateResult>,
    /// Total wall time of the run, seconds.
    pub wall_secs: f64,
    /// Messages were binary frames (text otherwise).
    pub binary: bool,
    /// The servers, in the order the run names them (tables and chart).
    pub servers: Vec<String>,
}

/// A target and whether this run meets it.
struct Check {
    what: String,
    met: bool,
    detail: String,
}

const CANDIDATE: &str = "stdws";
const YARDSTICK: &str = "tungstenite";
const FLOOR: &str = "raw";

fn checks(run: &Run, sums: &[Summary]) -> Vec<Check> {
    let mut out = Vec::new();
    let mine: Vec<&Summary> = sums.iter().filter(|s| s.server == CANDIDATE).collect();
    let mut cell_check = |what: &str,
                          pick: &dyn Fn(&Summary) -> bool,
                          f: &dyn Fn(&Summary) -> Option<(f64, bool)>| {
        let mut misses = Vec::new();
        let mut n = 0;
        for s in mine.iter().filter(|s| pick(s)) {
            n += 1;
            match f(s) {
                Some((r, ok)) => {
                    if !ok {
                        misses.push(format!("{} × {} ({r:.2}×)", size_name(s.size), s.conns));
                    }
                }
                None => misses.push(format!("{} × {} (no figure)", size_name(s.size), s.conns)),
            }
        }
        out.push(Check {
            what: what.to_owned(),
            met: n > 0 && misses.is_empty(),
            detail: if n == 0 {
                "not measured".into()
            } else if misses.is_empty() {
                format!("all {n} cells")
            } else {
                format!("missed in {}/{n}: {}", misses.len(), misses.join(", "))
            },
        });
    };
    let cpu_vs = |server: &'static str, limit: f64| {
        move |s: &Summary| {
            ratio(s.cpu_us, peer(sums, s, server).map(|p| p.cpu_us)).map(|r| (r, r <= limit))
        }
    };
    let rate_vs = |server: &'static str, limit: f64| {
        move |s: &Summary| {
            ratio(
                s.msgs_per_sec,
                peer(sums, s, server).map(|p| p.msgs_per_sec),
            )
            .map(|r| (r, r >= limit))
        }
    };
    let low_conns = |s: &Summary| s.conns <= 16;
    cell_check(
        "server CPU per message ≤ 1.15× raw echo (1 and 16 connections)",
        &low_conns,
        &cpu_vs(FLOOR, 1.15),
    );
    cell_check(
        "server CPU per message ≤ 1.10× raw echo (4 KiB × 16)",
        &|s| s.size == 4 << 10 && s.conns == 16,
        &cpu_vs(FLOOR, 1.10),
    );
    cell_check(
        "server CPU per message ≤ 1.15× raw echo (64 KiB × 16)",
        &|s| s.size == 64 << 10 && s.conns == 16,
        &cpu_vs(FLOOR, 1.15),
    );
    cell_check(
        "server CPU per message ≤ 0.8× tungstenite (1 and 16 connections)",
        &low_conns,
        &cpu_vs(YARDSTICK, 0.8),
    );
    cell_check(
        "messages/s ≥ 1.0× tungstenite (every cell)",
        &|_| true,
        &rate_vs(YARDSTICK, 1.0),
    );
    cell_check(
        "messages/s ≥ 1.25× tungstenite (64 B and 4 KiB, 16 and 256 connections)",
        &|s| s.size <= 4096 && s.conns >= 16,
        &rate_vs(YARDSTICK, 1.25),
    );
    cell_check(
        "MB/s ≥ 1.3× tungstenite at 1 MiB",
        &|s| s.size >= 1 << 20,
        &rate_vs(YARDSTICK, 1.3),
    );
    for i in run
        .idle
        .iter()
        .filter(|i| i.server == CANDIDATE && i.connections >= 10_000)
    {
        let kib = i.kib_per_connection();
        let raw = run
            .idle
            .iter()
            .find(|r| r.server == FLOOR && r.connections == i.connections)
            .map(IdleResult::kib_per_connection);
        out.push(Check {
            what: format!(
                "idle RSS ≤ 16 KiB per connection and below the raw echo at {} connections, echo on all",
                i.connections
            ),
            met: kib <= 16.0 && raw.is_some_and(|r| kib < r) && i.echo_ok == i.connections,
            detail: format!(
                "{kib:.1} KiB (raw {}), echo {}/{}",
                raw.map_or("–".into(), |r| format!("{r:.1} KiB")),
                i.echo_ok,
                i.connections
            ),
        });
    }
    for m in &run.micro {
        out.push(Check {
            what: format!("unmasking ≥ 0.8× memcpy ({})", size_name(m.size)),
            met: m.unmask >= 0.8 * m.memcpy,
            detail: format!("{:.2}×", m.unmask / m.memcpy),
        });
        out.push(Check {
            what: format!(
                "UTF-8 validation ≥ 0.3× memcpy ({}, text)",
                size_name(m.size)
            ),
            met: m.utf8_text >= 0.3 * m.memcpy,
            detail: format!("{:.2}×", m.utf8_text / m.memcpy),
        });
    }
    out
}

/// The table a reader compares servers with: one row per cell, one column
/// per server, `msgs/s · CPU µs per message`, then idle memory.
fn overview(s: &mut String, run: &Run, sums: &[Summary]) {
    s.push_str("## Overview\n\nmsgs/s · server CPU µs per message (medians); idle: RSS per idle connection.\n\n| cell |");
    for name in &run.servers {
        let _ = write!(s, " {name} |");
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(run.servers.len()));
    s.push('\n');
    let mut cells: Vec<(usize, usize)> = sums.iter().map(|x| (x.size, x.conns)).collect();
    cells.dedup();
    for (size, conns) in cells {
        let _ = write!(s, "| {} × {conns} |", size_name(size));
        for name in &run.servers {
            match sums
                .iter()
                .find(|x| &x.server == name && x.size == size && x.conns == conns)
            {
                Some(x) if x.error.is_none() => {
                    let _ = write!(s, " {:.1}k · {:.1} |", x.msgs_per_sec / 1e3, x.cpu_us);
                }
                Some(_) => s.push_str(" failed |"),
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    let mut counts: Vec<usize> = run.idle.iter().map(|i| i.connections).collect();
    counts.sort_unstable();
    counts.dedup();
    for count in counts {
        let _ = write!(s, "| idle KiB/conn @{count} |");
        for name in &run.servers {
            match run
                .idle
                .iter()
                .find(|i| &i.server == name && i.connections == count)
            {
                Some(i) if i.echo_ok == i.connections => {
                    let _ = write!(s, " {:.1} |", i.kib_per_connection());
                }
                Some(i) => {
                    let _ = write!(
                        s,
                        " {:.1} (echo {}/{count}) |",
                        i.kib_per_connection(),
                        i.echo_ok
                    );
                }
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s.push('\n');
}

/// The compression table: medians over the rounds per server.
fn compression(s: &mut String, run: &Run) {
    if run.deflate.is_empty() {
        return;
    }
    let mut names: Vec<&str> = Vec::new();
    for d in &run.deflate {
        if !names.contains(&d.server.as_str()) {
            names.push(&d.server);
        }
    }
    names.sort_by_key(|n| run.servers.iter().position(|s| s == n));
    let conns = run.deflate[0].conns;
    let _ = write!(
        s,
        "\n## Compression: permessage-deflate echo, every server that has it\n\n\
         stdws's client offers permessage-deflate on {conns} connections (one message in flight each, \
         JSON-like text of 100 B to 16 KiB, every echo checked); each server keeps its own default \
         settings (node ws compresses messages of 1 KiB and more). Medians over the rounds.\n\n\
         | server | msgs/s | MB/s (uncompressed) | CPU µs/msg | CPU vs stdws | spread CPU |\n|---|---:|---:|---:|---:|---:|\n"
    );
    let cpu = |name: &str| -> (f64, f64, f64, f64, bool) {
        let ds: Vec<&DeflateResult> = run.deflate.iter().filter(|d| d.server == name).collect();
        let failed = ds.iter().any(|d| d.error.is_some());
        let cpus: Vec<f64> = ds.iter().map(|d| d.cpu_us).collect();
        (
            median(ds.iter().map(|d| d.msgs_per_sec).collect()),
            median(ds.iter().map(|d| d.mb_per_sec).collect()),
            median(cpus.clone()),
            spread(&cpus),
            failed,
        )
    };
    let base = cpu(CANDIDATE).2;
    for name in names {
        let (rate, mb, us, sp, failed) = cpu(name);
        let _ = writeln!(
            s,
            "| {name}{} | {rate:.0} | {mb:.1} | {us:.1} | {} | {sp:.0}% |",
            if failed { " **FAILED**" } else { "" },
            fmt_ratio(ratio(us, Some(base)))
        );
    }
}

/// The Markdown report.
pub fn markdown(run: &Run) -> String {
    let sums = summarize(&run.measures);
    let m = &run.machine;
    let mut s = String::new();
    let _ = writeln!(s, "# stdws benchmark, {}\n", run.when);
    let _ = writeln!(
        s,
        "- Machine: {} × {} cores, Linux {}, {}\n- stdws commit: {}\n- Command: `{}`\n\
         - {} round(s); each cell: {:.1} s warm-up, {:.1} s measured; servers interleaved cell by cell; \
         whole run {:.0} s\n- Load average at start: {}\n",
        m.cpu, m.cores, m.kernel, m.rustc, run.commit, run.command, run.rounds, run.warmup, run.window,
        run.wall_secs, m.loadavg
    );
    let _ = write!(
        s,
        "Closed loop over loopback: each connection has one message in flight ({}, masked by the \
         client, every echoed byte compared). Each server is pinned to core 0 (a tokio runtime there \
         has one worker), the load generator to core 1. Server CPU is the server process's own utime + stime (`/proc/PID/stat`) over the \
         window, divided by the messages echoed in it. MB/s counts payload one way. Figures are \
         medians over the rounds; ratios compare medians of the same run.\n\n",
        if run.binary {
            "binary frames"
        } else {
            "text frames of chat-like JSON, 8% multi-byte bytes, validated by every server"
        }
    );
    overview(&mut s, run, &sums);
    s.push_str("## Echo\n\n");
    s.push_str(
        "| payload | conns | server | msgs/s | MB/s | CPU µs/msg | server CPU | faults/msg | msgs/s vs tungstenite | CPU vs tungstenite | CPU vs raw | spread msgs/s, CPU |\n\
         |---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for x in &sums {
        let t = peer(&sums, x, YARDSTICK);
        let r = peer(&sums, x, FLOOR);
        let err = x
            .error
            .as_ref()
            .map_or(String::new(), |e| format!(" **FAILED: {e}**"));
        let _ = writeln!(
            s,
            "| {} | {} | {}{} | {:.0} | {:.1} | {:.2} | {:.0}% | {:.1} | {} | {} | {} | {:.0}%, {:.0}% |",
            size_name(x.size),
            x.conns,
            x.server,
            err,
            x.msgs_per_sec,
            x.mb_per_sec,
            x.cpu_us,
            x.cpu_pct,
            x.faults,
            fmt_ratio(ratio(x.msgs_per_sec, t.map(|t| t.msgs_per_sec))),
            fmt_ratio(ratio(x.cpu_us, t.map(|t| t.cpu_us))),
            fmt_ratio(ratio(x.cpu_us, r.map(|r| r.cpu_us))),
            x.spread_rate,
            x.spread_cpu,
        );
    }
    if !run.idle.is_empty() {
        s.push_str(
            "\n## Idle connections\n\nEach connection handshaken and used for one 64 B echo, then idle \
             (1.5 s after the last one opened; the server's keep-alive pings answered meanwhile, as a \
             real client does); RSS is the server's VmRSS growth over the count. Afterwards every \
             connection echoes once more.\n\n| server | connections | RSS per connection | threads | echo after idle | open time | pings answered |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
        );
        for i in &run.idle {
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} KiB | {} | {}/{} | {:.1} s | {} |",
                i.server,
                i.connections,
                i.kib_per_connection(),
                i.threads,
                i.echo_ok,
                i.connections,
                i.open_secs,
                i.pings_answered
            );
        }
    }
    compression(&mut s, run);
    if !run.micro.is_empty() {
        s.push_str(
            "\n## Micro-benchmarks (GB/s, best of 5 batches)\n\nThe same buffer each time, in cache as a received frame is. Text: the echo payload (chat-like \
             JSON, 8% multi-byte bytes); dense: Greek and CJK only.\n\n\
             | buffer | memcpy | unmask (in place) | UTF-8 text | UTF-8 ASCII | UTF-8 dense | unmask / memcpy | UTF-8 text / memcpy |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for x in &run.micro {
            let _ = writeln!(
                s,
                "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2}× | {:.2}× |",
                size_name(x.size),
                x.memcpy,
                x.unmask,
                x.utf8_text,
                x.utf8_ascii,
                x.utf8_dense,
                x.unmask / x.memcpy,
                x.utf8_text / x.memcpy
            );
        }
    }
    let checks = checks(run, &sums);
    if !checks.is_empty() {
        s.push_str("\n## Targets\n\n| target | met | detail |\n|---|---|---|\n");
        for c in &checks {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                c.what,
                if c.met { "yes" } else { "**no**" },
                c.detail
            );
        }
    }
    let others: Vec<f64> = run.measures.iter().map(|x| x.others_pct(m.cores)).collect();
    let rate_spreads: Vec<f64> = sums
        .iter()
        .map(|x| x.spread_rate)
        .filter(|x| x.is_finite())
        .collect();
    let cpu_spreads: Vec<f64> = sums
        .iter()
        .map(|x| x.spread_cpu)
        .filter(|x| x.is_finite())
        .collect();
    let _ = writeln!(
        s,
        "\n## Noise\n\nCPU busy outside the server and the load generator during the windows (other \
         processes, unattributed kernel work), in % of all cores: median {:.0}%, max {:.0}%. Spread \
         between rounds ((max − min) / median): msgs/s median {:.0}%, max {:.0}%; CPU per message median \
         {:.0}%, max {:.0}%.",
        median(others.clone()),
        others.iter().cloned().fold(0.0, f64::max),
        median(rate_spreads.clone()),
        rate_spreads.iter().cloned().fold(0.0, f64::max),
        median(cpu_spreads.clone()),
        cpu_spreads.iter().cloned().fold(0.0, f64::max),
    );
    s
}

fn json_str(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "null".into()
    }
}

/// The machine-readable results: every round, plus idle and micro results.
pub fn json(run: &Run) -> String {
    let m = &run.machine;
    let mut s = String::from("{\n");
    let _ = writeln!(
        s,
        "  \"when\": {}, \"commit\": {}, \"command\": {},\n  \"machine\": {{\"cpu\": {}, \"cores\": {}, \"kernel\": {}, \"rustc\": {}, \"loadavg\": {}}},\n  \"rounds\": {}, \"window_secs\": {}, \"warmup_secs\": {}, \"wall_secs\": {}, \"binary\": {},",
        json_str(&run.when), json_str(&run.commit), json_str(&run.command), json_str(&m.cpu), m.cores,
        json_str(&m.kernel), json_str(&m.rustc), json_str(&m.loadavg), run.rounds,
        json_num(run.window), json_num(run.warmup), json_num(run.wall_secs), run.binary
    );
    s.push_str("  \"measures\": [\n");
    let rows: Vec<String> = run
        .measures
        .iter()
        .map(|x| {
            format!(
                "    {{\"server\": {}, \"size\": {}, \"conns\": {}, \"round\": {}, \"messages\": {}, \"secs\": {}, \"server_ticks\": {}, \"client_ticks\": {}, \"machine_ticks\": {}, \"server_faults\": {}, \"msgs_per_sec\": {}, \"cpu_us_per_msg\": {}, \"error\": {}}}",
                json_str(&x.server), x.size, x.conns, x.round, x.messages, json_num(x.secs), x.server_ticks,
                x.client_ticks, x.machine_ticks, x.server_faults, json_num(x.msgs_per_sec()), json_num(x.cpu_us_per_msg()),
                x.error.as_deref().map_or("null".into(), json_str)
            )
        })
        .collect();
    s.push_str(&rows.join(",\n"));
    s.push_str("\n  ],\n  \"idle\": [\n");
    let rows: Vec<String> = run
        .idle
        .iter()
        .map(|i| {
            format!(
                "    {{\"server\": {}, \"connections\": {}, \"rss_before_kib\": {}, \"rss_after_kib\": {}, \"kib_per_connection\": {}, \"threads\": {}, \"echo_ok\": {}}}",
                json_str(&i.server), i.connections, i.rss_before_kib, i.rss_after_kib,
                json_num(i.kib_per_connection()), i.threads, i.echo_ok
            )
        })
        .collect();
    s.push_str(&rows.join(",\n"));
    s.push_str("\n  ],\n  \"micro_gb_per_sec\": [\n");
    let rows: Vec<String> = run
        .micro
        .iter()
        .map(|x| {
            format!(
                "    {{\"size\": {}, \"memcpy\": {}, \"unmask\": {}, \"utf8_text\": {}, \"utf8_ascii\": {}, \"utf8_dense\": {}}}",
                x.size, json_num(x.memcpy), json_num(x.unmask), json_num(x.utf8_text), json_num(x.utf8_ascii), json_num(x.utf8_dense)
            )
        })
        .collect();
    s.push_str(&rows.join(",\n"));
    s.push_str("\n  ]\n}\n");
    s
}

/// One line per cell (medians).
pub fn csv(run: &Run) -> String {
    let mut s = String::from(
        "server,size,conns,rounds,msgs_per_sec,mb_per_sec,cpu_us_per_msg,server_cpu_pct,faults_per_msg,spread_rate_pct,spread_cpu_pct,error\n",
    );
    for x in summarize(&run.measures) {
        let _ = writeln!(
            s,
            "{},{},{},{},{:.0},{:.1},{:.3},{:.1},{:.2},{:.1},{:.1},{}",
            x.server,
            x.size,
            x.conns,
            x.rounds,
            x.msgs_per_sec,
            x.mb_per_sec,
            x.cpu_us,
            x.cpu_pct,
            x.faults,
            x.spread_rate,
            x.spread_cpu,
            x.error.unwrap_or_default().replace(',', ";")
        );
    }
    s
}
