//! A custom protocol over RocketMQ framing: a tiny key-value store with its own request codes
//! and typed header, a server and a client. Uses nothing but `rmq-remoting`.
//!
//! `cargo run -p rmq-remoting --example kv_store`

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rmq_remoting::header::{CommandHeader, HeaderError, optional, required};
use rmq_remoting::{
    Channel, ExtFields, RemotingClient, RemotingCommand, RemotingServer, SerializeType,
};

/// The protocol's request codes (kept clear of RocketMQ's).
const PUT: i32 = 9001;
const GET: i32 = 9002;
/// Its response codes.
const OK: i32 = 0;
const NOT_FOUND: i32 = 404;

/// The protocol's header: which key, and for `PUT` an optional version check.
#[derive(Debug, PartialEq)]
struct KeyHeader {
    key: String,
    expect_version: Option<u64>,
}

impl CommandHeader for KeyHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        ext.insert("key", self.key.clone());
        if let Some(version) = self.expect_version {
            ext.insert("expectVersion", version.to_string());
        }
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        Ok(KeyHeader {
            key: required(ext, "KeyHeader", "key")?,
            expect_version: optional(ext, "KeyHeader", "expectVersion")?,
        })
    }
}

type Store = Arc<Mutex<HashMap<String, (u64, bytes::Bytes)>>>;

fn reject(remark: String) -> Option<RemotingCommand> {
    Some(RemotingCommand::response(rmq_remoting::code::response::SYSTEM_ERROR).with_remark(remark))
}

async fn serve() -> std::io::Result<rmq_remoting::ServerHandle> {
    let store: Store = Arc::default();
    let server = RemotingServer::builder().build();
    let puts = store.clone();
    server.register_processor(PUT, move |_: Channel, request: RemotingCommand| {
        let store = puts.clone();
        async move {
            let header: KeyHeader = match request.decode_header() {
                Ok(header) => header,
                Err(e) => return reject(e.to_string()),
            };
            let mut store = store.lock();
            let current = store.get(&header.key).map_or(0, |(v, _)| *v);
            if header
                .expect_version
                .is_some_and(|expected| expected != current)
            {
                return reject(format!("version is {current}"));
            }
            store.insert(header.key, (current + 1, request.body().clone()));
            Some(RemotingCommand::response(OK).with_ext_field("version", (current + 1).to_string()))
        }
    });
    server.register_processor(GET, move |_: Channel, request: RemotingCommand| {
        let store = store.clone();
        async move {
            let header: KeyHeader = match request.decode_header() {
                Ok(header) => header,
                Err(e) => return reject(e.to_string()),
            };
            Some(match store.lock().get(&header.key) {
                Some((version, value)) => RemotingCommand::response(OK)
                    .with_ext_field("version", version.to_string())
                    .with_body(value.clone()),
                None => RemotingCommand::response(NOT_FOUND).with_remark("no such key"),
            })
        }
    });
    server.bind("127.0.0.1:0").await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = serve().await?;
    let addr = server.local_addr().to_string();
    println!("kv server on {addr}");

    let client = RemotingClient::builder().build()?;
    let timeout = Duration::from_secs(3);
    let key = |key: &str, expect_version| KeyHeader {
        key: key.into(),
        expect_version,
    };

    let put = RemotingCommand::request(PUT)
        .with_header(key("greeting", None))
        .with_body("hello")
        .with_serialize_type(SerializeType::RocketMq);
    let answer = client.invoke_sync(&addr, put, timeout).await?;
    println!(
        "PUT greeting        -> code {} version {:?}",
        answer.code(),
        answer.ext_field("version")
    );

    let stale = RemotingCommand::request(PUT)
        .with_header(key("greeting", Some(7)))
        .with_body("hi");
    let answer = client.invoke_sync(&addr, stale, timeout).await?;
    println!(
        "PUT greeting (v7)   -> code {} {:?}",
        answer.code(),
        answer.remark()
    );

    // Pipelined reads: both are on the wire before either answer is awaited.
    let hit = client
        .invoke_async(
            &addr,
            RemotingCommand::request(GET).with_header(key("greeting", None)),
            timeout,
        )
        .await?;
    let miss = client
        .invoke_async(
            &addr,
            RemotingCommand::request(GET).with_header(key("missing", None)),
            timeout,
        )
        .await?;
    let (hit, miss) = (hit.await?, miss.await?);
    println!(
        "GET greeting        -> code {} {:?}",
        hit.code(),
        String::from_utf8_lossy(hit.body())
    );
    println!(
        "GET missing         -> code {} {:?}",
        miss.code(),
        miss.remark()
    );

    server.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
