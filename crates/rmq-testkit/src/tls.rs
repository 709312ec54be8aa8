//! The test cluster's TLS certificates: a CA made at start, and a certificate it signs for
//! `127.0.0.1` and `localhost`.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rmq_remoting::tls::ServerTls;

use crate::TestkitError;

pub(crate) struct Certificates {
    pub(crate) ca_pem: String,
    pub(crate) server: ServerTls,
}

impl Certificates {
    pub(crate) fn generate() -> Result<Self, TestkitError> {
        let failed = |e: &dyn std::fmt::Display| TestkitError::Tls(e.to_string());
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| failed(&e))?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "rmq-testkit CA");
        let ca_key = KeyPair::generate().map_err(|e| failed(&e))?;
        let ca_pem = ca.self_signed(&ca_key).map_err(|e| failed(&e))?.pem();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().map_err(|e| failed(&e))?;
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .map_err(|e| failed(&e))?
            .signed_by(&key, &issuer)
            .map_err(|e| failed(&e))?;
        let server =
            ServerTls::from_pem(cert.pem(), key.serialize_pem(), None).map_err(|e| failed(&e))?;
        Ok(Self { ca_pem, server })
    }
}
