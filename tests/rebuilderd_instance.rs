//! A real rebuilderd 0.28 instance (daemon + one worker + rebuildctl) in a
//! temp dir, for tests; shared by the test crates that include it with
//! `#[path = "../../tests/rebuilderd_instance.rs"] mod rebuilderd_instance;`.
//! Needs `serde_json` and `tempfile` (dev-dependencies); std otherwise.
//!
//! ```ignore
//! let Some(bins) = rebuilderd_instance::available() else { return }; // printed SKIPPED
//! let mut options = Options::new(&[X86, ARM], &backend);    // the worker's backend."camhub"
//! options.ports = Some(18490..=18499);                      // else any free port
//! options.env.push(("KNOB".into(), "1".into()));            // seen by the backend
//! let mut inst = Instance::start(&bins, options);           // daemon answering, worker started
//! inst.sync(&package_report_json);                          // rebuildctl pkgs sync-stdin
//! let verdict = inst.wait_for_verdict("camhub-ip", "0.2.0", X86, Duration::from_secs(600));
//! inst.kill_worker();                                       // and its backend
//! inst.requeue("camhub-ipcamera-camerahub", "0.2.0", X86);  // queue drop + queue push
//! inst.start_worker();                                      // same key
//! eprintln!("{:?}", inst.memory());                         // VmHWM/VmRSS of daemon, worker
//! ```
//! `inst.url` is the API root for `repro rebuilderd key/collect/status`;
//! `inst.rebuildctl(args, stdin)`, `inst.queue_ls()`, `inst.verdict(..)`,
//! `inst.wait_until(what, timeout, |i| ...)` and `inst.logs()` cover the rest.
//!
//! Where the binaries come from: `CAMHUB_REBUILDERD_ROOT` (a Debian sid root
//! with the rebuilderd packages, run outside any chroot through that root's
//! own loader and libraries) or `CAMHUB_REBUILDERD_BIN_DIR` (`cargo install`ed
//! binaries, run directly). With neither, [`available`] says SKIPPED, unless
//! `CAMHUB_REQUIRE_REBUILDERD=1` makes that a failure (CI).
//!
//! Nothing here can hang a test: every wait has a deadline, and a missed
//! deadline panics with the daemon's and the worker's logs. Dropping the
//! [`Instance`] kills the daemon, the worker and whatever the worker started
//! (a backend runs in its own process group and outlives a killed worker;
//! it is found by a marker in its environment).

#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to run the rebuilderd programs.
#[derive(Debug, Clone)]
pub enum Binaries {
    /// `<root>/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path <root>/usr/lib/x86_64-linux-gnu <root>/usr/bin/<bin>`.
    Root(PathBuf),
    /// `<dir>/<bin>`.
    Dir(PathBuf),
}

impl Binaries {
    /// A command running `bin` (rebuilderd, rebuilderd-worker, rebuildctl).
    pub fn command(&self, bin: &str) -> Command {
        match self {
            Binaries::Root(root) => {
                let lib = root.join("usr/lib/x86_64-linux-gnu");
                let mut cmd = Command::new(lib.join("ld-linux-x86-64.so.2"));
                cmd.arg("--library-path")
                    .arg(&lib)
                    .arg(root.join("usr/bin").join(bin));
                cmd
            }
            Binaries::Dir(dir) => Command::new(dir.join(bin)),
        }
    }

