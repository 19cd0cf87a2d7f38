//! The benchmark harness behind `make bench` (see `bench/run.sh`).
//!
//! ```text
//! bench [--quick] [--rounds N] [--window SECS] [--warmup SECS]
//!       [--sizes 64,4096,...] [--conns 1,16,256] [--idle 1000,10000|none]
//!       [--no-micro] [--no-deflate] [--binary] [--server NAME=PROGRAM[,raw]]... [--out DIR] [--tag TAG]
//! ```
//!
//! Servers run pinned to core 0; run this on core 1 (`taskset -c 1`).

use std::fs;
use std::io;
use std::net::TcpStream;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stdws_bench::chart;
use stdws_bench::deflate;
use stdws_bench::idle;
use stdws_bench::load::Load;
use stdws_bench::micro;
use stdws_bench::procfs::{cpu_ticks, machine_busy_ticks, Machine};
use stdws_bench::report::{self, size_name, Measure, Run};
use stdws_bench::server::{Running, Spec};
use stdws_bench::wire::{connect, Exchange, Protocol};

struct Options {
    rounds: usize,
    window: f64,
    warmup: f64,
    sizes: Vec<usize>,
    conns: Vec<usize>,
    idle: Vec<usize>,
    micro: bool,
    micro_span: f64,
    deflate: bool,
    binary: bool,
    servers: Vec<Spec>,
    out: PathBuf,
    tag: String,
    command: String,
}

/// The servers of a default run (paths from `bench/`, where `run.sh`
/// installs and builds them): stdws, the peers a user would weigh instead,
/// and the raw TCP floor.
const DEFAULT_SERVERS: &[(&str, &str, Protocol)] = &[
    (
        "stdws",
        "../target/release/examples/echo_server",
        Protocol::WebSocket,
    ),
    (
        "tungstenite",
        "target/release/tungstenite_echo",
        Protocol::WebSocket,
    ),
    (
        "tokio-tungstenite",
        "target/release/tokio_tungstenite_echo",
        Protocol::WebSocket,
    ),
    (
        "fastwebsockets",
        "target/release/fastwebsockets_echo",
        Protocol::WebSocket,
    ),
    ("node ws", "node peers/node_echo.js", Protocol::WebSocket),
    (
        "py websockets",
        "target/venv/bin/python peers/py_echo.py",
        Protocol::WebSocket,
    ),
    ("raw", "target/release/raw_echo", Protocol::Raw),
];

/// The servers that speak permessage-deflate (started with `deflate`),
/// for the compression table.
const DEFLATE_SERVERS: &[&str] = &["stdws", "node ws", "py websockets"];

/// Connections of the compression table.
const DEFLATE_CONNS: usize = 16;

/// How long the idle test leaves its connections quiet before reading the
/// server's memory: past stdws's default `Config::idle_release` (1 s), as a
/// connection idle for minutes would be.
const IDLE_SETTLE: Duration = Duration::from_millis(1500);

fn list(v: &str) -> Vec<usize> {
    if v == "none" {
        return Vec::new();
    }
    v.split(',')
        .map(|x| {
            x.trim()
                .parse()
                .unwrap_or_else(|_| usage(&format!("not a number: {x}")))
        })
        .collect()
}

fn usage(why: &str) -> ! {
    eprintln!("bench: {why}\nusage: bench [--quick] [--rounds N] [--window SECS] [--warmup SECS] [--sizes LIST] [--conns LIST] [--idle LIST|none] [--no-micro] [--no-deflate] [--binary] [--server NAME=PROGRAM[,raw]]... [--out DIR] [--tag TAG]");
    std::process::exit(2)
}

