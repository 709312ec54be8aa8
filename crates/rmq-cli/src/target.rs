//! Which cluster a command talks to: `--namesrv`, `NAMESRV_ADDR`, or `--embedded`.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use parking_lot::Mutex;
use rmq_testkit::TestCluster;
use tokio::sync::oneshot;

use crate::cli::Common;
use crate::resources;
use crate::security::Security;

/// Messages each embedded broker keeps for inspection: enough for `rmq send`, small enough
/// that a long benchmark's memory stays flat.
const EMBEDDED_RETENTION: usize = 10_000;

/// The name server to use; holds the embedded cluster alive while the command runs.
#[derive(Debug)]
pub struct Target {
    /// Name server addresses, `;`-separated as Java's `namesrvAddr`.
    pub namesrv: String,
    /// The embedded cluster, when one was started.
    pub embedded: Option<EmbeddedCluster>,
    /// ACL signing and TLS for the command's producer or client.
    pub security: Security,
}

impl Target {
    /// Resolves the target from the common flags, starting the embedded cluster if asked.
    pub async fn resolve(common: &Common) -> Result<Target> {
        if common.embedded {
            // The embedded cluster checks what the flags make the producer send.
            let secured = Secured {
                acl: common.access_key.clone().zip(common.secret_key.clone()),
                tls: common.tls,
            };
            let cluster = if common.embedded_shared {
                EmbeddedCluster::start_shared(&common.topic, &secured).await?
            } else {
                EmbeddedCluster::start(&common.topic, common.threads, &secured).await?
            };
            return Ok(Target {
                namesrv: cluster.namesrv.clone(),
                security: Security::from_common(common, cluster.ca_pem.as_deref())?,
                embedded: Some(cluster),
            });
        }
        match common.namesrv.as_deref().map(str::trim) {
            Some(addr) if !addr.is_empty() => Ok(Target {
                namesrv: addr.to_owned(),
                embedded: None,
                security: Security::from_common(common, None)?,
            }),
            _ => bail!(
                "no name server: pass --namesrv HOST:PORT, set NAMESRV_ADDR, or use --embedded"
            ),
        }
    }

    /// Stops the embedded cluster, if any.
    pub async fn stop(self) {
        if let Some(cluster) = self.embedded {
            cluster.stop().await;
        }
    }
}

/// rmq's test cluster (two brokers) in this process: on its own runtime and threads, as a
/// separate server would be, so the command's CPU figures leave it out; or on the command's
/// runtime (`--embedded-shared`), where a round trip needs no wake-up of another thread.
#[derive(Debug)]
pub struct EmbeddedCluster {
    namesrv: String,
    /// Each broker's name and address.
    brokers: Vec<(String, String)>,
    /// The cluster runtime's threads, for [`cpu`](Self::cpu); empty when shared.
    tids: Arc<Mutex<Vec<i32>>>,
    run: Run,
    /// The CA its TLS certificate comes from, when it speaks TLS.
    ca_pem: Option<String>,
}

/// What the embedded cluster checks: signatures by these keys, and TLS.
#[derive(Clone, Debug, Default)]
pub struct Secured {
    /// ACL access key and secret key.
    pub acl: Option<(String, String)>,
    /// Whether it speaks TLS only.
    pub tls: bool,
}

#[derive(Debug)]
enum Run {
    Own {
        stop: oneshot::Sender<()>,
        thread: JoinHandle<()>,
    },
    /// Boxed: the cluster is much larger than the other variant.
    Shared(Box<TestCluster>),
}

fn brokers(cluster: &TestCluster) -> Vec<(String, String)> {
    cluster
        .brokers()
        .iter()
        .map(|b| (b.name().to_owned(), b.addr()))
        .collect()
}

fn builder(topic: &str, secured: &Secured) -> Result<rmq_testkit::TestClusterBuilder> {
    let mut builder = TestCluster::builder()
        .brokers(2)
        .topic(topic, 8)
        .max_stored_messages(EMBEDDED_RETENTION)
        // Undecided transactions are checked within a second or two (`send --wait-checks`).
        .transaction_check_interval(std::time::Duration::from_secs(1))
        .tls(secured.tls);
    if let Some((access_key, secret_key)) = &secured.acl {
        if access_key.is_empty() || secret_key.is_empty() {
            bail!("--access-key and --secret-key must not be empty");
        }
        builder = builder.acl(access_key, secret_key);
    }
    Ok(builder)
}

