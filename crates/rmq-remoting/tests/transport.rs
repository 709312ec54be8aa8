//! Client against server on loopback: every invoke mode, back-pressure, timeouts, dead and
//! hostile peers, name-server failover, hooks and processors. Each test ends by checking that
//! every permit came back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use rmq_remoting::code::response;
use rmq_remoting::{
    Channel, ErrorKind, ProcessFuture, RemotingClient, RemotingCommand, RemotingServer,
    RequestProcessor, RpcHook, SerializeType, ServerHandle,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

const ECHO: i32 = 1000;
const SLOW: i32 = 1001;
const SILENT: i32 = 1002;
const HANG_UP: i32 = 1003;
const COUNTED: i32 = 1004;
const PANIC: i32 = 1005;
const PANIC_EARLY: i32 = 1006;

/// A processor whose bug strikes before it returns a future, on the connection's own task.
struct PanicsBeforeItsFuture;

impl RequestProcessor for PanicsBeforeItsFuture {
    fn process(&self, _: Channel, _: RemotingCommand) -> ProcessFuture {
        panic!("processor bug before any await");
    }
}

#[derive(Default)]
struct Counters {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    oneway_seen: AtomicUsize,
}

async fn server() -> (ServerHandle, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let server = RemotingServer::builder().build();
    server.register_processor(ECHO, |_: Channel, req: RemotingCommand| async move {
        Some(
            RemotingCommand::response(response::SUCCESS)
                .with_body(req.body().clone())
                .with_ext_field("echo", req.ext_field("k").unwrap_or("-").to_owned()),
        )
    });
    server.register_processor(SLOW, |_: Channel, req: RemotingCommand| async move {
        let ms = req
            .ext_field("ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(50);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Some(RemotingCommand::response(response::SUCCESS))
    });
    server.register_processor(SILENT, |_: Channel, _: RemotingCommand| async move {
        std::future::pending::<()>().await;
        None
    });
    server.register_processor(HANG_UP, |channel: Channel, _: RemotingCommand| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        channel.close();
        None
    });
    let c = counters.clone();
    server.register_processor(COUNTED, move |_: Channel, req: RemotingCommand| {
        let c = c.clone();
        async move {
            if req.is_oneway() {
                c.oneway_seen.fetch_add(1, Ordering::SeqCst);
                return None;
            }
            let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            c.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1)).await;
            c.in_flight.fetch_sub(1, Ordering::SeqCst);
            Some(RemotingCommand::response(response::SUCCESS))
        }
    });
    server.register_processor(PANIC, |_: Channel, _: RemotingCommand| async move {
        panic!("processor bug");
    });
    server.register_processor(PANIC_EARLY, PanicsBeforeItsFuture);
    (server.bind("127.0.0.1:0").await.expect("binds"), counters)
}

fn client() -> RemotingClient {
    RemotingClient::builder()
        .async_permits(100)
        .oneway_permits(10)
        .build()
        .expect("valid config")
}

