//! `cargo xtask e2e`: proves the producer against the real rocketmq-rust 1.0.0 servers.
//!
//! Installs `rocketmq-namesrv` and `rocketmq-broker` once into a cache outside the repo
//! (`$RMQ_E2E_CACHE`, else `~/.cache/rmq-e2e`), starts a name server and one broker on loopback
//! with free ports and a throwaway directory, and a second pair whose broker authenticates
//! every request (ACL signatures, user `AUTH_USER`), waits until the brokers have registered,
//! runs `integration-tests/tests/e2e_rocketmq_rust.rs`, and kills the servers however that
//! ends.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use rmq::prelude::RemotingCommand;
use rmq::remoting::body::TopicRouteData;
use rmq::remoting::code::{request, response};
use rmq::remoting::header::GetRouteInfoRequestHeader;

use crate::root;

const VERSION: &str = "1.0.0";
const NAMESRV_BIN: &str = "rocketmq-namesrv-rust";
const BROKER_BIN: &str = "rocketmq-broker-rust";
const BROKER_NAME: &str = "rmq-e2e-broker";
const AUTH_BROKER_NAME: &str = "rmq-e2e-auth-broker";
/// The authenticating broker's user: access key and secret key (a super user).
const AUTH_USER: (&str, &str) = ("rmq-e2e-ak", "rmq-e2e-sk");
/// The topic a broker with `autoCreateTopicEnable` registers; its route proves registration.
const CREATE_TOPIC_KEY: &str = "TBW102";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const LOG_TAIL_LINES: usize = 40;

pub fn run() -> Result<()> {
    let started = Instant::now();
    let (namesrv_bin, broker_bin) = install_servers()?;
    // Compile the tests before the servers start, so a slow build cannot trip their timers.
    crate::run("cargo", &test_args(true), &[])?;

    let mut cluster = Cluster::start(&namesrv_bin, &broker_bin, Security::Open)?;
    // Its own name server: a second broker on the first would take part of every new topic.
    let mut secured = match Cluster::start(&namesrv_bin, &broker_bin, Security::Authenticated) {
        Ok(secured) => secured,
        Err(e) => {
            cluster.fail();
            return Err(e);
        }
    };
    let namesrv = cluster.namesrv.to_string();
    let broker = cluster.broker.to_string();
    let auth_namesrv = secured.namesrv.to_string();
    let outcome = crate::run(
        "cargo",
        &test_args(false),
        &[
            ("RMQ_E2E_NAMESRV", &namesrv),
            ("RMQ_E2E_BROKER", &broker),
            ("RMQ_E2E_AUTH_NAMESRV", &auth_namesrv),
            ("RMQ_E2E_AUTH_ACCESS_KEY", AUTH_USER.0),
            ("RMQ_E2E_AUTH_SECRET_KEY", AUTH_USER.1),
        ],
    )
    // Still running after the tests means no server crashed under them.
    .and_then(|()| cluster.check_alive())
    .and_then(|()| secured.check_alive());
    if let Err(e) = outcome {
        cluster.fail();
        secured.fail();
        return Err(e);
    }
    drop(secured);
    drop(cluster);
    println!(
        "e2e: rocketmq-rust {VERSION} suite passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A real name server and broker for other commands (`cargo xtask demo --real`); both are
/// stopped when this is dropped.
pub struct RealServers {
    cluster: Cluster,
}

impl RealServers {
    /// Installs the servers if needed and starts them on loopback.
    pub fn start() -> Result<Self> {
        let (namesrv_bin, broker_bin) = install_servers()?;
        Ok(Self {
            cluster: Cluster::start(&namesrv_bin, &broker_bin, Security::Open)?,
        })
    }

    /// The name server's address.
    pub fn namesrv(&self) -> String {
        self.cluster.namesrv.to_string()
    }
}

fn test_args(no_run: bool) -> Vec<&'static str> {
    let mut args = vec![
        "test",
        "-p",
        "integration-tests",
        "--test",
        "e2e_rocketmq_rust",
    ];
    if no_run {
        args.push("--no-run");
    } else {
        args.extend(["--", "--ignored", "--test-threads=1"]);
    }
    args
}

/// `$RMQ_E2E_CACHE`, else `~/.cache/rmq-e2e`; never inside the repo, where cargo and git
/// would see a few GiB of build output.
pub(crate) fn cache_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("RMQ_E2E_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => std::env::var_os("HOME")
            .map(|home| Path::new(&home).join(".cache").join("rmq-e2e"))
            .context("set HOME or RMQ_E2E_CACHE to choose where the servers are installed")?,
    };
    let dir = if dir.is_absolute() {
        dir
    } else {
        std::env::current_dir()?.join(dir)
    };
    if dir.starts_with(root()) {
        bail!(
            "RMQ_E2E_CACHE={} is inside the repository; choose a folder outside it",
            dir.display()
        );
    }
    Ok(dir)
}

