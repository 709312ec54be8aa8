//! The command line (clap): `rmq [--namesrv A] [--group G] [--topic T] [--embedded] [--threads N]
//! <command>`.

use std::time::Duration;

use clap::{Args, FromArgMatches, Parser, Subcommand, ValueEnum};
use rmq::client::AutoBatch;
use rmq::common::CompressionType;
use rmq::remoting::SerializeType;

/// rmq: send messages to RocketMQ, inspect routes, and benchmark producers.
#[derive(Debug, Parser)]
#[command(name = "rmq", version, about, propagate_version = true)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub common: Common,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Args)]
pub struct Common {
    /// Name server address(es), `HOST:PORT[;HOST:PORT]`.
    #[arg(long, global = true, env = "NAMESRV_ADDR")]
    pub namesrv: Option<String>,
    /// Producer group.
    #[arg(long, global = true, default_value = "rmq_cli_producer")]
    pub group: String,
    /// Topic.
    #[arg(long, global = true, default_value = "TopicTest")]
    pub topic: String,
    /// Start rmq's in-process test cluster and use it instead of a name server.
    #[arg(long, global = true)]
    pub embedded: bool,
    /// Header serialization on the wire.
    #[arg(long, global = true, value_enum, default_value_t = Serialization::Json)]
    pub serialization: Serialization,
    /// Run the embedded cluster on the command's runtime instead of its own: round trips
    /// need no wake-up of another thread, but its CPU time counts in `rmq bench`'s figures.
    #[arg(long, global = true, requires = "embedded")]
    pub embedded_shared: bool,
    /// Runtime worker threads (1: one thread; default: one per CPU). The embedded cluster
    /// gets its own runtime of the same size.
    #[arg(long, global = true)]
    pub threads: Option<std::num::NonZeroUsize>,
    /// ACL access key: every request is signed (with --embedded, the cluster checks it).
    #[arg(long, global = true, requires = "secret_key")]
    pub access_key: Option<String>,
    /// ACL secret key; better from the environment, so it stays out of the shell's history.
    #[arg(
        long,
        global = true,
        env = "RMQ_SECRET_KEY",
        hide_env_values = true,
        requires = "access_key"
    )]
    pub secret_key: Option<String>,
    /// Speak TLS to the name servers and brokers (with --embedded, the cluster does too).
    #[arg(long, global = true)]
    pub tls: bool,
    /// Trust the CA certificates in this PEM file instead of the platform's.
    #[arg(long, global = true, requires = "tls")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// Check the servers' certificates for this name instead of the address's host.
    #[arg(long, global = true, requires = "tls")]
    pub tls_server_name: Option<String>,
    /// Accept any server certificate, unchecked: test clusters only.
    #[arg(long, global = true, requires = "tls")]
    pub tls_insecure: bool,
    /// Log to stderr at this level or a `tracing` filter (`info`, `rmq=debug`, ...); also
    /// `RUST_LOG`.
    #[arg(long, global = true, env = "RUST_LOG")]
    pub log: Option<String>,
}

impl std::fmt::Debug for Common {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Common")
            .field("namesrv", &self.namesrv)
            .field("group", &self.group)
            .field("topic", &self.topic)
            .field("embedded", &self.embedded)
            .field("access_key", &self.access_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send messages and print each SendResult.
    Send(SendArgs),
    /// Send a request and print the reply (request-reply: a responder must answer).
    Request(RequestArgs),
    /// Show a topic's route and publish queues.
    Route,
    /// Benchmark a producer: a line each second, then a latency summary.
    Bench(BenchArgs),
}

/// `rmq send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Message tags.
    #[arg(long)]
    pub tags: Option<String>,
    /// Message keys, separated by commas.
    #[arg(long, value_delimiter = ',')]
    pub keys: Vec<String>,
    /// The body as text.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the body from a file.
    #[arg(long)]
    pub body_file: Option<std::path::PathBuf>,
    /// How to send.
    #[arg(long, value_enum, default_value_t = SendMode::Sync)]
    pub mode: SendMode,
    /// How many messages.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Send each message in a transaction that the local transaction ends this way (a
    /// transactional send is always sync).
    #[arg(long, value_enum, conflicts_with = "mode")]
    pub transaction: Option<TransactionOutcome>,
    /// What to answer when a broker checks an undecided transaction.
    #[arg(long, value_enum, default_value_t = TransactionOutcome::Commit, requires = "transaction")]
    pub on_check: TransactionOutcome,
    /// Stay this many seconds after sending to answer the broker's checks.
    #[arg(long, default_value_t = 0, requires = "transaction")]
    pub wait_checks: u64,
    /// Write a message trace record of each send (Java's `enableMsgTrace`).
    #[arg(long)]
    pub msg_trace: bool,
}

/// How a transaction of `rmq send --transaction` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TransactionOutcome {
    /// Deliver the message.
    Commit,
    /// Discard it.
    Rollback,
    /// Leave it undecided: the broker checks back later.
    Unknown,
}

