//! Feeds arbitrary bytes to the frame decoder, split at an arbitrary point to exercise partial
//! reads. It must never panic, never allocate past the frame limit, and anything it decodes must
//! re-encode to a frame that decodes and re-encodes to the same bytes (the first encode drops
//! keys without value, as Java does, so it is the encoded form that must be stable).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rmq_remoting::FrameCodec;
use tokio_util::codec::Decoder;

/// Small enough that the fuzzer reaches the too-large path quickly.
const MAX_FRAME: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(data.len());
    let mut codec = FrameCodec::new(MAX_FRAME);
    let mut buf = BytesMut::from(&data[..split]);
    let mut rest = &data[split..];
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(cmd)) => {
                assert!(buf.capacity() <= MAX_FRAME + data.len());
                if let Ok(frame) = cmd.encode_to_bytes() {
                    let mut again = BytesMut::from(&frame[..]);
                    let back = FrameCodec::new(usize::MAX)
                        .decode(&mut again)
                        .expect("re-encoded frame decodes")
                        .expect("re-encoded frame is whole");
                    let frame_again = back.encode_to_bytes().expect("re-encodes");
                    assert_eq!(frame, frame_again);
                }
            }
            Ok(None) if !rest.is_empty() => {
                buf.extend_from_slice(rest);
                rest = &[];
            }
            Ok(None) | Err(_) => break,
        }
    }
});
