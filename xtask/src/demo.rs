//! `cargo xtask demo`: the main job. Until the producer lands (issue 4) this walks one message
//! through everything rmq already does byte for byte: build, id, properties, compression, the
//! SEND_MESSAGE_V2 frame in both header serializations, the broker's answer, and a route in
//! both name-server dialects.

use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use rmq::common::properties::SeparatorStyle;
use rmq::common::sysflag;
use rmq::prelude::*;
use rmq::remoting::body::TopicRouteData;
use rmq::remoting::code::request;
use rmq::remoting::header::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};

pub fn run() -> Result<()> {
    println!("rmq demo: one message through the RocketMQ wire format\n");

    let mut msg = Message::builder("TopicTest")
        .tags("TagA")
        .keys(["OrderID188"])
        .body("Hello RocketMQ")
        .build()?;
    let id = UniqIdGenerator::global().next_id();
    msg.properties_mut().insert("UNIQ_KEY", id.clone());
    let properties = msg.properties().encode(SeparatorStyle::NoTrailing);
    println!(
        "message   topic={} tags=TagA keys=OrderID188 UNIQ_KEY={id}",
        msg.topic()
    );
    println!(
        "          properties (Java HashMap order): {}",
        properties.escape_debug()
    );

    let header = SendMessageRequestHeader {
        producer_group: "demo_group".into(),
        topic: msg.topic().into(),
        queue_id: 1,
        born_timestamp: 1_700_000_000_000,
        properties: Some(properties),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        broker_name: Some("broker-a".into()),
        ..SendMessageRequestHeader::default()
    };
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let cmd = RemotingCommand::request(request::SEND_MESSAGE_V2)
            .with_header(SendMessageRequestHeaderV2(header.clone()))
            .with_opaque(1)
            .with_body(msg.body().clone())
            .with_serialize_type(serialize_type);
        let frame = cmd.encode_to_bytes()?;
        let back = RemotingCommand::decode_frame(frame.slice(4..))?;
        ensure!(
            back == cmd,
            "{serialize_type:?} round trip changed the command"
        );
        let decoded: SendMessageRequestHeaderV2 = back.decode_header()?;
        ensure!(decoded.0 == header, "{serialize_type:?} header changed");
        println!(
            "request   SEND_MESSAGE_V2 {serialize_type:?}: {} bytes, decodes to the same command; head {}",
            frame.len(),
            hex(&frame[..16.min(frame.len())])
        );
    }

    // The answer of a Java 4.9.8 broker, as captured in vectors.md V16.
    let response = RemotingCommand::decode_frame(Bytes::from(unhex(BROKER_RESPONSE)?).slice(4..))?;
    let sent: SendMessageResponseHeader = response.decode_header()?;
    let offset_id = OffsetMessageId::decode(&sent.msg_id)?;
    println!(
        "response  SEND_OK queueId={} queueOffset={} offsetMsgId={} (store {} commit-log offset {}) region={} traceOn={}",
        sent.queue_id,
        sent.queue_offset,
        sent.msg_id,
        offset_id.addr,
        offset_id.offset,
        sent.region_id.as_deref().unwrap_or("DefaultRegion"),
        sent.trace_on
    );

    let standard = TopicRouteData::from_json(ROUTE.as_bytes())?;
    let legacy = TopicRouteData::from_json(ROUTE.replace("\"0\":", "0:").as_bytes())?;
    ensure!(standard == legacy, "route dialects disagree");
    let broker = standard
        .broker_datas
        .first()
        .context("route has no broker")?;
    println!(
        "route     both name-server dialects parse alike: {} master {} with {} write queues",
        broker.broker_name,
        broker.master_addr().unwrap_or("-"),
        standard
            .queue_datas
            .first()
            .map_or(0, |q| q.write_queue_nums)
    );

    let big = Bytes::from("RocketMQ ".repeat(1024));
    for kind in [
        CompressionType::Zlib,
        CompressionType::Zstd,
        CompressionType::Lz4,
    ] {
        let packed = kind.compress(&big, 5)?;
        let flag = sysflag::COMPRESSED_FLAG | kind.compression_flag();
        ensure!(
            kind.decompress(&packed, big.len())? == big,
            "{kind} round trip"
        );
        println!(
            "compress  {kind:<4} {} -> {} bytes, sysFlag 0x{flag:03X}",
            big.len(),
            packed.len()
        );
    }
    println!("\ndemo: ok");
    Ok(())
}

const BROKER_RESPONSE: &str = "000000940100009000000001990000000300000001000000000000007B00056D736749640000002043304138303032463030303032413946303030303030303031323334353637380007717565756549640000000131000B71756575654F6666736574000000023432000854524143455F4F4E0000000474727565000A4D53475F524547494F4E0000000D44656661756C74526567696F6E";

const ROUTE: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .context("bad hex")
        })
        .collect()
}
