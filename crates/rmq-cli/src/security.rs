//! `--access-key`/`--secret-key` and `--tls…`: what every command's producer or client gets.

use anyhow::{Context, Result};
use rmq::client::ProducerBuilder;
use rmq::remoting::RemotingClientBuilder;
use rmq::remoting::acl::AclSigner;
use rmq::remoting::tls::ClientTls;

use crate::cli::Common;

/// ACL signing and TLS, as the flags ask.
#[derive(Clone, Debug, Default)]
pub struct Security {
    credentials: Option<(String, String)>,
    tls: Option<ClientTls>,
}

impl Security {
    /// From the flags; `embedded_ca` is the embedded cluster's CA, trusted when it has one.
    pub fn from_common(common: &Common, embedded_ca: Option<&str>) -> Result<Self> {
        let credentials = common.access_key.clone().zip(common.secret_key.clone());
        let tls = if common.tls {
            let mut builder = ClientTls::builder();
            if let Some(path) = &common.tls_ca {
                let pem = std::fs::read(path)
                    .with_context(|| format!("cannot read the CA file {}", path.display()))?;
                builder = builder.ca_pem(pem)?;
            } else if let Some(ca) = embedded_ca {
                builder = builder.ca_pem(ca)?;
            }
            if let Some(name) = &common.tls_server_name {
                builder = builder.server_name(name);
            }
            if common.tls_insecure {
                builder = builder.danger_accept_any_server_certificate();
            }
            Some(builder.build()?)
        } else {
            None
        };
        Ok(Self { credentials, tls })
    }

    /// A producer builder with the credentials and TLS.
    pub fn producer(&self, mut builder: ProducerBuilder) -> ProducerBuilder {
        if let Some((access_key, secret_key)) = &self.credentials {
            builder = builder.credentials(access_key, secret_key);
        }
        if let Some(tls) = &self.tls {
            builder = builder.tls(tls.clone());
        }
        builder
    }

    /// A remoting client builder with the credentials and TLS.
    pub fn remoting(&self, mut builder: RemotingClientBuilder) -> Result<RemotingClientBuilder> {
        if let Some((access_key, secret_key)) = &self.credentials {
            builder = builder.request_signer(AclSigner::new(access_key, secret_key)?);
        }
        if let Some(tls) = &self.tls {
            builder = builder.tls(tls.clone());
        }
        Ok(builder)
    }
}
