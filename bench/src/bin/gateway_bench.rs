//! `make bench-gateway`: WebSocket gateways in front of one
//! WebSocket-over-HTTP echo backend (`woh_echo`), side by side in one run:
//! `stdws gateway --websocket-over-http` and Pushpin. Each client message
//! goes through the gateway to the backend as an HTTP request and its echo
//! comes back the same way.
//!
//!     gateway_bench --gateway NAME=PROGRAM... --backend PROGRAM
//!                   [--sizes 64,4096] [--conns 16,256] [--rounds N]
//!                   [--window SECS] [--warmup SECS] [--out FILE]
//!
//! A gateway program runs as `PROGRAM PORT BACKEND_PORT` and may start a
//! tree of processes (Pushpin runs four): its CPU is the whole tree's. The
//! gateway runs pinned to core 0; the backend and the load generator share
//! core 1, the same for every gateway. Each cell starts the gateway afresh;
//! cells are interleaved gateway by gateway; figures are medians over the
//! rounds, and a cell that failed in any round says how.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use stdws_bench::load::Load;
use stdws_bench::procfs::{cpu_ticks, Machine, TICKS_PER_SEC};
use stdws_bench::wire::{connect, Exchange, Protocol};

struct Options {
    gateways: Vec<(String, String)>,
    backend: String,
    sizes: Vec<usize>,
    conns: Vec<usize>,
    rounds: usize,
    window: f64,
    warmup: f64,
    out: Option<String>,
}

fn usage(why: &str) -> ! {
    eprintln!(
        "gateway_bench: {why}\nusage: gateway_bench --gateway NAME=PROGRAM... --backend PROGRAM \
         [--sizes LIST] [--conns LIST] [--rounds N] [--window SECS] [--warmup SECS] [--out FILE]"
    );
    std::process::exit(2)
}

fn options() -> Options {
    let mut o = Options {
        gateways: Vec::new(),
        backend: String::new(),
        sizes: vec![64, 4096],
        conns: vec![16, 64, 256],
        rounds: 3,
        window: 3.0,
        warmup: 0.5,
        out: None,
    };
    let mut args = std::env::args().skip(1);
    let list = |v: String| -> Vec<usize> {
        v.split(',')
            .map(|x| x.parse().unwrap_or_else(|_| usage("a list of numbers")))
            .collect()
    };
    while let Some(arg) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--gateway" => {
                let v = val();
                let (name, program) = v.split_once('=').unwrap_or_else(|| usage("NAME=PROGRAM"));
                o.gateways.push((name.to_owned(), program.to_owned()));
            }
            "--backend" => o.backend = val(),
            "--sizes" => o.sizes = list(val()),
            "--conns" => o.conns = list(val()),
            "--rounds" => o.rounds = val().parse().unwrap_or_else(|_| usage("--rounds N")),
            "--window" => o.window = val().parse().unwrap_or_else(|_| usage("--window SECS")),
            "--warmup" => o.warmup = val().parse().unwrap_or_else(|_| usage("--warmup SECS")),
            "--out" => o.out = Some(val()),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if o.gateways.is_empty() || o.backend.is_empty() {
        usage("--gateway and --backend are required");
    }
    o
}

/// A started process tree, stopped (TERM, then KILL) on drop.
struct Tree {
    child: Child,
}

impl Tree {
    fn start(core: &str, program: &str, args: &[String]) -> io::Result<Tree> {
        let child = Command::new("taskset")
            .args(["-c", core, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Tree { child })
    }

    /// The process and all its descendants.
    fn pids(&self) -> Vec<u32> {
        let mut parents: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let ppid = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().nth(1)?.parse().ok());
            if let Some(ppid) = ppid {
                parents.entry(ppid).or_default().push(pid);
            }
        }
        let mut all = vec![self.child.id()];
        let mut i = 0;
        while i < all.len() {
            all.extend(parents.get(&all[i]).into_iter().flatten());
            i += 1;
        }
        all
    }

    /// CPU ticks of the whole tree.
    fn ticks(&self) -> u64 {
        self.pids()
            .into_iter()
            .filter_map(|p| cpu_ticks(p).ok())
            .sum()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let pids = self.pids();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            sleep(Duration::from_millis(50));
        }
        // Whatever is left of the tree (a runner's services) goes too.
        for pid in pids {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.wait();
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_listening(addr: SocketAddr, what: &str) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            return Err(io::Error::other(format!("{what} never listened")));
        }
        sleep(Duration::from_millis(50));
    }
    Ok(())
}

struct Cell {
    messages: u64,
    secs: f64,
    ticks: u64,
}

fn measure(
    o: &Options,
    tree: &Tree,
    addr: SocketAddr,
    size: usize,
    conns: usize,
) -> io::Result<Cell> {
    let streams = (0..conns)
        .map(|_| connect(addr, Protocol::WebSocket))
        .collect::<io::Result<Vec<TcpStream>>>()?;
    let mut load = Load::new(streams, Exchange::new(Protocol::WebSocket, size, false))?;
    load.run_for(Duration::from_secs_f64(o.warmup))?;
    let (t0, c0) = (Instant::now(), tree.ticks());
    let messages = load.run_for(Duration::from_secs_f64(o.window))?;
    let cell = Cell {
        messages,
        secs: t0.elapsed().as_secs_f64(),
        ticks: tree.ticks() - c0,
    };
    drop(load);
    sleep(Duration::from_millis(300));
    Ok(cell)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return 0.0;
    }
    v[v.len() / 2]
}

