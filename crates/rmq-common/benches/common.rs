//! Micro-benchmarks of the per-message work in rmq-common: property strings, message ids and
//! body compression. `cargo bench -p rmq-common --bench common` (or `cargo xtask bench`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rmq_common::properties::SeparatorStyle;
use rmq_common::{CompressionType, Message, Properties, UniqIdGenerator};

fn properties(c: &mut Criterion) {
    let msg = Message::builder("TopicTest")
        .tags("TagA")
        .keys(["OrderID188"])
        .user_property("color", "red")
        .body("x")
        .build()
        .expect("message");
    let mut props = msg.properties().clone();
    props.insert("UNIQ_KEY", "C0A80164123418B4AAC2075BCD150001");
    let encoded = props.encode(SeparatorStyle::NoTrailing);
    let mut group = c.benchmark_group("properties");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_java_order", |b| {
        b.iter(|| black_box(&props).encode(SeparatorStyle::NoTrailing))
    });
    group.bench_function("decode", |b| {
        b.iter(|| Properties::decode(black_box(&encoded)))
    });
    group.finish();
}

fn message_ids(c: &mut Criterion) {
    let ids = UniqIdGenerator::global();
    let mut group = c.benchmark_group("message_id");
    group.throughput(Throughput::Elements(1));
    group.bench_function("next_uniq_id", |b| b.iter(|| black_box(ids.next_id())));
    let id = ids.next_id();
    group.bench_function("decode_uniq_id", |b| {
        b.iter(|| rmq_common::message_id::decode_uniq_id(black_box(&id)))
    });
    group.finish();
}

fn compression(c: &mut Criterion) {
    // Text-like bodies: what producers compress in practice.
    let body: Vec<u8> = "order 42 paid by customer 7, amount 19.99 EUR; "
        .repeat(200)
        .into_bytes()
        .into_iter()
        .take(8192)
        .collect();
    let mut group = c.benchmark_group("compression_8KiB");
    group.throughput(Throughput::Bytes(body.len() as u64));
    for kind in [
        CompressionType::Zlib,
        CompressionType::Zstd,
        CompressionType::Lz4,
    ] {
        let packed = kind.compress(&body, 5).expect("compresses");
        group.bench_function(format!("{kind}_compress"), |b| {
            b.iter(|| kind.compress(black_box(&body), 5))
        });
        group.bench_function(format!("{kind}_decompress"), |b| {
            b.iter(|| kind.decompress(black_box(&packed), body.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, properties, message_ids, compression);
criterion_main!(benches);