fn assert_permits_home(client: &RemotingClient) {
    assert_eq!(
        client.available_async_permits(),
        100,
        "async permits leaked"
    );
    assert_eq!(
        client.available_oneway_permits(),
        10,
        "oneway permits leaked"
    );
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_async_and_oneway_in_both_serializations() {
    let (server, counters) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let request = RemotingCommand::request(ECHO)
            .with_ext_field("k", "v")
            .with_body(&b"ping"[..])
            .with_serialize_type(serialize_type);

        let sync = client
            .invoke_sync(&addr, request.clone(), SECOND)
            .await
            .expect("sync");
        assert_eq!((sync.code(), sync.body().as_ref()), (0, &b"ping"[..]));
        assert_eq!(sync.ext_field("echo"), Some("v"));
        assert_eq!(
            sync.serialize_type(),
            serialize_type,
            "answered in the request's type"
        );

        let pending = client
            .invoke_async(&addr, request.clone(), SECOND)
            .await
            .expect("queued");
        assert_eq!(
            client.available_async_permits(),
            99,
            "the pending request holds a permit"
        );
        let async_response = pending.await.expect("async");
        assert_eq!(async_response.body().as_ref(), b"ping");

        let (tx, rx) = tokio::sync::oneshot::channel();
        client
            .invoke_async_with_callback(&addr, request.clone(), SECOND, move |result| {
                let _ = tx.send(result.map(|r| r.code()));
            })
            .await;
        assert_eq!(
            rx.await
                .expect("callback ran")
                .expect("async with callback"),
            0
        );

        client
            .invoke_oneway(&addr, RemotingCommand::request(COUNTED), SECOND)
            .await
            .expect("oneway written");
    }
    let deadline = Instant::now() + SECOND;
    while counters.oneway_seen.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(counters.oneway_seen.load(Ordering::SeqCst), 2);
    assert_eq!(client.channels().len(), 1, "one connection per address");
    assert_permits_home(&client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_async_requests_through_a_hundred_permits() {
    let (server, counters) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    let tasks: Vec<_> = (0..10_000)
        .map(|_| {
            let client = client.clone();
            let addr = addr.clone();
            tokio::spawn(async move {
                let pending = client
                    .invoke_async(
                        &addr,
                        RemotingCommand::request(COUNTED),
                        Duration::from_secs(30),
                    )
                    .await?;
                pending.await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let response = task.await.expect("task").expect("request succeeds");
        assert_eq!(response.code(), 0);
        ok += 1;
    }
    assert_eq!(ok, 10_000);
    let max = counters.max_in_flight.load(Ordering::SeqCst);
    assert!(max <= 100, "{max} requests were in flight with 100 permits");
    assert!(max > 1, "requests were pipelined");
    assert_permits_home(&client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_fire_on_time_and_sync_timeouts_replace_the_connection() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    client.connect(&addr, SECOND).await.expect("connects");
    let first = client.channels().pop().expect("a channel");

    for timeout_ms in [100u64, 300] {
        let timeout = Duration::from_millis(timeout_ms);
        let started = Instant::now();
        let pending = client
            .invoke_async(&addr, RemotingCommand::request(SILENT), timeout)
            .await
            .expect("queued");
        let err = pending.await.expect_err("times out");
        let elapsed = started.elapsed();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(
            elapsed >= timeout && elapsed < timeout + Duration::from_millis(50),
            "{elapsed:?}"
        );
    }
    assert!(!first.is_closed(), "async timeouts keep the connection");

    let started = Instant::now();
    let err = client
        .invoke_sync(
            &addr,
            RemotingCommand::request(SILENT),
            Duration::from_millis(150),
        )
        .await
        .expect_err("times out");
    let elapsed = started.elapsed();
    assert!(err.is_timeout() && err.addr() == addr, "{err}");
    assert!(elapsed < Duration::from_millis(200), "{elapsed:?}");
    first.closed().await;
    // The next request opens a new connection.
    let ok = client
        .invoke_sync(&addr, RemotingCommand::request(ECHO), SECOND)
        .await
        .expect("reconnects");
    assert_eq!(ok.code(), 0);
    assert_eq!(
        client.channels().len(),
        1,
        "every answer came over the first connection"
    );
    assert_permits_home(&client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_fails_pending_requests_at_once() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    let timeout = Duration::from_secs(10);
    let silent: Vec<_> = futures_join(
        (0..20).map(|_| client.invoke_async(&addr, RemotingCommand::request(SILENT), timeout)),
    )
    .await;
    let started = Instant::now();
    // The server hangs up while those 20 and this sync request are pending.
    let err = client
        .invoke_sync(&addr, RemotingCommand::request(HANG_UP), timeout)
        .await
        .expect_err("connection dropped");
    assert_eq!(err.kind(), ErrorKind::ConnectionClosed, "{err}");
    for pending in silent {
        let err = pending
            .expect("queued")
            .await
            .expect_err("connection dropped");
        assert_eq!(err.kind(), ErrorKind::ConnectionClosed, "{err}");
    }
    assert!(
        started.elapsed() < SECOND,
        "failed fast, not at the 10 s timeout"
    );
    assert_permits_home(&client);
}

/// Sends `request` with a callback; resolves to its outcome and how long it took, and
/// counts how often the callback ran.
async fn with_callback(
    client: &RemotingClient,
    addr: &str,
    request: RemotingCommand,
    timeout: Duration,
    calls: &Arc<AtomicUsize>,
) -> (Result<i32, ErrorKind>, Duration) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let calls = calls.clone();
    let started = Instant::now();
    client
        .invoke_async_with_callback(addr, request, timeout, move |outcome| {
            calls.fetch_add(1, Ordering::SeqCst);
            let _ = tx.send(outcome.map(|r| r.code()).map_err(|e| e.kind()));
        })
        .await;
    let outcome = rx.await.expect("the callback ran");
    (outcome, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_hear_answers_timeouts_and_ended_connections_once_each() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    let calls = Arc::new(AtomicUsize::new(0));
    let call = |code, timeout| {
        with_callback(
            &client,
            &addr,
            RemotingCommand::request(code),
            timeout,
            &calls,
        )
    };

    let (answer, _) = call(ECHO, SECOND).await;
    assert_eq!(answer, Ok(0));
    // The longest timeout is legal: its timer is re-armed rather than set decades ahead.
    let (forever, _) = call(ECHO, Duration::MAX).await;
    assert_eq!(forever, Ok(0));

    // The connection's task times the request out at its deadline, with no timer of its own.
    let timeout = Duration::from_millis(150);
    let (silent, elapsed) = call(SILENT, timeout).await;
    assert_eq!(silent, Err(ErrorKind::Timeout));
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_millis(100),
        "{elapsed:?}"
    );

    let (hung_up, elapsed) = call(HANG_UP, Duration::from_secs(10)).await;
    assert_eq!(hung_up, Err(ErrorKind::ConnectionClosed));
    assert!(
        elapsed < SECOND,
        "failed when the connection ended: {elapsed:?}"
    );

    // A failure before the request is queued reaches the callback too.
    let refusing = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let nobody = refusing.local_addr().expect("addr").to_string();
    drop(refusing);
    let (refused, _) = with_callback(
        &client,
        &nobody,
        RemotingCommand::request(ECHO),
        SECOND,
        &calls,
    )
    .await;
    assert_eq!(refused, Err(ErrorKind::Connect));

    assert_eq!(
        calls.load(Ordering::SeqCst),
        5,
        "each callback ran exactly once"
    );
    assert_permits_home(&client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_fails_every_queued_callback_in_time() {
    // Accepts and never reads: the socket's buffers fill, then the write buffer; the requests
    // after that wait unencoded, their timers running.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr").to_string();
    let holder = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("accepts");
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let client = client();
    let calls = Arc::new(AtomicUsize::new(0));
    let timeout = Duration::from_millis(400);
    let body = Bytes::from(vec![7u8; 1024 * 1024]);
    let started = Instant::now();
    let requests = (0..64).map(|_| {
        with_callback(
            &client,
            &addr,
            RemotingCommand::request(ECHO).with_body(body.clone()),
            timeout,
            &calls,
        )
    });
    let outcomes = futures_util::future::join_all(requests).await;
    let elapsed = started.elapsed();
    for (outcome, _) in &outcomes {
        assert!(
            matches!(
                outcome,
                Err(ErrorKind::Timeout | ErrorKind::ConnectionClosed)
            ),
            "{outcome:?}"
        );
    }
    assert!(
        elapsed < timeout + Duration::from_millis(200),
        "every callback at its deadline: {elapsed:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 64);
    assert_permits_home(&client);
    holder.abort();
}

async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    for f in futures {
        out.push(f.await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_share_one_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr").to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let client = client();
    let connects: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            let addr = addr.clone();
            tokio::spawn(
                async move { client.connect(&addr, SECOND).await.map(|c| c.remote_addr()) },
            )
        })
        .collect();
    for c in connects {
        c.await.expect("task").expect("connected");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_server_failover_skips_a_refusing_address() {
    let (server, _) = server().await;
    let live = server.local_addr().to_string();
    // A port that refuses connections: bound, then closed.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        l.local_addr().expect("addr").to_string()
    };
    for _ in 0..20 {
        let client = RemotingClient::builder()
            .name_servers([dead.clone(), live.clone()])
            .build()
            .expect("valid");
        let started = Instant::now();
        let response = client
            .invoke_name_server(RemotingCommand::request(ECHO), SECOND)
            .await
            .expect("the live name server answers");
        assert_eq!(response.code(), 0);
        assert!(started.elapsed() < Duration::from_millis(500));
        // It sticks with the one that worked.
        client
            .invoke_name_server(RemotingCommand::request(ECHO), SECOND)
            .await
            .expect("still answers");
        assert_eq!(client.channels().len(), 1);
        assert_eq!(client.channels()[0].addr(), live);
    }
    let none = RemotingClient::builder().build().expect("valid");
    let err = none
        .invoke_name_server(RemotingCommand::request(ECHO), SECOND)
        .await
        .expect_err("no name server");
    assert_eq!(err.kind(), ErrorKind::NoNameServer);
    let all_dead = RemotingClient::builder()
        .name_servers([dead])
        .build()
        .expect("valid");
    let err = all_dead
        .invoke_name_server(RemotingCommand::request(ECHO), SECOND)
        .await
        .expect_err("unreachable");
    assert_eq!(err.kind(), ErrorKind::Connect);
}

/// A server that answers every frame with `reply` and then stops reading.
async fn hostile(reply: Vec<u8>, close_after: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if stream.read(&mut buf).await.is_ok() {
                    let _ = stream.write_all(&reply).await;
                    if close_after {
                        let _ = stream.shutdown().await;
                        return;
                    }
                    // Keep the socket open: the client must act on the bytes alone.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    addr
}

fn framed_json(json: &str) -> Vec<u8> {
    let mut frame = BytesMut::new();
    frame.put_i32(4 + json.len() as i32);
    frame.put_i32(json.len() as i32);
    frame.put_slice(json.as_bytes());
    frame.to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_produce_errors_and_closed_connections() {
    let cases: Vec<(&str, Vec<u8>, bool, ErrorKind)> = vec![
        (
            "oversized length",
            vec![0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0],
            false,
            ErrorKind::Codec,
        ),
        (
            "negative length",
            vec![0xFF, 0xFF, 0xFF, 0xF0],
            false,
            ErrorKind::Codec,
        ),
        (
            "header longer than frame",
            vec![0, 0, 0, 8, 0, 0, 0, 0x40, b'{', b'}', 0, 0],
            false,
            ErrorKind::Codec,
        ),
        (
            "garbage JSON",
            framed_json("{\"code\":0,\"flag\":1,"),
            false,
            ErrorKind::Codec,
        ),
        (
            "not JSON at all",
            framed_json("\u{1}\u{2}garbage"),
            false,
            ErrorKind::Codec,
        ),
        (
            "unknown serialize type",
            vec![0, 0, 0, 4, 7, 0, 0, 0],
            false,
            ErrorKind::Codec,
        ),
        (
            "truncated frame then close",
            vec![0, 0, 0, 100, 0, 0, 0, 10, b'{'],
            true,
            ErrorKind::ConnectionClosed,
        ),
    ];
    let client = client();
    for (name, reply, close_after, expected) in cases {
        let addr = hostile(reply, close_after).await;
        let started = Instant::now();
        let pending = client
            .invoke_async(
                &addr,
                RemotingCommand::request(ECHO),
                Duration::from_secs(5),
            )
            .await
            .expect("queued");
        let err = pending.await.expect_err(name);
        assert_eq!(err.kind(), expected, "{name}: {err}");
        assert_eq!(err.addr(), addr);
        assert!(started.elapsed() < SECOND, "{name}: failed fast");
        let deadline = Instant::now() + SECOND;
        while client.channels().iter().any(|c| c.addr() == addr) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            client.channels().iter().all(|c| c.addr() != addr),
            "{name}: connection closed and forgotten"
        );
    }
    assert_permits_home(&client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permits_bound_requests_and_come_back_on_every_path() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let client = RemotingClient::builder()
        .async_permits(2)
        .build()
        .expect("valid");
    let a = client
        .invoke_async(&addr, RemotingCommand::request(SILENT), SECOND)
        .await
        .expect("queued");
    let b = client
        .invoke_async(&addr, RemotingCommand::request(SILENT), SECOND)
        .await
        .expect("queued");
    assert_eq!(client.available_async_permits(), 0);
    let err = client
        .invoke_async(
            &addr,
            RemotingCommand::request(ECHO),
            Duration::from_millis(50),
        )
        .await
        .expect_err("no permit");
    assert_eq!(err.kind(), ErrorKind::TooManyRequests, "{err}");
    drop(a); // the caller gives up: its permit returns
    assert_eq!(client.available_async_permits(), 1);
    assert!(b.await.expect_err("times out").is_timeout());
    assert_eq!(client.available_async_permits(), 2);
    // A refused connection returns the permit too.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        l.local_addr().expect("addr").to_string()
    };
    let err = client
        .invoke_async(&dead, RemotingCommand::request(ECHO), SECOND)
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Connect);
    assert!(err.is_not_sent());
    assert_eq!(client.available_async_permits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_codes_panics_and_oneway_requests_are_answered_as_java_does() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    let unknown = client
        .invoke_sync(&addr, RemotingCommand::request(4242), SECOND)
        .await
        .expect("answered");
    assert_eq!(unknown.code(), response::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(unknown.remark(), Some(" request type 4242 not supported"));
    let panicked = client
        .invoke_sync(&addr, RemotingCommand::request(PANIC), SECOND)
        .await
        .expect("answered");
    assert_eq!(panicked.code(), response::SYSTEM_ERROR);
    let panicked_early = client
        .invoke_sync(&addr, RemotingCommand::request(PANIC_EARLY), SECOND)
        .await
        .expect("answered");
    assert_eq!(panicked_early.code(), response::SYSTEM_ERROR);
    // An unknown oneway request gets no answer and does not disturb the connection.
    client
        .invoke_oneway(&addr, RemotingCommand::request(4242), SECOND)
        .await
        .expect("written");
    let ok = client
        .invoke_sync(&addr, RemotingCommand::request(ECHO), SECOND)
        .await
        .expect("answered");
    assert_eq!(ok.code(), 0);
    assert_permits_home(&client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_can_call_clients_and_client_processors_answer() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    client.register_processor(307, |_: Channel, req: RemotingCommand| async move {
        Some(
            RemotingCommand::response(response::SYSTEM_ERROR).with_remark(format!(
                "no consumer for {}",
                req.ext_field("consumerGroup").unwrap_or("?")
            )),
        )
    });
    client.connect(&addr, SECOND).await.expect("connects");
    // The accept loop registers the connection shortly after the client sees it open.
    let deadline = Instant::now() + SECOND;
    while server.channels().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let channel = server.channels().pop().expect("server sees the client");
    let answer = channel
        .invoke(
            RemotingCommand::request(307).with_ext_field("consumerGroup", "g"),
            SECOND,
        )
        .await
        .expect("client answers");
    assert_eq!(answer.code(), response::SYSTEM_ERROR);
    assert_eq!(answer.remark(), Some("no consumer for g"));
    let unknown = channel
        .invoke(RemotingCommand::request(999), SECOND)
        .await
        .expect("client answers");
    assert_eq!(unknown.code(), response::REQUEST_CODE_NOT_SUPPORTED);
}

#[derive(Default)]
struct Recorder {
    before: AtomicUsize,
    after: AtomicUsize,
}

struct RecordingHook(Arc<Recorder>);

impl RpcHook for RecordingHook {
    fn before_request(&self, _addr: &str, request: &mut RemotingCommand) {
        self.0.before.fetch_add(1, Ordering::SeqCst);
        // Oneway marking comes after the hooks, as in Java.
        assert!(!request.is_oneway());
        request.add_ext_field("k", "from-hook");
    }

    fn after_response(
        &self,
        _addr: &str,
        request: &RemotingCommand,
        response: &mut RemotingCommand,
    ) {
        self.0.after.fetch_add(1, Ordering::SeqCst);
        assert_eq!(request.ext_field("k"), Some("from-hook"));
        response.add_ext_field("seen", "yes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_hooks_run_around_every_request() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    let recorder = Arc::new(Recorder::default());
    client.register_rpc_hook(RecordingHook(recorder.clone()));
    let sync = client
        .invoke_sync(&addr, RemotingCommand::request(ECHO), SECOND)
        .await
        .expect("ok");
    assert_eq!(
        sync.ext_field("echo"),
        Some("from-hook"),
        "the hook's field went on the wire"
    );
    assert_eq!(sync.ext_field("seen"), Some("yes"));
    let r#async = client
        .invoke_async(&addr, RemotingCommand::request(ECHO), SECOND)
        .await
        .expect("queued")
        .await
        .expect("ok");
    assert_eq!(r#async.ext_field("seen"), Some("yes"));
    client
        .invoke_oneway(&addr, RemotingCommand::request(COUNTED), SECOND)
        .await
        .expect("written");
    assert_eq!(recorder.before.load(Ordering::SeqCst), 3);
    assert_eq!(recorder.after.load(Ordering::SeqCst), 2);
}

/// A hook that panics on the requests it is told to.
struct PanickingHook {
    before: bool,
}

impl RpcHook for PanickingHook {
    fn before_request(&self, _: &str, _: &mut RemotingCommand) {
        assert!(!self.before, "before_request bug");
    }
    fn after_response(&self, _: &str, _: &RemotingCommand, _: &mut RemotingCommand) {
        panic!("after_response bug");
    }
}

/// A panic in `before_request` fails the request unsent; one in `after_response` is logged
/// and the response kept (the peer acted on the request: reporting a failure would have the
/// caller send it again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_rpc_hook_never_reaches_the_caller() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let calls = Arc::new(AtomicUsize::new(0));
    for (before, expected) in [(true, Err(ErrorKind::Hook)), (false, Ok(0))] {
        let client = client();
        client.register_rpc_hook(PanickingHook { before });
        let request = || RemotingCommand::request(ECHO);
        let sync = client.invoke_sync(&addr, request(), SECOND).await;
        assert_eq!(sync.map(|r| r.code()).map_err(|e| e.kind()), expected);
        let pending = client.invoke_async(&addr, request(), SECOND).await;
        let outcome = match pending {
            Ok(pending) => pending.await,
            Err(e) => Err(e),
        };
        assert_eq!(outcome.map(|r| r.code()).map_err(|e| e.kind()), expected);
        let (callback, _) = with_callback(&client, &addr, request(), SECOND, &calls).await;
        assert_eq!(callback, expected, "called once, whatever the hook did");
        assert_permits_home(&client);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_server_shutdown_finishes_in_flight_requests() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    let slow = client
        .invoke_async(
            &addr,
            RemotingCommand::request(SLOW).with_ext_field("ms", "200"),
            Duration::from_secs(5),
        )
        .await
        .expect("queued");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    server.shutdown(Duration::from_secs(5)).await;
    assert!(started.elapsed() < SECOND);
    assert_eq!(slow.await.expect("answered before the close").code(), 0);
    let err = client
        .invoke_sync(&addr, RemotingCommand::request(ECHO), SECOND)
        .await
        .expect_err("server gone");
    assert!(
        matches!(err.kind(), ErrorKind::Connect | ErrorKind::ConnectionClosed),
        "{err}"
    );
    assert_permits_home(&client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_refuses_new_requests_and_fails_pending_ones() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    let pending = client
        .invoke_async(
            &addr,
            RemotingCommand::request(SILENT),
            Duration::from_secs(5),
        )
        .await
        .expect("queued");
    client.shutdown();
    let err = pending.await.expect_err("connection closed");
    assert_eq!(err.kind(), ErrorKind::ConnectionClosed);
    let err = client
        .invoke_sync(&addr, RemotingCommand::request(ECHO), SECOND)
        .await
        .expect_err("shut down");
    assert_eq!(err.kind(), ErrorKind::Shutdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_and_codec_errors_on_send() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    let client = client();
    let body = Bytes::from(vec![7u8; 4 * 1024 * 1024]);
    let echoed = client
        .invoke_sync(
            &addr,
            RemotingCommand::request(ECHO).with_body(body.clone()),
            Duration::from_secs(10),
        )
        .await
        .expect("4 MiB round trip");
    assert_eq!(echoed.body(), &body);
    // A request that cannot be encoded fails alone; the connection stays usable.
    let err = client
        .invoke_sync(
            &addr,
            RemotingCommand::request(70_000).with_serialize_type(SerializeType::RocketMq),
            SECOND,
        )
        .await
        .expect_err("code does not fit int16");
    assert_eq!(err.kind(), ErrorKind::Codec);
    assert!(
        client
            .invoke_sync(&addr, RemotingCommand::request(ECHO), SECOND)
            .await
            .is_ok()
    );
    assert_permits_home(&client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneway_floods_past_the_in_flight_bound_lose_nothing_and_never_stall() {
    // A bound of 4 is reached mid-read many times over; every request must still be processed
    // (none dropped) and reading must resume as soon as one finishes (no wait for a timer).
    let seen = Arc::new(AtomicUsize::new(0));
    let server = RemotingServer::builder().max_inflight_requests(4).build();
    let counter = seen.clone();
    server.register_processor(COUNTED, move |_: Channel, _: RemotingCommand| {
        let counter = counter.clone();
        async move {
            tokio::task::yield_now().await;
            counter.fetch_add(1, Ordering::SeqCst);
            None
        }
    });
    let handle = server.bind("127.0.0.1:0").await.expect("binds");
    let addr = handle.local_addr().to_string();
    let client = client();
    let started = Instant::now();
    let senders: Vec<_> = (0..20)
        .map(|_| {
            let (client, addr) = (client.clone(), addr.clone());
            tokio::spawn(async move {
                for _ in 0..100 {
                    client
                        .invoke_oneway(
                            &addr,
                            RemotingCommand::request(COUNTED).with_body(vec![1u8; 512]),
                            SECOND,
                        )
                        .await
                        .expect("written");
                }
            })
        })
        .collect();
    for s in senders {
        s.await.expect("sender");
    }
    let deadline = Instant::now() + 5 * SECOND;
    while seen.load(Ordering::SeqCst) < 2000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2000,
        "every oneway request was processed"
    );
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "no stall: {:?}",
        started.elapsed()
    );
    assert_permits_home(&client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_not_held_behind_slow_peer_requests() {
    let (server, _) = server().await;
    let addr = server.local_addr().to_string();
    // The client serves one peer request at a time, slowly.
    let client = RemotingClient::builder()
        .max_inflight_server_requests(1)
        .build()
        .expect("valid");
    client.register_processor(5000, |_: Channel, _: RemotingCommand| async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        None
    });
    client.connect(&addr, SECOND).await.expect("connects");
    let deadline = Instant::now() + SECOND;
    while server.channels().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let channel = server.channels().pop().expect("server sees the client");
    // Two slow requests: one runs, one waits for the slot.
    for _ in 0..2 {
        channel
            .invoke_oneway(RemotingCommand::request(5000), SECOND)
            .await
            .expect("written");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let echoed = client
        .invoke_sync(&addr, RemotingCommand::request(ECHO), SECOND)
        .await
        .expect("answered while the peer's requests wait");
    assert_eq!(echoed.code(), 0);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_ends_as_soon_as_its_last_oneway_request_finishes() {
    let server = RemotingServer::builder().build();
    server.register_processor(COUNTED, |_: Channel, _: RemotingCommand| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        None
    });
    let handle = server.bind("127.0.0.1:0").await.expect("binds");
    let addr = handle.local_addr().to_string();
    let client = client();
    client
        .invoke_oneway(&addr, RemotingCommand::request(COUNTED), SECOND)
        .await
        .expect("written");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    handle.shutdown(Duration::from_secs(5)).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(600),
        "drain waited {elapsed:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn many_frames_in_one_read_are_all_handled_without_more_bytes() {
    // The server handles received frames a chunk at a time; frames left in its buffer must be
    // handled without waiting for anything more from the peer. Oneway requests make no
    // response that could wake the connection by chance.
    let (handle, counters) = server().await;
    let mut stream = tokio::net::TcpStream::connect(handle.local_addr())
        .await
        .expect("connects");
    let mut frames = BytesMut::new();
    for opaque in 0..200 {
        let mut request = RemotingCommand::request(COUNTED)
            .with_opaque(opaque)
            .with_serialize_type(SerializeType::RocketMq);
        request.mark_oneway();
        frames.extend_from_slice(&request.encode_to_bytes().expect("encodes"));
    }
    stream.write_all(&frames).await.expect("written at once");
    let deadline = Instant::now() + 2 * SECOND;
    while counters.oneway_seen.load(Ordering::SeqCst) < 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(counters.oneway_seen.load(Ordering::SeqCst), 200);
}
