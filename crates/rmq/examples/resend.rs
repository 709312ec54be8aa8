//! Failed sends hand their messages back: resend the ones worth retrying, park the rest.
//!
//! Every failure says what kind it is, whether trying again may help, and whether the broker
//! may have stored the message anyway (then a resend can duplicate it; the message keeps its
//! id, so a consumer can tell). With no cluster given, the embedded one is told to refuse
//! some sends, so there is something to resend.
//!
//! `cargo run -p rmq --example resend`

mod support;

use std::time::Duration;

use rmq::prelude::*;
use rmq::remoting::code::response;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (namesrv, cluster) = support::name_server().await?;
    let producer = Producer::builder("example_resend")
        .name_server(namesrv)
        // One attempt per send, so the refusals below reach this program.
        .retry_times_when_send_failed(0)
        .retry_times_when_send_async_failed(0)
        .build()?;
    producer.start().await?;
    if let Some(cluster) = &cluster {
        // Busy brokers: the first sends are refused, as under flow control.
        for broker in cluster.brokers() {
            broker.fail_next(response::SYSTEM_BUSY, 3);
        }
    }

    // Async sends: collect what failed, with its message.
    let mut pending = Vec::new();
    for i in 0..10 {
        pending.push(
            producer
                .send_async(Message::new("TopicTest", format!("order {i}")))
                .await?,
        );
    }
    let mut to_resend = Vec::new();
    let mut parked = Vec::new();
    for result in pending {
        match result.await {
            Ok(_) => {}
            Err(failed) if failed.is_retryable() => {
                if failed.may_have_been_stored() {
                    println!("{failed}: may be stored already; resent under the same id");
                }
                to_resend.push(failed.into_message());
            }
            // Fix-first failures (an invalid message, a missing permission): park them.
            Err(failed) => {
                eprintln!("parked ({:?}): {failed}", failed.kind());
                parked.push(failed.into_message());
            }
        }
    }
    println!(
        "{} sends to retry, {} parked",
        to_resend.len(),
        parked.len()
    );

    // Sync resends, backing off a little between rounds.
    for round in 1..=3 {
        if to_resend.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100 * round)).await;
        let mut again = Vec::new();
        for msg in to_resend {
            match producer.send(msg).await {
                Ok(sent) => println!("round {round}: {} stored as {}", sent.msg_id, sent.queue),
                Err(failed) if failed.is_retryable() => again.push(failed.into_message()),
                Err(failed) => {
                    eprintln!("parked ({:?}): {failed}", failed.kind());
                    parked.push(failed.into_message());
                }
            }
        }
        to_resend = again;
    }
    println!(
        "{} still failing, {} parked for a person to look at",
        to_resend.len(),
        parked.len()
    );
    producer.shutdown().await;
    Ok(())
}
