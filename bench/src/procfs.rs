//! What the kernel says about a process and the machine: CPU time from
//! `/proc/PID/stat` (utime + stime of all threads, dead ones included),
//! resident memory from `/proc/PID/status`, per-core busy time from
//! `/proc/stat`, and the machine's description.

use std::fs;
use std::io;

/// Clock ticks per second of `/proc` times (USER_HZ; 100 on Linux).
pub const TICKS_PER_SEC: f64 = 100.0;

/// utime + stime of process `pid` (all its threads), in ticks.
pub fn cpu_ticks(pid: u32) -> io::Result<u64> {
    Ok(usage(pid)?.0)
}

/// CPU ticks (utime + stime) and minor page faults of process `pid`, all
/// its threads, dead ones included.
pub fn usage(pid: u32) -> io::Result<(u64, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_usage(&stat).ok_or_else(|| io::Error::other("unexpected /proc/PID/stat"))
}

/// Fields 14 + 15 and field 10 of a stat line; the name (field 2) may hold
/// spaces and parentheses, so fields are counted after its last `)`.
fn parse_usage(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().take(13).collect();
    let num = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((num(11)? + num(12)?, num(7)?))
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `Threads`...), as a number.
pub fn status_field(pid: u32, name: &str) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix(':')?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .ok_or_else(|| io::Error::other(format!("no {name} in /proc/{pid}/status")))
}

/// Busy ticks (everything but idle and iowait) summed over all cores.
pub fn machine_busy_ticks() -> io::Result<u64> {
    let stat = fs::read_to_string("/proc/stat")?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .ok_or_else(|| io::Error::other("no cpu line in /proc/stat"))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    Ok(v.iter().sum::<u64>() - v.get(3).unwrap_or(&0) - v.get(4).unwrap_or(&0))
}

/// The machine, for the results: CPU model, cores, kernel, rustc, load.
#[derive(Debug, Clone)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu: String,
    /// Cores of the machine (not of this process's affinity mask).
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// /proc/loadavg when the run started.
    pub loadavg: String,
}

impl Machine {
    /// Reads the description now.
    pub fn describe() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1))
            .unwrap_or("unknown")
            .trim()
            .to_owned();
        let rustc = std::process::Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpu,
            // Counted from cpuinfo: this process is pinned to one core, so
            // available_parallelism would say 1.
            cores: cpuinfo
                .lines()
                .filter(|l| l.starts_with("processor"))
                .count()
                .max(1),
            kernel: read_trim("/proc/sys/kernel/osrelease"),
            rustc,
            loadavg: read_trim("/proc/loadavg"),
        }
    }
}

fn read_trim(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_counted_after_the_process_name() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 3 0";
        assert_eq!(parse_usage(line), Some((287, 100)));
    }

    #[test]
    fn own_process_is_readable() {
        let me = std::process::id();
        assert!(cpu_ticks(me).is_ok());
        assert!(status_field(me, "VmRSS").unwrap() > 0);
        assert!(status_field(me, "Threads").unwrap() >= 1);
    }
}