impl EmbeddedCluster {
    /// Starts the cluster with `topic` (8 queues per broker) on a runtime of `threads` workers.
    pub async fn start(
        topic: &str,
        threads: Option<NonZeroUsize>,
        secured: &Secured,
    ) -> Result<Self> {
        let tids = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let builder = builder(topic, secured)?;
        let thread_tids = tids.clone();
        let thread = std::thread::Builder::new()
            .name("rmq-embedded".into())
            .spawn(move || {
                thread_tids.lock().push(resources::thread_id());
                let started = {
                    let tids = thread_tids.clone();
                    crate::runtime::build(threads, "rmq-embedded", move || {
                        tids.lock().push(resources::thread_id());
                    })
                };
                let runtime = match started {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = started_tx.send(Err(anyhow::Error::new(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match builder.start().await {
                        Ok(cluster) => {
                            let ca = cluster.tls_ca_pem().map(str::to_owned);
                            let _ = started_tx.send(Ok((
                                cluster.namesrv_addr(),
                                brokers(&cluster),
                                ca,
                            )));
                            // Runs until stopped, or until the command is gone.
                            let _ = stop_rx.await;
                            cluster.shutdown().await;
                        }
                        Err(e) => {
                            let _ = started_tx.send(Err(anyhow::Error::new(e)));
                        }
                    }
                });
            })
            .context("cannot start the embedded cluster's thread")?;
        let (namesrv, brokers, ca_pem) = started_rx
            .await
            .context("the embedded cluster's thread ended before starting")?
            .context("the embedded cluster did not start")?;
        Ok(Self {
            namesrv,
            brokers,
            tids,
            run: Run::Own {
                stop: stop_tx,
                thread,
            },
            ca_pem,
        })
    }

    /// Starts the cluster with `topic` on the caller's runtime.
    pub async fn start_shared(topic: &str, secured: &Secured) -> Result<Self> {
        let cluster = builder(topic, secured)?.start().await?;
        Ok(Self {
            namesrv: cluster.namesrv_addr(),
            brokers: brokers(&cluster),
            tids: Arc::default(),
            ca_pem: cluster.tls_ca_pem().map(str::to_owned),
            run: Run::Shared(Box::new(cluster)),
        })
    }

    /// The name server's address.
    pub fn namesrv_addr(&self) -> &str {
        &self.namesrv
    }

    /// Each broker's name and address (`ip:port`).
    pub fn brokers(&self) -> &[(String, String)] {
        &self.brokers
    }

    /// CPU time the cluster's own threads have used so far (zero when shared: its work cannot
    /// be told apart from the command's).
    pub fn cpu(&self) -> Duration {
        resources::threads_cpu(&self.tids.lock())
    }

    /// Shuts the cluster down and waits for its thread.
    pub async fn stop(self) {
        match self.run {
            Run::Own { stop, thread } => {
                let _ = stop.send(());
                // Joining blocks; the cluster's shutdown is quick, but keep this runtime free.
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            }
            Run::Shared(cluster) => cluster.shutdown().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use super::*;
    use crate::bench::{self, BenchTarget};
    use crate::cli::{BenchArgs, BenchMode};

    fn bench_target<'a>(
        cluster: &'a EmbeddedCluster,
        serialize_type: rmq::remoting::SerializeType,
        security: &'a Security,
    ) -> BenchTarget<'a> {
        BenchTarget {
            namesrv: cluster.namesrv_addr(),
            group: "embedded_test",
            topic: "BenchTopic",
            serialize_type,
            embedded: Some(cluster),
            security,
        }
    }

    fn args(mode: BenchMode) -> BenchArgs {
        BenchArgs {
            mode,
            concurrency: 4,
            size: 128,
            duration: 1,
            batch: 4,
            ..BenchArgs::defaults()
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_embedded_cluster_on_its_own_thread_serves_and_its_cpu_is_left_out() {
        let cluster =
            EmbeddedCluster::start("BenchTopic", NonZeroUsize::new(1), &Secured::default())
                .await
                .expect("starts");
        let security = Security::default();
        let target = bench_target(&cluster, rmq::remoting::SerializeType::RocketMq, &security);
        let report = bench::run(&target, &args(BenchMode::Async))
            .await
            .expect("runs");
        assert!(report.ok > 0 && report.failed == 0, "{report:?}");
        assert!(
            cluster.cpu() > Duration::ZERO,
            "the cluster's own threads did the broker's work"
        );
        cluster.stop().await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_shared_embedded_cluster_runs_on_the_callers_runtime() {
        let cluster = EmbeddedCluster::start_shared("BenchTopic", &Secured::default())
            .await
            .expect("starts");
        assert_eq!(cluster.cpu(), Duration::ZERO, "no threads of its own");
        let security = Security::default();
        let target = bench_target(&cluster, rmq::remoting::SerializeType::Json, &security);
        let report = bench::run(&target, &args(BenchMode::Batch))
            .await
            .expect("runs");
        assert!(report.ok > 0 && report.failed == 0, "{report:?}");
        cluster.stop().await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn auto_batched_runs_report_every_message() {
        let cluster = EmbeddedCluster::start_shared("BenchTopic", &Secured::default())
            .await
            .expect("starts");
        let security = Security::default();
        let target = bench_target(&cluster, rmq::remoting::SerializeType::RocketMq, &security);
        let mut args = args(BenchMode::Async);
        args.auto_batch = true;
        args.hold_ms = Some(2);
        let report = bench::run(&target, &args).await.expect("runs");
        assert!(report.ok > 0 && report.failed == 0, "{report:?}");
        assert_eq!(report.to_json()["auto_batch"], true);
        cluster.stop().await;
    }
}
