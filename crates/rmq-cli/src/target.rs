//! Which cluster a command talks to: `--namesrv`, `NAMESRV_ADDR`, or `--embedded`.

use anyhow::{Result, bail};
use rmq_testkit::TestCluster;

use crate::cli::Common;

/// The name server to use; holds the embedded cluster alive while the command runs.
#[derive(Debug)]
pub struct Target {
    /// Name server addresses, `;`-separated as Java's `namesrvAddr`.
    pub namesrv: String,
    /// The embedded cluster, when one was started.
    pub embedded: Option<TestCluster>,
}

impl Target {
    /// Resolves the target from the common flags, starting the embedded cluster if asked.
    pub async fn resolve(common: &Common) -> Result<Target> {
        if common.embedded {
            let cluster = TestCluster::builder()
                .brokers(2)
                .topic(&common.topic, 8)
                .start()
                .await?;
            return Ok(Target {
                namesrv: cluster.namesrv_addr(),
                embedded: Some(cluster),
            });
        }
        match common.namesrv.as_deref().map(str::trim) {
            Some(addr) if !addr.is_empty() => Ok(Target {
                namesrv: addr.to_owned(),
                embedded: None,
            }),
            _ => bail!(
                "no name server: pass --namesrv HOST:PORT, set NAMESRV_ADDR, or use --embedded"
            ),
        }
    }

    /// Stops the embedded cluster, if any.
    pub async fn stop(self) {
        if let Some(cluster) = self.embedded {
            cluster.shutdown().await;
        }
    }
}