/// `rmq request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The request body as text.
    #[arg(long, default_value = "Hello RocketMQ")]
    pub body: String,
    /// How long to wait for the reply, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub timeout_ms: u64,
}

/// How `rmq send` sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SendMode {
    /// Wait for each answer.
    Sync,
    /// Send all, then collect the answers.
    Async,
    /// Do not wait for answers.
    Oneway,
}

/// `rmq bench`.
#[derive(Clone, Debug, Args)]
pub struct BenchArgs {
    /// How to send.
    #[arg(long, value_enum, default_value_t = BenchMode::Async)]
    pub mode: BenchMode,
    /// Sends in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Body size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Send for this many seconds before measuring, so the figures leave out the start
    /// (connections filling their buffers, the first allocations).
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,
    /// Messages per batch in batch mode.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Compress every body with this algorithm.
    #[arg(long, value_enum)]
    pub compress: Option<Compress>,
    /// Make the last line of stdout one JSON object with the results.
    #[arg(long)]
    pub json: bool,
    /// Write a message trace record of each send (Java's `enableMsgTrace`).
    #[arg(long)]
    pub msg_trace: bool,
    /// Offer this many messages a second in all, spread over the workers, instead of as many
    /// as they can; latency counts from each send's scheduled time, so queueing behind a slow
    /// send shows (no coordinated omission). Sends wait on tokio's timer until their last
    /// millisecond, then yield until due, so each leaves within microseconds of its time (the
    /// yielding counts as client CPU).
    #[arg(long)]
    pub rate: Option<std::num::NonZeroU64>,
    /// Serve the producer's metrics in Prometheus' text format on this address
    /// (`127.0.0.1:9000`, path `/metrics`) while the benchmark runs.
    #[arg(long)]
    pub metrics: Option<std::net::SocketAddr>,
    /// Batch single messages automatically (Java 5.x `autoBatch`): messages sent while
    /// earlier ones are out travel together, each with its own result.
    #[arg(long)]
    pub auto_batch: bool,
    /// With `--auto-batch`: the longest a message waits for others, in milliseconds (10).
    #[arg(long, requires = "auto_batch")]
    pub hold_ms: Option<u64>,
    /// With `--auto-batch`: the batch size in bytes that sends at once (32768).
    #[arg(long, requires = "auto_batch")]
    pub batch_bytes: Option<usize>,
}

impl BenchArgs {
    /// The flags' defaults, as `rmq bench` with none given: for callers that build the
    /// arguments in code and change a few (`..BenchArgs::defaults()`).
    ///
    /// ```
    /// let args = rmq_cli::cli::BenchArgs::defaults();
    /// assert_eq!((args.concurrency, args.size), (64, 1024));
    /// ```
    pub fn defaults() -> Self {
        let command = Self::augment_args(clap::Command::new("bench"));
        let matches = command.get_matches_from(["bench"]);
        // Every flag has a default or is optional: nothing to fail on.
        Self::from_arg_matches(&matches).expect("BenchArgs' defaults parse")
    }

    /// The automatic batching the flags ask for, if any.
    pub fn auto_batch(&self) -> Option<AutoBatch> {
        if !self.auto_batch {
            return None;
        }
        let mut batching = AutoBatch::default();
        if let Some(ms) = self.hold_ms {
            batching = batching.with_hold(Duration::from_millis(ms));
        }
        if let Some(bytes) = self.batch_bytes {
            batching = batching.with_batch_bytes(bytes);
        }
        Some(batching)
    }
}

/// How `rmq bench` sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchMode {
    /// Each worker waits for each answer.
    Sync,
    /// Each worker keeps one async send in flight.
    Async,
    /// Fire and forget.
    Oneway,
    /// Batches of `--batch` messages.
    Batch,
}

impl BenchMode {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            BenchMode::Sync => "sync",
            BenchMode::Async => "async",
            BenchMode::Oneway => "oneway",
            BenchMode::Batch => "batch",
        }
    }
}

/// Compression choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Compress {
    /// zlib (Java's default).
    Zlib,
    /// zstd.
    Zstd,
    /// lz4 frame.
    Lz4,
}

impl From<Compress> for CompressionType {
    fn from(c: Compress) -> Self {
        match c {
            Compress::Zlib => CompressionType::Zlib,
            Compress::Zstd => CompressionType::Zstd,
            Compress::Lz4 => CompressionType::Lz4,
        }
    }
}

/// Header serialization choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Serialization {
    /// JSON headers (Java's default).
    Json,
    /// ROCKETMQ binary headers.
    Rocketmq,
}

impl From<Serialization> for SerializeType {
    fn from(s: Serialization) -> Self {
        match s {
            Serialization::Json => SerializeType::Json,
            Serialization::Rocketmq => SerializeType::RocketMq,
        }
    }
}
