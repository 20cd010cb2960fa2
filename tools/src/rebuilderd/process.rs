//! The processes of a rebuild: each dies with the backend, the backend
//! dies with the worker, and whatever the build leaves running is stopped
//! before its folder is removed.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::build::interrupt;
use crate::style::escape_untrusted;

/// The start of the line the backend prints when it cannot adopt the
/// build's orphans (the tests look for it).
pub const SUBREAPER_WARNING: &str = "warning: cannot become a subreaper";

/// Makes this process get SIGTERM when its parent (the worker) dies, so a
/// killed worker does not leave a rebuild running. Fails when the parent is
/// already gone: nobody would read the result.
pub fn die_with_parent() -> Result<()> {
    // SAFETY: getppid and prctl(PR_SET_PDEATHSIG) only read and set this process's own state.
    let parent = unsafe { libc::getppid() };
    let set = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) };
    if set != 0 {
        bail!(
            "prctl(PR_SET_PDEATHSIG): {}",
            std::io::Error::last_os_error()
        );
    }
    // Orphans of the build (a rustc whose cargo died) become ours to stop.
    // Linux has had this since 3.4; qemu-user before 8.0 does not emulate it
    // (Invalid argument), and then the backend still dies with its worker,
    // only what the build detached from it may outlive it: say so, go on.
    let reaper = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if reaper != 0 {
        eprintln!(
            "{SUBREAPER_WARNING} ({}): a process the build detaches from it may outlive a killed worker",
            std::io::Error::last_os_error()
        );
    }
    // The parent may have died between the two calls: then we were reparented.
    if unsafe { libc::getppid() } != parent {
        bail!("the process that started the backend is gone; nothing to rebuild for");
    }
    Ok(())
}

/// An exclusive lock on a kept work folder, held while the handle lives.
/// Workers on one machine run one backend script and so share its
/// --work-dir: without it, one's checkout and `git clean` would swap the
/// sources under the other's build. Polled rather than blocking, so that a
/// stop signal (the worker dying) still ends the wait.
pub fn lock_work_dir(dir: &Path, log: &mut dyn Write) -> Result<File> {
    let handle = File::open(dir)
        .with_context(|| format!("{}: cannot open the work folder", dir.display()))?;
    let mut said = false;
    loop {
        // SAFETY: flock on a descriptor we own; no memory is involved.
        if unsafe { libc::flock(handle.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(handle);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) | Some(libc::EINTR) => {}
            _ => bail!("{}: cannot lock the work folder: {e}", dir.display()),
        }
        if !said {
            writeln!(
                log,
                "==> waiting for {}: another rebuild is using this work folder",
                dir.display()
            )?;
            said = true;
        }
        interrupt::check()?;
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A temporary work folder, removed when dropped: retried for a while, since
/// a build being stopped may still be closing files in it.
pub struct RemovedOnDrop(pub PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        for _ in 0..40 {
            match std::fs::remove_dir_all(&self.0) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
        eprintln!(
            "warning: {}: could not remove the work folder; remove it by hand",
            self.0.display()
        );
    }
}

/// Stops and reaps every process left over from the build: as a subreaper
/// ([`die_with_parent`]) the backend inherits its orphaned descendants.
pub fn reap_orphans() {
    let me = std::process::id();
    for round in 0..40 {
        let orphans = children_of(me);
        if orphans.is_empty() {
            return;
        }
        let signal = if round < 20 {
            libc::SIGTERM
        } else {
            libc::SIGKILL
        };
        for pid in orphans {
            // SAFETY: kill and waitpid act only on our own children.
            unsafe {
                libc::kill(pid, signal);
                libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The pids whose parent is `parent`, from /proc.
fn children_of(parent: u32) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split(' ').nth(1)?.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .collect()
}

pub trait Succeeded {
    fn success_or(self, what: &str) -> Result<()>;
}

impl Succeeded for ExitStatus {
    fn success_or(self, what: &str) -> Result<()> {
        if self.success() {
            Ok(())
        } else {
            bail!("{what} failed ({self})")
        }
    }
}

/// A command that dies with the backend, in a process group of its own so
/// that stopping it stops what it started.
fn command(argv: &[OsString], dir: Option<&Path>) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    // Never ask a person for a password: there is none, only a build log.
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

/// Runs a command with its output going to the build log (inherited), and
/// stops it when the backend is told to stop.
pub fn run_logged(
    argv: &[OsString],
    dir: Option<&Path>,
    log: &mut dyn Write,
) -> Result<ExitStatus> {
    interrupt::check()?;
    writeln!(
        log,
        "+ {}",
        argv.iter()
            .map(|a| escape_untrusted(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    )?;
    log.flush()?;
    // Their stdout too is log: ours carries only the verdict lines.
    let stderr = std::io::stderr().as_fd().try_clone_to_owned()?;
    let mut child = command(argv, dir)
        .stdout(stderr)
        .spawn()
        .with_context(|| format!("cannot run {}", argv[0].to_string_lossy()))?;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if let Err(stop) = interrupt::check() {
            // The group id is the child's pid, ours until it is reaped below.
            // SAFETY: killpg only sends a signal.
            unsafe { libc::killpg(child.id() as libc::pid_t, libc::SIGTERM) };
            child.wait()?;
            return Err(stop.into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a short command and returns its status and stdout.
pub fn run_capture(argv: &[OsString]) -> Result<(ExitStatus, String)> {
    interrupt::check()?;
    let out = command(argv, None)
        .stderr(std::process::Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", argv[0].to_string_lossy()))?;
    Ok((
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// The program's path on PATH, if any.
pub fn which(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}
