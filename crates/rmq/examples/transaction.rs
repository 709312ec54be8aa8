//! Transactional messages: the broker stores a half message, the local transaction runs, and
//! the message is committed (delivered) or rolled back (never delivered). A transaction the
//! local code leaves undecided is decided later, when the broker checks back.
//!
//! Here transfers up to 100 commit at once, those over 1000 roll back, and those between wait
//! for an approval that the check finds.
//!
//! `cargo run -p rmq --example transaction`

mod support;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rmq::prelude::*;

/// The application's own record of each transfer, by transaction id.
#[derive(Default)]
struct Transfers {
    approved: Mutex<HashMap<String, bool>>,
}

impl TransactionListener for Transfers {
    /// The transfer's amount.
    type Arg = u64;

    async fn execute(&self, msg: &Message, amount: u64) -> LocalTransactionState {
        let id = msg.transaction_id().unwrap_or_default().to_owned();
        match amount {
            0..=100 => LocalTransactionState::Commit,
            101..=1000 => {
                // Sent for approval; the broker will ask, and by then it is approved.
                self.approved
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id, true);
                LocalTransactionState::Unknown
            }
            _ => LocalTransactionState::Rollback,
        }
    }

    async fn check(&self, check: &TransactionCheck) -> LocalTransactionState {
        let id = check.message.transaction_id().unwrap_or_default();
        let approved = self.approved.lock().unwrap_or_else(|e| e.into_inner());
        match approved.get(id) {
            Some(true) => LocalTransactionState::Commit,
            Some(false) => LocalTransactionState::Rollback,
            None => LocalTransactionState::Unknown,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (namesrv, _cluster) = support::name_server().await?;
    let producer = Producer::builder("example_transaction")
        .name_server(namesrv)
        .build_transactional(Transfers::default())?;
    producer.start().await?;

    for amount in [42, 500, 5000] {
        let msg = Message::new("Transfers", format!("transfer {amount}"));
        let sent = producer.send_in_transaction(msg, amount).await?;
        println!("{amount}: {}", sent.local_state);
    }

    // The undecided transfer is committed when the broker checks back.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while producer.check_stats().answered == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "broker checks answered: {}",
        producer.check_stats().answered
    );
    producer.shutdown().await;
    Ok(())
}