    fn present(&self) -> Result<(), String> {
        for bin in ["rebuilderd", "rebuilderd-worker", "rebuildctl"] {
            let out = self
                .command(bin)
                .arg("--version")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("{bin}: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "{bin} --version failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        Ok(())
    }
}

/// The rebuilderd programs, if the environment names them (see the module
/// doc). When it names none: prints SKIPPED and returns None, or panics
/// with `CAMHUB_REQUIRE_REBUILDERD=1`. Named but not running is a mistake
/// in the setup, never a skip: that panics always.
pub fn available() -> Option<Binaries> {
    let found = if let Some(root) = std::env::var_os("CAMHUB_REBUILDERD_ROOT") {
        Some(Binaries::Root(root.into()))
    } else {
        std::env::var_os("CAMHUB_REBUILDERD_BIN_DIR").map(|d| Binaries::Dir(d.into()))
    };
    let required = std::env::var_os("CAMHUB_REQUIRE_REBUILDERD").is_some_and(|v| v == "1");
    let problem = match &found {
        None => "neither CAMHUB_REBUILDERD_ROOT (a Debian root with rebuilderd 0.28) nor CAMHUB_REBUILDERD_BIN_DIR (cargo-installed binaries) is set".to_owned(),
        Some(bins) => match bins.present() {
            Ok(()) => return found,
            Err(e) => panic!("{bins:?} (from the environment) does not run: {e}"),
        },
    };
    if required {
        panic!("CAMHUB_REQUIRE_REBUILDERD=1 but {problem}");
    }
    eprintln!("SKIPPED: a real rebuilderd is needed: {problem}");
    None
}

/// How to start an instance.
#[derive(Debug, Clone)]
pub struct Options {
    /// The worker's supported_architectures (our Rust triples).
    pub architectures: Vec<String>,
    /// The worker's `[backend."camhub"] path`.
    pub backend: PathBuf,
    /// Extra environment of the worker (and so of the backend).
    pub env: Vec<(String, String)>,
    /// Seconds the worker waits between polls when idle.
    pub idle_delay: u64,
    /// The worker's build timeout, seconds.
    pub build_timeout: u64,
    /// Ports to try for the daemon; None: any free port.
    pub ports: Option<RangeInclusive<u16>>,
}

impl Options {
    pub fn new(architectures: &[&str], backend: &Path) -> Options {
        Options {
            architectures: architectures.iter().map(|a| a.to_string()).collect(),
            backend: backend.to_owned(),
            env: Vec::new(),
            idle_delay: 1,
            build_timeout: 3600,
            ports: None,
        }
    }
}

/// Resident memory of a process, from /proc/<pid>/status, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rss {
    /// VmHWM: the peak.
    pub peak_kib: u64,
    /// VmRSS: now.
    pub now_kib: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub daemon: Rss,
    /// None when the worker is not running.
    pub worker: Option<Rss>,
}

/// One running instance: daemon at [`Instance::url`], one worker.
pub struct Instance {
    bins: Binaries,
    options: Options,
    /// Deletes the folder when the instance goes.
    _tmp: Option<tempfile::TempDir>,
    /// The instance's folder: daemon/ (state, cookie, log), worker/ (key, config, log, tmp).
    pub dir: PathBuf,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    cookie: PathBuf,
    marker: String,
    daemon: Child,
    worker: Option<Child>,
}

const MARKER_VAR: &str = "CAMHUB_REBUILDERD_HARNESS";
/// How long a rebuildctl call or the daemon's start may take.
const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("/dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Ports handed out in this process: parallel tests must not both try one
/// (a daemon that cannot bind exits, and the check below would find the other's).
static TAKEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());

fn pick_port(range: &Option<RangeInclusive<u16>>) -> u16 {
    let candidates: Vec<u16> = match range {
        Some(r) => r.clone().collect(),
        None => vec![0; 8],
    };
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    for port in candidates {
        if taken.contains(&port) {
            continue;
        }
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            let port = l.local_addr().unwrap().port();
            if !taken.contains(&port) {
                taken.push(port);
                return port;
            }
        }
    }
    panic!("no free port in {range:?}");
}

/// How many ports a start tries before it gives up.
const START_ATTEMPTS: usize = 5;