/// The two server binaries, installed with `cargo install --locked` unless already there.
fn install_servers() -> Result<(PathBuf, PathBuf)> {
    let cache = cache_dir()?;
    let prefix = cache.join(format!("rocketmq-rust-{VERSION}"));
    let namesrv = prefix.join("bin").join(NAMESRV_BIN);
    let broker = prefix.join("bin").join(BROKER_BIN);
    if namesrv.is_file() && broker.is_file() {
        println!("using rocketmq-rust {VERSION} from {}", prefix.display());
        return Ok((namesrv, broker));
    }
    println!(
        "installing rocketmq-rust {VERSION} into {} (once; this takes a while)",
        prefix.display()
    );
    let prefix_arg = prefix.to_string_lossy().into_owned();
    let target_arg = cache.join("target").to_string_lossy().into_owned();
    let namesrv_pkg = format!("rocketmq-namesrv@{VERSION}");
    let broker_pkg = format!("rocketmq-broker@{VERSION}");
    crate::run(
        "cargo",
        &[
            "install",
            "--locked",
            "--root",
            &prefix_arg,
            "--target-dir",
            &target_arg,
            &namesrv_pkg,
            &broker_pkg,
        ],
        &[],
    )?;
    if !(namesrv.is_file() && broker.is_file()) {
        bail!(
            "cargo install finished but {} or {} is missing",
            namesrv.display(),
            broker.display()
        );
    }
    Ok((namesrv, broker))
}

/// One server process, its output captured in `log`.
struct Server {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

/// Whether a cluster's broker authenticates requests.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Security {
    Open,
    /// Every request must be signed by `AUTH_USER`.
    Authenticated,
}

/// A running name server and broker. Dropping it kills both (broker first) and removes the
/// scratch directory, unless a failure asked to keep it for inspection.
struct Cluster {
    dir: PathBuf,
    servers: Vec<Server>,
    namesrv: SocketAddr,
    broker: SocketAddr,
    keep_dir: bool,
}

impl Cluster {
    fn start(namesrv_bin: &Path, broker_bin: &Path, security: Security) -> Result<Self> {
        let dir = crate::scratch::fresh_dir("rmq-e2e")?;
        let ports = Ports::reserve()?;
        let mut cluster = Cluster {
            namesrv: SocketAddr::from(([127, 0, 0, 1], ports.namesrv)),
            broker: SocketAddr::from(([127, 0, 0, 1], ports.broker)),
            dir,
            servers: Vec::new(),
            keep_dir: false,
        };
        if let Err(e) = cluster.boot(namesrv_bin, broker_bin, &ports, security) {
            cluster.fail();
            return Err(e);
        }
        Ok(cluster)
    }

    fn boot(
        &mut self,
        namesrv_bin: &Path,
        broker_bin: &Path,
        ports: &Ports,
        security: Security,
    ) -> Result<()> {
        let namesrv_config = self.dir.join("namesrv.toml");
        fs::write(&namesrv_config, namesrv_toml(&self.dir, ports.namesrv))?;
        let broker_config = self.dir.join("broker.toml");
        fs::write(&broker_config, broker_toml(&self.dir, ports, security))?;
        println!("e2e: servers in {}", self.dir.display());

        let begun = Instant::now();
        self.spawn("namesrv", namesrv_bin, &[Path::new("-c"), &namesrv_config])?;
        self.wait_for(self.namesrv, "name server accepts connections", |addr| {
            Ok(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok())
        })?;
        println!(
            "e2e: name server up on {} in {:.1}s",
            self.namesrv,
            begun.elapsed().as_secs_f64()
        );

        let begun = Instant::now();
        self.spawn("broker", broker_bin, &[Path::new("-c"), &broker_config])?;
        self.wait_for(self.broker, "broker accepts connections", |addr| {
            Ok(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok())
        })?;
        let (namesrv, broker) = (self.namesrv, self.broker.to_string());
        self.wait_for(namesrv, "broker registers TBW102", |addr| {
            route_has_broker(addr, CREATE_TOPIC_KEY, &broker)
        })?;
        println!(
            "e2e: broker up on {} and registered in {:.1}s",
            self.broker,
            begun.elapsed().as_secs_f64()
        );
        Ok(())
    }

