//! `rmq route`: a topic's route as the name server reports it, and the queues a producer
//! would write.

use std::time::Duration;

use anyhow::{Result, bail};
use rmq::client::route::TopicPublishInfo;
use rmq::remoting::body::{TopicRouteData, perm};
use rmq::remoting::code::{request, response};
use rmq::remoting::header::GetRouteInfoRequestHeader;
use rmq::remoting::{RemotingClient, RemotingCommand};

use crate::cli::Common;
use crate::target::Target;

/// Runs `rmq route` against `namesrv`.
pub async fn run(common: &Common, target: &Target) -> Result<()> {
    let namesrv = target.namesrv.as_str();
    let client = target
        .security
        .remoting(RemotingClient::builder())?
        .name_servers(namesrv.split(';').map(str::trim).filter(|a| !a.is_empty()))
        .build()?;
    let request = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
        .with_header(GetRouteInfoRequestHeader::new(&common.topic))
        .with_serialize_type(common.serialization.into());
    let answer = client
        .invoke_name_server(request, Duration::from_secs(3))
        .await?;
    client.shutdown();
    match answer.code() {
        response::SUCCESS => {}
        code => bail!(
            "the name server answered {code} ({}): {}",
            rmq::remoting::code::response_name(code),
            answer.remark().unwrap_or_default()
        ),
    }
    let route = TopicRouteData::from_json(answer.body())?;
    print!("{}", render(&common.topic, &route));
    Ok(())
}

/// The route as three tables: brokers, queue data, publish queues.
pub fn render(topic: &str, route: &TopicRouteData) -> String {
    let mut out = format!("Route of {topic}\n\n");
    out.push_str(&format!(
        "{:<20} {:<20} {:<6} {}\n",
        "BROKER", "CLUSTER", "ID", "ADDRESS"
    ));
    for broker in &route.broker_datas {
        for (id, addr) in &broker.broker_addrs {
            out.push_str(&format!(
                "{:<20} {:<20} {:<6} {}\n",
                broker.broker_name, broker.cluster, id, addr
            ));
        }
    }
    out.push_str(&format!(
        "\n{:<20} {:<6} {:<6} {:<6}\n",
        "BROKER", "PERM", "READ", "WRITE"
    ));
    for qd in &route.queue_datas {
        out.push_str(&format!(
            "{:<20} {:<6} {:<6} {:<6}\n",
            qd.broker_name,
            perm::to_string(qd.perm),
            qd.read_queue_nums,
            qd.write_queue_nums
        ));
    }
    if let Some(conf) = &route.order_topic_conf {
        out.push_str(&format!("\norder topic configuration: {conf}\n"));
    }
    match TopicPublishInfo::from_route(topic, route.clone()) {
        Ok(info) => {
            out.push_str(&format!("\nPublish queues ({}):\n", info.queues.len()));
            for q in &info.queues {
                out.push_str(&format!("  {}:{}", q.broker_name(), q.queue_id()));
                // A static topic's logical queue: name the broker that leads it.
                if let Some(real) = info.real_broker(q) {
                    out.push_str(&format!(" on {real}"));
                }
                out.push('\n');
            }
        }
        Err(e) => out.push_str(&format!("\nNo publish queues: {e}\n")),
    }
    out
}