impl Instance {
    /// Writes the configs, starts the daemon, waits until it answers (it
    /// and no other: the admin cookie must work), starts the worker.
    pub fn start(bins: &Binaries, options: Options) -> Instance {
        let tmp = tempfile::Builder::new()
            .prefix("rebuilderd-")
            .tempdir()
            .unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        for sub in ["daemon", "worker", "worker/tmp"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let secret = random_token();
        let cookie = dir.join("daemon/auth-cookie");
        fs::write(&cookie, random_token()).unwrap();
        let marker = format!("{}/{}", dir.display(), random_token());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = pick_port(&options.ports);
            let url = format!("http://127.0.0.1:{port}");
            write_configs(&dir, port, &secret, &options);
            let log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("daemon/daemon.log"))
                .unwrap();
            let daemon = bins
                .command("rebuilderd")
                .arg("-c")
                .arg(dir.join("daemon/rebuilderd.conf"))
                .current_dir(dir.join("daemon"))
                .env("REBUILDERD_COOKIE_PATH", &cookie)
                .env("RUST_LOG", "info")
                .env(MARKER_VAR, format!("{marker}/daemon"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("rebuilderd starts");
            let mut inst = Instance {
                bins: bins.clone(),
                options: options.clone(),
                _tmp: None,
                dir: dir.clone(),
                url,
                cookie: cookie.clone(),
                marker: marker.clone(),
                daemon,
                worker: None,
            };
            let up = inst.wait_until("the daemon to answer", COMMAND_DEADLINE, |i| {
                if i.is_ours() {
                    Some(true)
                } else {
                    // Exited: it could not bind (someone else took the port).
                    let exited = fs::metadata(format!("/proc/{}", i.daemon.id())).is_err()
                        || rss(i.daemon.id()).now_kib == 0;
                    exited.then_some(false)
                }
            });
            if up {
                inst._tmp = Some(tmp);
                inst.start_worker();
                return inst;
            }
            if attempt == START_ATTEMPTS {
                panic!(
                    "rebuilderd did not start on {START_ATTEMPTS} ports\n{}",
                    inst.logs()
                );
            }
            // Dropping `inst` kills what is left of this try; the folder stays.
        }
    }

    /// Whether the daemon at `url` is this instance's: only it takes our
    /// admin cookie. The probe asks to requeue a distribution nobody has.
    fn is_ours(&self) -> bool {
        let body = r#"{"distribution":"camhub-harness-probe"}"#;
        let request = format!(
            "POST /api/v1/queue HTTP/1.0\r\nX-Auth-Cookie: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            fs::read_to_string(&self.cookie).unwrap_or_default().trim(),
            body.len()
        );
        matches!(self.http(&request), Some((200..=299, _)))
    }

    /// Starts the worker (again, after [`Instance::kill_worker`]): same folder, same key.
    pub fn start_worker(&mut self) {
        assert!(self.worker.is_none(), "the worker runs already");
        let wdir = self.dir.join("worker");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(wdir.join("worker.log"))
            .unwrap();
        let mut cmd = self.bins.command("rebuilderd-worker");
        cmd.arg("-c")
            .arg(wdir.join("rebuilderd-worker.conf"))
            .arg("connect")
            .current_dir(&wdir)
            .env("RUST_LOG", "info")
            .env("TMPDIR", wdir.join("tmp"))
            .env(MARKER_VAR, format!("{}/worker", self.marker))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in &self.options.env {
            cmd.env(k, v);
        }
        self.worker = Some(cmd.spawn().expect("rebuilderd-worker starts"));
    }

    /// Kills the worker and everything it started (its backend too).
    pub fn kill_worker(&mut self) {
        if let Some(mut w) = self.worker.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        kill_marked(&format!("{}/worker", self.marker));
    }

    /// The daemon's and the worker's resident memory now.
    pub fn memory(&self) -> Memory {
        Memory {
            daemon: rss(self.daemon.id()),
            worker: self.worker.as_ref().map(|w| rss(w.id())),
        }
    }

    /// The daemon's and the worker's logs (the last 16 KiB of each).
    pub fn logs(&self) -> String {
        let tail = |p: PathBuf| {
            let text = fs::read(&p).unwrap_or_default();
            let from = text.len().saturating_sub(16 << 10);
            format!(
                "--- {} ---\n{}",
                p.display(),
                String::from_utf8_lossy(&text[from..])
            )
        };
        format!(
            "{}\n{}",
            tail(self.dir.join("daemon/daemon.log")),
            tail(self.dir.join("worker/worker.log"))
        )
    }

    /// Calls `check` every 200 ms until it gives a value; after `timeout`,
    /// panics naming `what` with the logs.
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Instance) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check(self) {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "rebuilderd at {}: still waiting after {timeout:?} for {what}\n{}",
                    self.url,
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `rebuildctl -H <url> ARGS` with the admin cookie, `stdin` fed in;
    /// its stdout. Panics (with the logs) when it fails or takes over a minute.
    pub fn rebuildctl(&self, args: &[&str], stdin: &[u8]) -> String {
        let mut child = self
            .bins
            .command("rebuildctl")
            .arg("-H")
            .arg(&self.url)
            .args(args)
            .env("REBUILDERD_COOKIE_PATH", &self.cookie)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rebuildctl starts");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let deadline = Instant::now() + COMMAND_DEADLINE;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "rebuildctl {args:?} still ran after a minute\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            panic!(
                "rebuildctl {args:?} failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            );
        }
        String::from_utf8(out.stdout).unwrap()
    }

    /// `rebuildctl pkgs sync-stdin` with one PackageReport (JSON).
    pub fn sync(&self, report: &str) {
        self.rebuildctl(&["pkgs", "sync-stdin"], report.as_bytes());
    }

    /// `rebuildctl queue ls --json`: every due job.
    pub fn queue_ls(&self) -> Vec<serde_json::Value> {
        let out = self.rebuildctl(&["queue", "ls", "--json"], b"");
        // One JSON array per page of 1000; nothing at all for an empty queue.
        serde_json::Deserializer::from_str(&out)
            .into_iter::<Vec<serde_json::Value>>()
            .flat_map(|page| page.expect("queue ls --json prints JSON arrays"))
            .collect()
    }

    /// Drops and pushes a source package's job again (component "main"):
    /// what frees a job a killed worker left "running".
    pub fn requeue(&self, source_name: &str, version: &str, architecture: &str) {
        let arch = ["--architecture", architecture];
        let job = ["camhub", "main", source_name, version];
        self.rebuildctl(&[&["queue", "drop"][..], &job, &arch].concat(), b"");
        self.rebuildctl(&[&["queue", "push"][..], &job, &arch].concat(), b"");
    }

    /// The status (GOOD, BAD, UNKWN) of a camhub binary on this instance,
    /// None while it has no record or no rebuild.
    pub fn verdict(&self, bin: &str, version: &str, architecture: &str) -> Option<String> {
        let enc = |v: &str| -> String {
            v.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let path = format!(
            "/api/v1/packages/binary?distribution=camhub&name={}&version={}&architecture={}",
            enc(bin),
            enc(version),
            enc(architecture)
        );
        let (status, body) = self.http_get(&path)?;
        if status != 200 {
            return None;
        }
        let page: serde_json::Value = serde_json::from_str(&body).ok()?;
        page["records"]
            .as_array()?
            .iter()
            .filter_map(|r| r["status"].as_str().map(str::to_owned))
            .next()
    }

    /// Waits for a GOOD or BAD verdict on a binary; returns it.
    pub fn wait_for_verdict(
        &self,
        bin: &str,
        version: &str,
        architecture: &str,
        timeout: Duration,
    ) -> String {
        self.wait_until(
            &format!("a verdict on {bin} {version} {architecture}"),
            timeout,
            |i| {
                i.verdict(bin, version, architecture)
                    .filter(|s| s == "GOOD" || s == "BAD")
            },
        )
    }

    /// GET `path` from the daemon by hand: status and body.
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        self.http(&format!("GET {path} HTTP/1.0\r\n\r\n"))
    }

    /// One raw HTTP/1.0 exchange with the daemon (5 s deadlines): status and body.
    fn http(&self, request: &str) -> Option<(u16, String)> {
        let addr = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .ok()?;
        stream.write_all(request.as_bytes()).ok()?;
        let mut reply = Vec::new();
        stream.take(64 << 20).read_to_end(&mut reply).ok()?;
        let text = String::from_utf8_lossy(&reply);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_owned()))
    }
}

