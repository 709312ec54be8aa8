//! The name server (Java 4.9.8: `NamesrvController`, `DefaultRequestProcessor.getRouteInfoByTopic`).
//!
//! It answers `GET_ROUTEINFO_BY_TOPIC` (105) from the cluster's [`RouteRegistry`]; every other
//! code gets the server's own `REQUEST_CODE_NOT_SUPPORTED` (3), as Java's would for the codes a
//! producer never sends.

use std::sync::Arc;

use rmq_remoting::code::{request, response};
use rmq_remoting::header::GetRouteInfoRequestHeader;
use rmq_remoting::tls::ServerTls;
use rmq_remoting::{Channel, RemotingCommand, RemotingServer, ServerHandle, version};

use crate::TestkitError;
use crate::route::RouteRegistry;

/// Java's `FAQUrl.suggestTodo(FAQUrl.APPLY_TOPIC_URL)`, appended to "no topic" remarks.
pub(crate) const APPLY_TOPIC_SUGGESTION: &str =
    "\nSee http://rocketmq.apache.org/docs/faq/ for further details.";

/// Starts a name server on `127.0.0.1:port` (0 picks a free port).
pub(crate) async fn start(
    registry: Arc<RouteRegistry>,
    legacy_route_json: bool,
    port: u16,
    tls: Option<ServerTls>,
) -> Result<ServerHandle, TestkitError> {
    let mut server = RemotingServer::builder();
    if let Some(tls) = tls {
        server = server.tls(tls);
    }
    let server = server.build();
    server.register_processor(
        request::GET_ROUTEINFO_BY_TOPIC,
        move |_: Channel, request: RemotingCommand| {
            let response = route_info(&registry, legacy_route_json, &request);
            async move { Some(response) }
        },
    );
    let addr = format!("127.0.0.1:{port}");
    server
        .bind(addr.as_str())
        .await
        .map_err(|source| TestkitError::Bind {
            server: "name server".into(),
            addr,
            source,
        })
}

/// Answers one route query.
fn route_info(
    registry: &RouteRegistry,
    legacy_route_json: bool,
    request: &RemotingCommand,
) -> RemotingCommand {
    let response = match request.decode_header::<GetRouteInfoRequestHeader>() {
        Err(e) => RemotingCommand::response(response::SYSTEM_ERROR).with_remark(e.to_string()),
        Ok(header) => match registry.route(&header.topic) {
            None => RemotingCommand::response(response::TOPIC_NOT_EXIST).with_remark(format!(
                "No topic route info in name server for the topic: {}{APPLY_TOPIC_SUGGESTION}",
                header.topic
            )),
            Some(route) => {
                // Java 4.9.4+: standard JSON for new clients or on request; the old dialect
                // otherwise. Legacy mode plays a name server from before 4.9.4.
                let standard = !legacy_route_json
                    && (version::gets_standard_json_routes(request.version())
                        || header.accept_standard_json_only == Some(true));
                let body = if standard {
                    route.to_json()
                } else {
                    route.to_legacy_json()
                };
                RemotingCommand::response(response::SUCCESS).with_body(body)
            }
        },
    };
    response.with_version(version::V4_9_8)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::route::Registration;
    use crate::topic::TopicConfig;

    fn registry() -> RouteRegistry {
        let registry = RouteRegistry::default();
        registry.register(
            "broker-a",
            Registration {
                cluster: "DefaultCluster".into(),
                addr: "127.0.0.1:10911".into(),
                topics: BTreeMap::from([("T".to_owned(), TopicConfig::new("T", 4, 6))]),
                mappings: BTreeMap::new(),
            },
        );
        registry
    }

    fn query(version: i32, accept_standard: Option<bool>) -> RemotingCommand {
        RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
            .with_version(version)
            .with_header(GetRouteInfoRequestHeader {
                topic: "T".into(),
                accept_standard_json_only: accept_standard,
            })
    }

    fn body(response: &RemotingCommand) -> String {
        String::from_utf8_lossy(response.body()).into_owned()
    }

    #[test]
    fn dialect_follows_version_header_and_mode() {
        let registry = registry();
        let standard = r#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
        let legacy = standard.replace(r#""0":"#, "0:");
        let cases = [
            (version::V4_9_8, None, false, standard),
            (version::V4_9_4, None, false, standard),
            (400, None, false, &legacy),
            (version::V4_5_2, None, false, &legacy),
            (version::V4_5_2, Some(true), false, standard),
            (version::V4_5_2, Some(false), false, &legacy),
            (version::V4_9_8, None, true, &legacy),
            (version::V4_9_8, Some(true), true, &legacy),
        ];
        for (v, accept, legacy_mode, expected) in cases {
            let response = route_info(&registry, legacy_mode, &query(v, accept));
            assert_eq!(response.code(), response::SUCCESS);
            assert_eq!(body(&response), expected, "version {v} accept {accept:?}");
            assert!(response.ext_fields().is_none());
            assert_eq!(response.version(), version::V4_9_8);
        }
    }

    #[test]
    fn unknown_topic_and_missing_header() {
        let registry = registry();
        let unknown = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
            .with_header(GetRouteInfoRequestHeader::new("Nope"));
        let response = route_info(&registry, false, &unknown);
        assert_eq!(response.code(), response::TOPIC_NOT_EXIST);
        assert!(response.remark().is_some_and(|r| {
            r.starts_with("No topic route info in name server for the topic: Nope")
        }));
        assert!(response.body().is_empty());

        let bare = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC);
        let response = route_info(&registry, false, &bare);
        assert_eq!(response.code(), response::SYSTEM_ERROR);
        assert!(response.remark().is_some_and(|r| r.contains("topic")));
    }
}