    fn spawn(&mut self, name: &'static str, bin: &Path, args: &[&Path]) -> Result<()> {
        let log = self.dir.join(format!("{name}.log"));
        let out = File::create(&log)?;
        let err = out.try_clone()?;
        let child = Command::new(bin)
            .args(args)
            .current_dir(&self.dir)
            // Both servers fall back to $HOME and $ROCKETMQ_HOME for stores, configs and logs;
            // point them at the scratch directory so nothing leaks into the user's home.
            .env("HOME", &self.dir)
            .env("ROCKETMQ_HOME", &self.dir)
            .env("RUST_LOG", "info")
            .env_remove("NAMESRV_ADDR")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("could not start {}", bin.display()))?;
        println!("e2e: started {name} (pid {})", child.id());
        self.servers.push(Server { name, child, log });
        Ok(())
    }

    /// Polls `ready` until it holds, a server exits, or [`STARTUP_TIMEOUT`] passes.
    fn wait_for(
        &mut self,
        addr: SocketAddr,
        what: &str,
        mut ready: impl FnMut(SocketAddr) -> Result<bool>,
    ) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            self.check_alive()?;
            if ready(addr)? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("timed out after {STARTUP_TIMEOUT:?} waiting until the {what} ({addr})");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Fails if a server has exited (rocketmq-rust exits 70 on a bad configuration).
    fn check_alive(&mut self) -> Result<()> {
        for server in &mut self.servers {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the {} exited early with {status} (rocketmq-rust servers exit with 70 on a \
                     configuration or start-up failure; its broker also refuses to start on a disk \
                     more than 90 % used, counted as (total - available) / total)",
                    server.name
                );
            }
        }
        Ok(())
    }

    /// Prints the end of each server's log and keeps the scratch directory.
    fn fail(&mut self) {
        self.keep_dir = true;
        for server in &self.servers {
            eprintln!(
                "---- last {LOG_TAIL_LINES} lines of {} ----",
                server.log.display()
            );
            eprintln!("{}", tail(&server.log, LOG_TAIL_LINES));
        }
        eprintln!("e2e: server files kept in {}", self.dir.display());
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for server in self.servers.iter_mut().rev() {
            if server.child.try_wait().ok().flatten().is_none() {
                let _ = server.child.kill();
            }
            let _ = server.child.wait();
            println!("e2e: stopped {} (pid {})", server.name, server.child.id());
        }
        if !self.keep_dir {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Free loopback ports, found by binding port 0 and releasing. The broker also listens on
/// `listenPort - 2` (its "fast" port), so that one must be free too.
struct Ports {
    namesrv: u16,
    broker: u16,
    ha: u16,
}

impl Ports {
    fn reserve() -> Result<Self> {
        for _ in 0..100 {
            let broker = TcpListener::bind("127.0.0.1:0")?;
            let broker_port = broker.local_addr()?.port();
            let Some(fast_port) = broker_port.checked_sub(2) else {
                continue;
            };
            let Ok(_fast) = TcpListener::bind(("127.0.0.1", fast_port)) else {
                continue;
            };
            let namesrv = TcpListener::bind("127.0.0.1:0")?;
            let ha = TcpListener::bind("127.0.0.1:0")?;
            return Ok(Ports {
                namesrv: namesrv.local_addr()?.port(),
                broker: broker_port,
                ha: ha.local_addr()?.port(),
            });
        }
        bail!("could not find free loopback ports for the broker")
    }
}

/// TOML needs `\` and `"` escaped inside basic strings.
fn toml_path(path: &Path) -> String {
    path.to_string_lossy()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// The name server's configuration (rocketmq-namesrv 1.0.0 `NamesrvConfig` plus the
/// `listenPort` / `bindAddress` transport overrides).
fn namesrv_toml(dir: &Path, port: u16) -> String {
    let home = toml_path(dir);
    let kv = toml_path(&dir.join("namesrv").join("kvConfig.json"));
    let store = toml_path(&dir.join("namesrv").join("namesrv.properties"));
    format!(
        r#"rocketmqHome = "{home}"
kvConfigPath = "{kv}"
configStorePath = "{store}"
bindAddress = "127.0.0.1"
listenPort = {port}
"#
    )
}

/// The broker's configuration (rocketmq-broker 1.0.0 canonical TOML; unknown keys are
/// rejected). An authenticating broker refuses every request not signed by `AUTH_USER`
/// (created at start as a super user, so authorization needs no rules) with code 16.
fn broker_toml(dir: &Path, ports: &Ports, security: Security) -> String {
    let store = toml_path(&dir.join("store"));
    let auth = toml_path(&dir.join("auth"));
    let (namesrv, broker, ha) = (ports.namesrv, ports.broker, ports.ha);
    let (name, auth_keys) = match security {
        Security::Open => (BROKER_NAME, String::new()),
        Security::Authenticated => (
            AUTH_BROKER_NAME,
            format!(
                "authenticationEnabled = true\ninitAuthenticationUser = \"{}:{}\"\n",
                AUTH_USER.0, AUTH_USER.1
            ),
        ),
    };
    format!(
        r#"[broker]
brokerIp1 = "127.0.0.1"
listenPort = {broker}
namesrvAddr = "127.0.0.1:{namesrv}"
storePathRootDir = "{store}"
authConfigPath = "{auth}"
{auth_keys}# The default, stated because every test topic is created on first send through TBW102.
autoCreateTopicEnable = true
# Check undecided transactions after a second, every second (defaults: 6 s and 30 s), so the
# check-back test is quick.
transactionTimeout = 1000
transactionCheckInterval = 1000

[broker.brokerServerConfig]
bindAddress = "127.0.0.1"

[broker.brokerIdentity]
brokerName = "{name}"
brokerClusterName = "DefaultCluster"
brokerId = 0

[store]
brokerRole = "ASYNC_MASTER"
flushDiskType = "ASYNC_FLUSH"
haListenAddress = "127.0.0.1"
haListenPort = {ha}
storePathRootDir = "{store}"
# Small files (defaults: 1 GiB commit log, 6 MB per consume queue, 420 MB index): the suite
# writes a few MiB.
mappedFileSizeCommitLog = 67108864
mappedFileSizeConsumeQueue = 600000
maxHashSlotNum = 10000
maxIndexNum = 40000
"#
    )
}

/// Asks the name server for `topic`'s route; true once `broker` is its master. Any transport
/// or decoding problem counts as "not yet", since the name server may still be starting.
fn route_has_broker(namesrv: SocketAddr, topic: &str, broker: &str) -> Result<bool> {
    let request = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
        .with_header(GetRouteInfoRequestHeader::new(topic))
        .with_opaque(1);
    let Ok(response) = round_trip(namesrv, &request) else {
        return Ok(false);
    };
    if response.code() != response::SUCCESS {
        return Ok(false);
    }
    Ok(
        TopicRouteData::from_json(response.body()).is_ok_and(|route| {
            route
                .broker_datas
                .iter()
                .any(|b| b.master_addr() == Some(broker))
        }),
    )
}

/// One blocking request/response over a fresh connection.
fn round_trip(addr: SocketAddr, request: &RemotingCommand) -> Result<RemotingCommand> {
    const MAX_FRAME: usize = 16 << 20;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    stream.set_write_timeout(Some(Duration::from_secs(3)))?;
    stream.write_all(&request.encode_to_bytes()?)?;
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = usize::try_from(u32::from_be_bytes(len))?;
    if len > MAX_FRAME {
        bail!("{len}-byte frame from {addr}");
    }
    let mut frame = vec![0u8; len];
    stream.read_exact(&mut frame)?;
    Ok(RemotingCommand::decode_frame(Bytes::from(frame))?)
}

/// The last `lines` lines of `path` without terminal colours (the servers colour their logs
/// even when writing to a file), or why it could not be read.
fn tail(path: &Path, lines: usize) -> String {
    let text = match fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => return format!("(cannot read: {e})"),
    };
    let all: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for line in &all[all.len().saturating_sub(lines)..] {
        let mut rest = *line;
        // Drop CSI sequences: ESC '[' parameters, ending at a letter.
        while let Some(start) = rest.find('\u{1b}') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let end = after
                .strip_prefix('[')
                .and_then(|csi| csi.find(|c: char| c.is_ascii_alphabetic()).map(|i| i + 2))
                .unwrap_or(0);
            rest = &after[end..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    out
}