/// The daemon's and the worker's configs for a daemon on `port`.
fn write_configs(dir: &Path, port: u16, secret: &str, options: &Options) {
    let url = format!("http://127.0.0.1:{port}");
    fs::write(
        dir.join("daemon/rebuilderd.conf"),
        format!(
            "[http]\nbind_addr = \"127.0.0.1:{port}\"\nendpoint = \"{url}\"\n\n[worker]\nsignup_secret = \"{secret}\"\n"
        ),
    )
    .unwrap();
    let archs: Vec<String> = options
        .architectures
        .iter()
        .map(|a| format!("{a:?}"))
        .collect();
    fs::write(
        dir.join("worker/rebuilderd-worker.conf"),
        format!(
            "endpoint = \"{url}\"\nsignup_secret = \"{secret}\"\nsupported_architectures = [{}]\nidle_delay = {}\n\n[build]\ntimeout = {}\nmax_bytes = 10485760\n\n[diffoscope]\nenabled = false\n\n[backend.\"camhub\"]\npath = {:?}\n",
            archs.join(", "),
            options.idle_delay,
            options.build_timeout,
            options.backend.display().to_string(),
        ),
    )
    .unwrap();
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill_worker();
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        kill_marked(&format!("{}/daemon", self.marker));
    }
}

fn rss(pid: u32) -> Rss {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Rss {
        peak_kib: field("VmHWM:"),
        now_kib: field("VmRSS:"),
    }
}

/// Kills (SIGKILL, by pid) every process whose environment carries exactly
/// this marker: the processes this harness started and their descendants.
fn kill_marked(marker: &str) {
    let needle = format!("{MARKER_VAR}={marker}");
    let Ok(entries) = fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(environ) = fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|&b| b == 0).any(|v| v == needle.as_bytes()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}
