//! Where the examples send: the cluster in `NAMESRV_ADDR`, or an in-process test cluster.

use rmq_testkit::TestCluster;

/// The name server to use, and the embedded cluster if one was started (kept alive by the
/// caller until it is done).
pub async fn name_server() -> Result<(String, Option<TestCluster>), Box<dyn std::error::Error>> {
    if let Ok(addr) = std::env::var("NAMESRV_ADDR") {
        return Ok((addr, None));
    }
    let cluster = TestCluster::builder()
        .brokers(2)
        // Undecided transactions are checked after a second (the transaction example).
        .transaction_check_interval(std::time::Duration::from_secs(1))
        .start()
        .await?;
    println!(
        "NAMESRV_ADDR not set: started an embedded test cluster at {}",
        cluster.namesrv_addr()
    );
    Ok((cluster.namesrv_addr(), Some(cluster)))
}