fn main() -> io::Result<()> {
    let o = options();
    let machine = Machine::describe();
    let backend_port = free_port()?;
    let _backend = Tree::start("1", &o.backend, &[backend_port.to_string()])?;
    wait_listening(
        SocketAddr::from(([127, 0, 0, 1], backend_port)),
        "the backend",
    )?;
    let started = Instant::now();
    // (gateway, size, conns) -> per-round (msgs/s, µs/msg)
    let mut results: BTreeMap<(usize, usize, usize), Vec<(f64, f64)>> = BTreeMap::new();
    let mut failures: BTreeMap<(usize, usize, usize), String> = BTreeMap::new();
    // Every cell gets a fresh gateway, gateways interleaved cell by cell: a
    // gateway that fails under one load does not spoil the next cell.
    for round in 0..o.rounds {
        for &size in &o.sizes {
            for &conns in &o.conns {
                for (g, (name, program)) in o.gateways.iter().enumerate() {
                    let outcome = (|| {
                        let port = free_port()?;
                        let tree = Tree::start(
                            "0",
                            program,
                            &[port.to_string(), backend_port.to_string()],
                        )?;
                        let addr = SocketAddr::from(([127, 0, 0, 1], port));
                        wait_listening(addr, name)?;
                        // Pushpin's services join after its listener.
                        sleep(Duration::from_millis(1000));
                        measure(&o, &tree, addr, size, conns)
                    })();
                    let cell = match outcome {
                        Ok(cell) => cell,
                        Err(e) => {
                            // A gateway that drops connections under load is
                            // a result too: the cell says so.
                            eprintln!("round {round} {name:<8} {size:>5} B × {conns:>3}: {e}");
                            failures.entry((g, size, conns)).or_insert(e.to_string());
                            continue;
                        }
                    };
                    let rate = cell.messages as f64 / cell.secs;
                    let cpu = cell.ticks as f64 / TICKS_PER_SEC * 1e6 / cell.messages.max(1) as f64;
                    eprintln!(
                        "round {round} {name:<8} {size:>5} B × {conns:>3}: {rate:>8.0} msgs/s {cpu:>7.1} µs/msg"
                    );
                    results
                        .entry((g, size, conns))
                        .or_default()
                        .push((rate, cpu));
                }
            }
        }
    }
    let mut md = String::new();
    let _ = writeln!(md, "# stdws gateway benchmark\n");
    let _ = writeln!(
        md,
        "- Machine: {} × {} cores, Linux {}, {}",
        machine.cpu, machine.cores, machine.kernel, machine.rustc
    );
    let _ = writeln!(md, "- Load average at start: {}", machine.loadavg);
    let _ = writeln!(md, "- Command: `make bench-gateway`");
    let _ = writeln!(
        md,
        "- {} round(s); each cell: {:.1} s warm-up, {:.1} s measured; whole run {:.0} s\n",
        o.rounds,
        o.warmup,
        o.window,
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        md,
        "Closed loop over loopback: each connection has one message in flight; the gateway \
         passes it to one WebSocket-over-HTTP echo backend (`woh_echo`, the same process for \
         every gateway) and the echo back, compared byte for byte. The gateway runs on core 0; \
         backend and load generator share core 1. Gateway CPU is the utime + stime of its whole \
         process tree over the window, per message. Medians over the rounds.\n"
    );
    let _ = writeln!(
        md,
        "| payload | conns | gateway | msgs/s | CPU µs/msg | msgs/s vs {0} | CPU vs {0} |",
        o.gateways.last().map_or("", |g| g.0.as_str())
    );
    let _ = writeln!(md, "|---|---:|---|---:|---:|---:|---:|");
    let base = o.gateways.len() - 1;
    for &size in &o.sizes {
        for &conns in &o.conns {
            let medians = |g: usize| {
                let cells = results.get(&(g, size, conns))?;
                Some((
                    median(cells.iter().map(|c| c.0).collect()),
                    median(cells.iter().map(|c| c.1).collect()),
                ))
            };
            let payload = if size >= 1024 {
                format!("{} KiB", size >> 10)
            } else {
                format!("{size} B")
            };
            for (g, (name, _)) in o.gateways.iter().enumerate() {
                let failed = failures.get(&(g, size, conns));
                let row = match (medians(g), medians(base)) {
                    (Some((rate, cpu)), Some((base_rate, base_cpu))) => format!(
                        "{rate:.0} | {cpu:.1} | {:.2}× | {:.2}×",
                        rate / base_rate.max(1e-9),
                        cpu / base_cpu.max(1e-9)
                    ),
                    (Some((rate, cpu)), None) => format!("{rate:.0} | {cpu:.1} | — | —"),
                    (None, _) => "— | — | — | —".into(),
                };
                let note = failed.map_or(String::new(), |e| format!(" (a round failed: {e})"));
                let _ = writeln!(md, "| {payload} | {conns} | {name}{note} | {row} |");
            }
        }
    }
    print!("{md}");
    if let Some(out) = &o.out {
        fs::write(out, &md)?;
    }
    Ok(())
}
