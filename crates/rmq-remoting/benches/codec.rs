//! Encode and decode a 1 KiB SEND_MESSAGE_V2 request in both header serializations.
//!
//! `cargo bench -p rmq-remoting --bench codec` (or `cargo xtask bench`). `encode` writes a
//! header held as a map, `encode_fast_header` one written straight from the typed header (what
//! the producer sends). The `round_trip` case
//! is the whole per-message codec cost on a producer and a broker: build the typed header,
//! encode the frame, decode it, and read the typed header back.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rmq_remoting::header::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
use rmq_remoting::{RemotingCommand, SerializeType, code::request};

fn header() -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "please_rename_unique_group_name".into(),
        topic: "TopicTest".into(),
        queue_id: 3,
        born_timestamp: 1_700_000_000_000,
        properties: Some(
            "KEYS\u{1}OrderID188\u{2}UNIQ_KEY\u{1}C0A80164123418B4AAC2075BCD150001\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA"
                .into(),
        ),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        broker_name: Some("broker-a".into()),
        ..SendMessageRequestHeader::default()
    }
}

fn command(serialize_type: SerializeType, body: &Bytes) -> RemotingCommand {
    RemotingCommand::request(request::SEND_MESSAGE_V2)
        .with_header(SendMessageRequestHeaderV2(header()))
        .with_opaque(42)
        .with_body(body.clone())
        .with_serialize_type(serialize_type)
}

fn bench(c: &mut Criterion) {
    let body = Bytes::from(vec![b'x'; 1024]);
    for (name, serialize_type) in [
        ("json", SerializeType::Json),
        ("rocketmq", SerializeType::RocketMq),
    ] {
        let mut group = c.benchmark_group(format!("send_v2_1k/{name}"));
        group.throughput(Throughput::Elements(1));
        let cmd = command(serialize_type, &body);
        let frame = cmd.encode_to_bytes().expect("encodes").slice(4..);

        let mut buf = BytesMut::with_capacity(4096);
        group.bench_function("encode", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&cmd).encode(&mut buf).expect("encodes");
                black_box(buf.len())
            })
        });
        // What the producer sends: the typed header written straight into the frame.
        let fast = RemotingCommand::request(request::SEND_MESSAGE_V2)
            .with_fast_header(SendMessageRequestHeaderV2(header()))
            .with_opaque(42)
            .with_body(body.clone())
            .with_serialize_type(serialize_type);
        group.bench_function("encode_fast_header", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&fast).encode(&mut buf).expect("encodes");
                black_box(buf.len())
            })
        });
        group.bench_function("decode", |b| {
            b.iter(|| RemotingCommand::decode_frame(black_box(frame.clone())).expect("decodes"))
        });
        group.bench_function("round_trip", |b| {
            b.iter(|| {
                buf.clear();
                command(serialize_type, &body)
                    .encode(&mut buf)
                    .expect("encodes");
                let frame = buf.split().freeze().slice(4..);
                let back = RemotingCommand::decode_frame(frame).expect("decodes");
                black_box(
                    back.decode_header::<SendMessageRequestHeaderV2>()
                        .expect("header"),
                )
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
