//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary
//! directory, the system's PostgreSQL binaries, a free port on 127.0.0.1,
//! PostGIS from the system's packages. One cluster per test binary, one fresh
//! database per test. A watchdog stops the cluster and removes its directory
//! when the test process ends.
//!
//! Without PostgreSQL the tests that need it print a loud notice and pass
//! as skipped; with `CI=true` a missing PostgreSQL fails them instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct Cluster {
    bin: PathBuf,
    pub port: u16,
    dir: PathBuf,
    /// Runs commands as this user when the tests run as root (PostgreSQL refuses root).
    run_as: Option<String>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);
static CLUSTERS: AtomicU32 = AtomicU32::new(0);

/// The shared cluster, or `None` (after a loud notice) when PostgreSQL with
/// PostGIS is not installed. Panics in CI, where it must be.
pub fn cluster() -> Option<&'static Cluster> {
    match CLUSTER.get_or_init(start) {
        Ok(c) => Some(c),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but the PostgreSQL tests cannot run: {why}")
        }
        Err(why) => {
            eprintln!(
                "\n*** SKIPPED: PostgreSQL tests ({why}). Install postgresql-15 and \
                 postgresql-15-postgis-3, or set TRYGG_PG_BIN. ***\n"
            );
            None
        }
    }
}

/// A cluster of the caller's own, for tests that stop and start it.
pub fn private_cluster() -> Option<Cluster> {
    cluster()?;
    Some(start().expect("start a private PostgreSQL cluster"))
}

/// A URL of a new, empty database in the shared cluster.
pub fn fresh_database() -> Option<String> {
    let name = format!("trygg_test_{}", DATABASES.fetch_add(1, Ordering::Relaxed));
    Some(cluster()?.create_database(&name))
}

impl Cluster {
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database in this cluster.
    pub fn create_database(&self, name: &str) -> String {
        let status = self
            .command("createdb")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ])
            .status()
            .expect("run createdb");
        assert!(status.success(), "createdb {name} failed");
        self.url(name)
    }

    /// Stops the server as an operator would for a restart (`pg_ctl stop -m fast`).
    pub fn stop(&self) {
        let ok = self
            .command("pg_ctl")
            .args(["stop", "-m", "fast", "-w", "-D"])
            .arg(self.dir.join("data"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "pg_ctl stop failed");
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c max_connections=400 -c fsync=off -c shared_buffers=64MB",
            self.port,
            self.dir.display()
        );
        output(
            self.command("pg_ctl")
                .args(["start", "-w", "-t", "30", "-o", &options, "-l"])
                .arg(self.dir.join("log"))
                .arg("-D")
                .arg(self.dir.join("data")),
        )
        .map_err(|e| {
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            format!("{e}; server log: {log}")
        })?;
        Ok(())
    }

    /// One of the PostgreSQL programs.
    fn command(&self, program: &str) -> Command {
        self.as_user(self.bin.join(program))
    }

    fn as_user(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        if let Some(user) = &self.run_as {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }
}

fn pg_bin() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("TRYGG_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "no /usr/lib/postgresql".to_owned())?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql".to_owned())
}

fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn start() -> Result<Cluster, String> {
    let bin = pg_bin()?;
    let share = output(Command::new(bin.join("pg_config")).arg("--sharedir"))?;
    if !Path::new(&share).join("extension/postgis.control").exists() {
        return Err(format!("PostGIS is not installed in {share}"));
    }
    let root = output(Command::new("id").arg("-u"))? == "0";
    let run_as = root.then(|| "postgres".to_owned());

    let dir = std::env::temp_dir().join(format!(
        "trygg-pg-{}-{}",
        std::process::id(),
        CLUSTERS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    if let Some(user) = &run_as {
        output(Command::new("chown").arg(user).arg(&dir))?;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let cluster = Cluster {
        bin,
        port,
        dir,
        run_as,
    };
    output(
        cluster
            .command("initdb")
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "-D",
            ])
            .arg(cluster.dir.join("data")),
    )?;
    cluster.start()?;

    // The watchdog stops the server and removes its directory once this
    // test process has ended.
    let script = format!(
        "while [ -d /proc/{test} ]; do sleep 1; done; \
         {pg_ctl} stop -m immediate -D {dir}/data; rm -rf {dir}",
        test = std::process::id(),
        pg_ctl = cluster.bin.join("pg_ctl").display(),
        dir = cluster.dir.display(),
    );
    cluster
        .as_user("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the watchdog: {e}"))?;
    Ok(cluster)
}