fn options() -> Options {
    let mut o = Options {
        rounds: 5,
        window: 1.5,
        warmup: 0.3,
        sizes: vec![64, 4 << 10, 64 << 10, 1 << 20],
        conns: vec![1, 16, 256],
        idle: vec![1_000, 10_000],
        micro: true,
        micro_span: 0.5,
        deflate: true,
        binary: false,
        servers: Vec::new(),
        out: PathBuf::from("results"),
        tag: String::new(),
        command: std::env::var("BENCH_COMMAND").unwrap_or_else(|_| "make bench".into()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--quick" => {
                o.rounds = 1;
                o.window = 0.5;
                o.warmup = 0.1;
                o.idle = vec![1_000];
                o.micro_span = 0.1;
                o.tag = "-quick".into();
            }
            "--rounds" => o.rounds = val().parse().unwrap_or_else(|_| usage("bad --rounds")),
            "--window" => o.window = val().parse().unwrap_or_else(|_| usage("bad --window")),
            "--warmup" => o.warmup = val().parse().unwrap_or_else(|_| usage("bad --warmup")),
            "--sizes" => o.sizes = list(&val()),
            "--conns" => o.conns = list(&val()),
            "--idle" => o.idle = list(&val()),
            "--no-micro" => o.micro = false,
            "--no-deflate" => o.deflate = false,
            "--binary" => o.binary = true,
            "--out" => o.out = PathBuf::from(val()),
            "--tag" => o.tag = format!("-{}", val()),
            "--server" => {
                let v = val();
                let (name, rest) = v
                    .split_once('=')
                    .unwrap_or_else(|| usage("--server NAME=PROGRAM"));
                let (command, protocol) = match rest.strip_suffix(",raw") {
                    Some(p) => (p, Protocol::Raw),
                    None => (rest, Protocol::WebSocket),
                };
                o.servers.push(Spec::new(name, command, protocol));
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if o.servers.is_empty() {
        o.servers = DEFAULT_SERVERS
            .iter()
            .map(|(name, command, protocol)| Spec::new(name, command, *protocol))
            .collect();
    }
    o
}

/// One cell: connect, warm up, measure the window, disconnect.
fn measure(
    o: &Options,
    spec: &Spec,
    server: &Running,
    size: usize,
    conns: usize,
    round: usize,
) -> Measure {
    let mut m = Measure {
        server: spec.name.clone(),
        size,
        conns,
        round,
        messages: 0,
        secs: 0.0,
        server_ticks: 0,
        machine_ticks: 0,
        client_ticks: 0,
        server_faults: 0,
        error: None,
    };
    let result = (|| -> io::Result<()> {
        let streams = (0..conns)
            .map(|_| connect(server.addr, spec.protocol))
            .collect::<io::Result<Vec<TcpStream>>>()?;
        let mut load = Load::new(streams, Exchange::new(spec.protocol, size, o.binary))?;
        load.run_for(Duration::from_secs_f64(o.warmup))?;
        let me = std::process::id();
        let (s0, c0, b0, t0) = (
            cpu_ticks(server.pid())?,
            cpu_ticks(me)?,
            machine_busy_ticks()?,
            Instant::now(),
        );
        m.messages = load.run_for(Duration::from_secs_f64(o.window))?;
        let (s1, c1, b1) = (
            cpu_ticks(server.pid())?,
            cpu_ticks(me)?,
            machine_busy_ticks()?,
        );
        m.secs = t0.elapsed().as_secs_f64();
        m.server_ticks = s1 - s0;
        m.client_ticks = c1 - c0;
        m.machine_ticks = b1 - b0;
        Ok(())
    })();
    if let Err(e) = result {
        m.error = Some(e.to_string());
        m.messages = 0;
    }
    // Let the server's threads see the connections end before the next cell.
    sleep(Duration::from_millis(60));
    m
}

/// UTC date and time from the system clock (civil-from-days, H. Hinnant).
fn utc_now() -> (String, String) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    let date = format!("{y:04}-{mo:02}-{d:02}");
    (
        date.clone(),
        format!("{date} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60),
    )
}

fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&[
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        "../src",
        "../examples",
        "../Cargo.toml",
    ])
    .is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head} (with uncommitted changes)")
    } else {
        head
    }
}

