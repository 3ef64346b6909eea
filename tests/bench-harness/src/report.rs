//! The table the benchmark prints and the JSON it writes.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Row {
    pub group: String,
    pub metric: String,
    pub value: f64,
    pub unit: String,
    pub goal: Option<String>,
    pub met: Option<bool>,
}

impl Row {
    pub fn new(group: &str, metric: &str, value: f64, unit: &str) -> Self {
        Self {
            group: group.into(),
            metric: metric.into(),
            value,
            unit: unit.into(),
            goal: None,
            met: None,
        }
    }
    pub fn goal(mut self, goal: &str, met: bool) -> Self {
        self.goal = Some(goal.into());
        self.met = Some(met);
        self
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub machine: String,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn print(&self) {
        println!("machine: {}\n", self.machine);
        let mut group = "";
        for r in &self.rows {
            if r.group != group {
                group = &r.group;
                println!("\n{group}");
            }
            let value = if r.value.fract() == 0.0 || r.value >= 100.0 {
                format!("{:.0}", r.value)
            } else {
                format!("{:.2}", r.value)
            };
            let goal = match (&r.goal, r.met) {
                (Some(g), Some(true)) => format!("  goal {g}: met"),
                (Some(g), Some(false)) => format!("  goal {g}: MISSED"),
                _ => String::new(),
            };
            println!("  {:<64} {:>12} {:<5}{goal}", r.metric, value, r.unit);
        }
    }
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
                    / 1024
                    / 1024
            })
        })
        .unwrap_or(0);
    format!("{cores} cores ({cpu}), {mem} GiB")
}

/// Rows from `wrk --latency` outputs written by tests/bench as `<label>\t<file>` lines.
pub fn wrk_rows(report: &mut Report, index: &str) {
    let g = "3 end to end: GET /api/sessions on the dev server (wrk, 127.0.0.1, 10 s, 2 threads, 32 connections)";
    for line in std::fs::read_to_string(index).unwrap_or_default().lines() {
        let Some((label, file)) = line.split_once('\t') else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let find = |prefix: &str| {
            text.lines().find_map(|l| {
                let l = l.trim();
                l.strip_prefix(prefix).map(|v| v.trim().to_owned())
            })
        };
        let ms = |v: Option<String>| {
            v.map_or(f64::NAN, |v| {
                if let Some(x) = v.strip_suffix("us") {
                    x.parse::<f64>().unwrap_or(f64::NAN) / 1000.0
                } else if let Some(x) = v.strip_suffix("ms") {
                    x.parse().unwrap_or(f64::NAN)
                } else if let Some(x) = v.strip_suffix('s') {
                    x.parse::<f64>().unwrap_or(f64::NAN) * 1000.0
                } else {
                    f64::NAN
                }
            })
        };
        let rps: f64 = find("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        report.push(
            Row::new(g, &format!("{label}: requests/s"), rps, "req/s")
                .goal(">= 5000", rps >= 5000.0),
        );
        report.push(Row::new(g, &format!("{label}: p50"), ms(find("50%")), "ms"));
        report.push(Row::new(g, &format!("{label}: p99"), ms(find("99%")), "ms"));
        let non2xx = find("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        report.push(
            Row::new(g, &format!("{label}: non-2xx/3xx responses"), non2xx, "")
                .goal("= 0", non2xx == 0.0),
        );
    }
}

/// Rows from tests/bench_build.sh, `<label>\t<value>\t<unit>` lines: the deploy build's times
/// and the link-time-optimisation trade on one function.
pub fn build_rows(report: &mut Report, path: &str) {
    let g = "6 deploy build (arm64, cargo-lambda, 2 cores; crates already downloaded)";
    for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
        let mut cols = line.split('\t');
        let (Some(label), Some(value), Some(unit)) = (cols.next(), cols.next(), cols.next()) else {
            continue;
        };
        let value: f64 = value.parse().unwrap_or(f64::NAN);
        let row = Row::new(g, label, value, unit);
        report.push(match label {
            "sam build, from nothing" => row.goal("<= 900 s", value <= 900.0),
            "sam build, after a one-line change in the rules" => {
                row.goal("<= 300 s", value <= 300.0)
            }
            _ => row,
        });
    }
}

/// Zipped size of each function's bootstrap under a `sam build` output folder.
pub fn artifact_rows(report: &mut Report, dir: &str) {
    let g = "5 artifact size (arm64 bootstrap, zipped with zip -9)";
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let bootstrap = e.path().join("bootstrap");
        if !bootstrap.exists() {
            continue;
        }
        let zip = std::env::temp_dir().join(format!(
            "kikao-bench-{}.zip",
            e.file_name().to_string_lossy()
        ));
        let _ = std::fs::remove_file(&zip);
        let ok = std::process::Command::new("zip")
            .arg("-q9j")
            .arg(&zip)
            .arg(&bootstrap)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            continue;
        }
        let mb = std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
        report
            .push(Row::new(g, &e.file_name().to_string_lossy(), mb, "MB").goal("<= 3", mb <= 3.0));
        let _ = std::fs::remove_file(&zip);
    }
}
