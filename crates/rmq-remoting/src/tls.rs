//! TLS for connections (Java: `useTLS`, `TlsHelper`), with rustls: server certificates
//! verified by default (against the platform's roots or a given CA bundle), an explicit server
//! name for brokers addressed by IP, client certificates for mutual TLS, and a loudly named
//! opt-out of verification for test clusters.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio::net::TcpStream;

/// A TLS setting that could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("TLS configuration: {0}")]
pub struct TlsError(pub String);

/// *ring*: it builds with the C compiler every machine here has. rustls 0.23.48 prefers
/// aws-lc-rs for its post-quantum key exchange; moving there is a dependency change, not an
/// API one.
#[allow(
    deprecated,
    reason = "ring lacks only post-quantum key exchange; see above"
)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError(format!("{what}: not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError(format!("{what}: no certificate in the PEM")));
    }
    Ok(certs)
}

fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| TlsError(format!("private key: not a PEM key: {e}")))
}

/// Where server certificates are checked against.
#[derive(Clone)]
enum Trust {
    /// The platform's roots (`rustls-native-certs`).
    Platform,
    /// The certificates of a PEM bundle.
    Pem(Vec<CertificateDer<'static>>),
    /// Nothing: any certificate is accepted.
    Nothing,
}

/// Client-side TLS: how this side checks the server, and what it shows of itself.
///
/// ```
/// use rmq_remoting::tls::ClientTls;
///
/// // Brokers are usually addressed by IP: name the certificate's host explicitly.
/// let tls = ClientTls::builder().server_name("broker.example.com").build().unwrap();
/// # drop(tls);
/// ```
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    server_name: Option<ServerName<'static>>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ClientTls`].
#[derive(Clone, Default)]
pub struct ClientTlsBuilder {
    trust: Option<Trust>,
    server_name: Option<String>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl fmt::Debug for ClientTlsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTlsBuilder")
            .field("server_name", &self.server_name)
            .field("client_certificate", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// A builder: the platform's roots, the address's host as server name, no client
    /// certificate.
    pub fn builder() -> ClientTlsBuilder {
        ClientTlsBuilder::default()
    }

    /// Opens TLS over `stream` to `addr` (`host:port`).
    pub(crate) async fn connect(
        &self,
        addr: &str,
        stream: TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => {
                let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                ServerName::try_from(host.to_owned()).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("{host} is not a TLS server name: {e}"),
                    )
                })?
            }
        };
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, stream)
            .await
    }
}

impl ClientTlsBuilder {
    /// Trusts the certificates of this PEM bundle (and not the platform's roots).
    pub fn ca_pem(mut self, pem: impl AsRef<[u8]>) -> Result<Self, TlsError> {
        self.trust = Some(Trust::Pem(certificates(pem.as_ref(), "CA bundle")?));
        Ok(self)
    }

    /// Checks the server's certificate for `name` instead of the host it is addressed by
    /// (brokers are usually addressed by IP); also sent as SNI.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Shows this certificate chain and key to servers that ask (mutual TLS).
    pub fn client_certificate_pem(
        mut self,
        chain: impl AsRef<[u8]>,
        key: impl AsRef<[u8]>,
    ) -> Self {
        self.identity = Some((chain.as_ref().to_vec(), key.as_ref().to_vec()));
        self
    }

    /// Accepts any server certificate, unchecked: for test clusters with self-signed
    /// certificates only. Anyone on the path can then read and change the traffic.
    pub fn danger_accept_any_server_certificate(mut self) -> Self {
        self.trust = Some(Trust::Nothing);
        self
    }

    /// Checks the settings and builds the TLS configuration.
    pub fn build(self) -> Result<ClientTls, TlsError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?;
        let builder = match self.trust.unwrap_or(Trust::Platform) {
            Trust::Nothing => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider()))),
            trust => builder.with_root_certificates(roots(trust)?),
        };
        let config = match self.identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(
                    certificates(&chain, "client certificate")?,
                    private_key(&key)?,
                )
                .map_err(|e| TlsError(format!("client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        let server_name = self
            .server_name
            .map(|name| {
                ServerName::try_from(name.clone())
                    .map_err(|e| TlsError(format!("server name {name:?}: {e}")))
            })
            .transpose()?;
        Ok(ClientTls {
            config: Arc::new(config),
            server_name,
        })
    }
}

fn roots(trust: Trust) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    match trust {
        Trust::Pem(certs) => {
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| TlsError(format!("CA bundle: {e}")))?;
            }
        }
        Trust::Platform => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(TlsError(
                    "no root certificate found on this platform; give a CA bundle".into(),
                ));
            }
        }
        Trust::Nothing => {}
    }
    Ok(roots)
}

/// The verifier of [`ClientTlsBuilder::danger_accept_any_server_certificate`]: handshake
/// signatures are still checked, certificates are not.
#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Server-side TLS: the server's certificate, and optionally the CA that client certificates
/// must come from (mutual TLS).
///
/// ```no_run
/// use rmq_remoting::tls::ServerTls;
/// let tls = ServerTls::from_pem(
///     std::fs::read("server.pem").unwrap(),
///     std::fs::read("server.key").unwrap(),
///     None,
/// )
/// .unwrap();
/// # drop(tls);
/// ```
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// The server's certificate chain and key, PEM; with `client_ca_pem`, clients must show a
    /// certificate from that CA.
    pub fn from_pem(
        chain: impl AsRef<[u8]>,
        key: impl AsRef<[u8]>,
        client_ca_pem: Option<&[u8]>,
    ) -> Result<Self, TlsError> {
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?;
        let builder = match client_ca_pem {
            Some(ca) => {
                let roots = Arc::new(roots(Trust::Pem(certificates(ca, "client CA")?))?);
                let verifier =
                    rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider())
                        .build()
                        .map_err(|e| TlsError(format!("client CA: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(
                certificates(chain.as_ref(), "server certificate")?,
                private_key(key.as_ref())?,
            )
            .map_err(|e| TlsError(format!("server certificate: {e}")))?;
        Ok(Self {
            config: Arc::new(config),
        })
    }

    pub(crate) async fn accept(
        &self,
        stream: TcpStream,
    ) -> std::io::Result<tokio_rustls::server::TlsStream<TcpStream>> {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
            .accept(stream)
            .await
    }
}