fn main() {
    let o = options();
    let started = Instant::now();
    let machine = Machine::describe();
    let (date, when) = utc_now();
    let mut measures = Vec::new();
    let mut running: Vec<Option<Running>> = o.servers.iter().map(|_| None).collect();
    let cells = o.sizes.len() * o.conns.len();
    if cells > 0 && o.rounds > 0 {
        eprintln!(
            "echo: {} round(s) × {cells} cells × {} servers, {:.1} s + {:.1} s each",
            o.rounds,
            o.servers.len(),
            o.warmup,
            o.window
        );
    }
    for round in 1..=o.rounds {
        for &size in &o.sizes {
            for &conns in &o.conns {
                // Rotate the order each round: no server always goes first.
                for k in 0..o.servers.len() {
                    let i = (k + round + size + conns) % o.servers.len();
                    let spec = &o.servers[i];
                    let alive = running[i]
                        .as_mut()
                        .is_some_and(|r| cpu_ticks(r.pid()).is_ok());
                    if !alive {
                        running[i] = match Running::start(spec, 0) {
                            Ok(r) => Some(r),
                            Err(e) => {
                                eprintln!("bench: {e}");
                                std::process::exit(1);
                            }
                        };
                    }
                    let server = running[i].as_ref().expect("started");
                    let m = measure(&o, spec, server, size, conns, round);
                    eprintln!(
                        "round {round} {:>7} × {conns:>3} {:<12} {:>9.0} msgs/s {:>8.1} MB/s {:>8.2} µs/msg {:>6.1} faults/msg  server {:>3.0}% client {:>3.0}%{}",
                        size_name(size),
                        spec.name,
                        m.msgs_per_sec(),
                        m.mb_per_sec(),
                        m.cpu_us_per_msg(),
                        m.faults_per_msg(),
                        m.server_ticks as f64 / m.secs,
                        m.client_ticks as f64 / m.secs,
                        m.error.as_ref().map_or(String::new(), |e| format!("  FAILED: {e}"))
                    );
                    measures.push(m);
                }
            }
        }
    }
    drop(running);
    let mut idle_results = Vec::new();
    for &count in &o.idle {
        for spec in &o.servers {
            match idle::run(spec, count, IDLE_SETTLE) {
                Ok(r) => {
                    eprintln!(
                        "idle {count:>6} {:<12} {:>6.1} KiB/connection, {} threads, echo {}/{}",
                        spec.name,
                        r.kib_per_connection(),
                        r.threads,
                        r.echo_ok,
                        count
                    );
                    idle_results.push(r);
                }
                Err(e) => eprintln!("idle {count} {}: FAILED: {e}", spec.name),
            }
        }
    }
    let mut deflate_results = Vec::new();
    let deflaters: Vec<&Spec> = o
        .servers
        .iter()
        .filter(|s| DEFLATE_SERVERS.contains(&s.name.as_str()))
        .collect();
    if o.deflate && !deflaters.is_empty() {
        let corpus = std::sync::Arc::new(deflate::corpus(500));
        for round in 1..=o.rounds {
            for k in 0..deflaters.len() {
                let spec = deflaters[(k + round) % deflaters.len()];
                let r = deflate::run(
                    spec,
                    DEFLATE_CONNS,
                    Duration::from_secs_f64(o.warmup),
                    Duration::from_secs_f64(o.window),
                    &corpus,
                );
                eprintln!(
                    "deflate round {round} {:<14} {:>8.0} msgs/s {:>7.1} MB/s {:>7.2} µs/msg{}",
                    r.server,
                    r.msgs_per_sec,
                    r.mb_per_sec,
                    r.cpu_us,
                    r.error
                        .as_ref()
                        .map_or(String::new(), |e| format!("  FAILED: {e}"))
                );
                deflate_results.push(r);
            }
        }
    }
    let micro_results = if o.micro {
        let r = micro::run(
            &[4 << 10, 64 << 10, 1 << 20],
            Duration::from_secs_f64(o.micro_span),
        );
        for x in &r {
            eprintln!(
                "micro {:>7}: memcpy {:.1} GB/s, unmask {:.1}, UTF-8 text {:.1}, ASCII {:.1}, dense {:.1}",
                size_name(x.size),
                x.memcpy,
                x.unmask,
                x.utf8_text,
                x.utf8_ascii,
                x.utf8_dense
            );
        }
        r
    } else {
        Vec::new()
    };
    let run = Run {
        machine,
        when,
        commit: commit(),
        command: o.command.clone(),
        binary: o.binary,
        rounds: o.rounds,
        window: o.window,
        warmup: o.warmup,
        measures,
        idle: idle_results,
        deflate: deflate_results,
        micro: micro_results,
        wall_secs: started.elapsed().as_secs_f64(),
        servers: o.servers.iter().map(|s| s.name.clone()).collect(),
    };
    let md = report::markdown(&run);
    print!("{md}");
    if let Err(e) = fs::create_dir_all(&o.out) {
        eprintln!("bench: cannot create {}: {e}", o.out.display());
        std::process::exit(1);
    }
    let base = o.out.join(format!("{date}{}", o.tag));
    let files = [
        ("md", md),
        ("json", report::json(&run)),
        ("csv", report::csv(&run)),
        ("svg", chart::svg(&run)),
    ];
    for (ext, text) in &files {
        let path = base.with_extension(ext);
        if let Err(e) = fs::write(&path, text) {
            eprintln!("bench: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    // A full run (no tag) is also the latest: the README shows that chart.
    if o.tag.is_empty() {
        for (ext, text) in [&files[0], &files[3]] {
            let path = o.out.join(format!("latest.{ext}"));
            if let Err(e) = fs::write(&path, text) {
                eprintln!("bench: cannot write {}: {e}", path.display());
            }
        }
    }
    eprintln!("results: {}.{{md,json,csv,svg}}", base.display());
    let failed = run.measures.iter().any(|m| m.error.is_some())
        || run.idle.iter().any(|i| i.echo_ok != i.connections)
        || run.idle.len() != o.idle.len() * o.servers.len()
        || run.deflate.iter().any(|d| d.error.is_some());
    if failed {
        eprintln!("bench: some cells failed (see the report)");
        std::process::exit(1);
    }
}
