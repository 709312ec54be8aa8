//! TLS between the remoting client and server: verified by default, named for an address, the
//! loud opt-out, mutual TLS, and handshake failures that say what went wrong.

use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rmq_remoting::tls::{ClientTls, ServerTls};
use rmq_remoting::{Channel, ErrorKind, RemotingClient, RemotingCommand, RemotingServer};

const PING: i32 = 1000;
const SECOND: Duration = Duration::from_secs(1);

/// A CA, and PEM certificate/key pairs it signs.
struct Authority {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().expect("key");
        let pem = params.self_signed(&key).expect("CA").pem();
        Self {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `names` (host names or IPs), and its key.
    fn issue(&self, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let params = CertificateParams::new(names).expect("params");
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        (cert.pem(), key.serialize_pem())
    }
}

async fn server(tls: ServerTls) -> rmq_remoting::ServerHandle {
    let server = RemotingServer::builder().tls(tls).build();
    server.register_processor(PING, |_: Channel, req: RemotingCommand| async move {
        Some(RemotingCommand::response(0).with_body(req.body().clone()))
    });
    server.bind("127.0.0.1:0").await.expect("binds")
}

async fn ping(tls: ClientTls, addr: &str) -> Result<i32, rmq_remoting::RemotingError> {
    let client = RemotingClient::builder()
        .tls(tls)
        .connect_timeout(SECOND)
        .build()
        .expect("client");
    let answer = client
        .invoke_sync(
            addr,
            RemotingCommand::request(PING).with_body("ping"),
            SECOND,
        )
        .await;
    client.shutdown();
    answer.map(|response| response.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_tls_by_ip_or_by_name() {
    let ca = Authority::new("rmq test CA");
    let (cert, key) = ca.issue(&["127.0.0.1", "broker.test"]);
    let server = server(ServerTls::from_pem(&cert, &key, None).expect("server tls")).await;
    let addr = server.local_addr().to_string();

    let by_ip = ClientTls::builder()
        .ca_pem(&ca.pem)
        .expect("CA")
        .build()
        .expect("tls");
    assert_eq!(ping(by_ip, &addr).await.expect("answered"), 0);

    let by_name = ClientTls::builder()
        .ca_pem(&ca.pem)
        .expect("CA")
        .server_name("broker.test")
        .build()
        .expect("tls");
    assert_eq!(ping(by_name, &addr).await.expect("answered"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_failures_name_the_address_and_the_reason() {
    let ca = Authority::new("rmq test CA");
    let (cert, key) = ca.issue(&["broker.test"]);
    let server = server(ServerTls::from_pem(&cert, &key, None).expect("server tls")).await;
    let addr = server.local_addr().to_string();

    // A CA that did not sign it.
    let stranger = Authority::new("another CA");
    let unknown = ClientTls::builder()
        .ca_pem(&stranger.pem)
        .expect("CA")
        .build()
        .expect("tls");
    let err = ping(unknown, &addr).await.expect_err("unknown issuer");
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&addr) && text.contains("TLS handshake failed"),
        "{text}"
    );
    assert!(text.to_lowercase().contains("issuer"), "{text}");

    // The right CA, the wrong name: the certificate is for broker.test, not 127.0.0.1.
    let wrong_name = ClientTls::builder()
        .ca_pem(&ca.pem)
        .expect("CA")
        .build()
        .expect("tls");
    let err = ping(wrong_name, &addr).await.expect_err("bad name");
    assert!(err.to_string().contains("TLS handshake failed"), "{err}");

    // The loud opt-out accepts it anyway.
    let anything = ClientTls::builder()
        .danger_accept_any_server_certificate()
        .build()
        .expect("tls");
    assert_eq!(ping(anything, &addr).await.expect("answered"), 0);

    // A plain client against a TLS server fails, it does not hang.
    let plain = RemotingClient::builder()
        .connect_timeout(SECOND)
        .build()
        .expect("client");
    let started = tokio::time::Instant::now();
    let err = plain
        .invoke_sync(&addr, RemotingCommand::request(PING), SECOND)
        .await
        .expect_err("not TLS");
    assert!(started.elapsed() < 2 * SECOND, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_needs_a_client_certificate_from_the_servers_ca() {
    let ca = Authority::new("rmq test CA");
    let (cert, key) = ca.issue(&["127.0.0.1"]);
    let clients = Authority::new("client CA");
    let server =
        server(ServerTls::from_pem(&cert, &key, Some(clients.pem.as_bytes())).expect("server tls"))
            .await;
    let addr = server.local_addr().to_string();

    let (client_cert, client_key) = clients.issue(&["producer.test"]);
    let with_cert = ClientTls::builder()
        .ca_pem(&ca.pem)
        .expect("CA")
        .client_certificate_pem(&client_cert, &client_key)
        .build()
        .expect("tls");
    assert_eq!(ping(with_cert, &addr).await.expect("answered"), 0);

    let without = ClientTls::builder()
        .ca_pem(&ca.pem)
        .expect("CA")
        .build()
        .expect("tls");
    assert!(
        ping(without, &addr).await.is_err(),
        "no client certificate, no answer"
    );
}

#[test]
fn bad_pem_is_a_typed_error() {
    assert!(ClientTls::builder().ca_pem("not a certificate").is_err());
    assert!(ServerTls::from_pem("nope", "nope", None).is_err());
}
