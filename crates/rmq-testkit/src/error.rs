//! Errors of the test cluster's own operations (starting, adding brokers, waiting).

use std::io;
use std::time::Duration;

/// Why a test-cluster operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// A name server or broker could not listen on its address.
    #[error("{server} could not listen on {addr}: {source}")]
    Bind {
        /// `"name server"` or the broker's name.
        server: String,
        /// The address it tried.
        addr: String,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// The TLS certificates could not be made.
    #[error("could not make the test cluster's TLS certificates: {0}")]
    Tls(String),
    /// A broker with this name is already part of the cluster.
    #[error("the cluster already has a broker named {0}")]
    DuplicateBroker(String),
    /// [`TestBroker::wait_for_messages`](crate::TestBroker::wait_for_messages) gave up.
    #[error(
        "broker {broker}: {found} of {expected} messages on topic {topic} arrived within {timeout:?}"
    )]
    WaitTimeout {
        /// The broker waited on.
        broker: String,
        /// The topic waited on.
        topic: String,
        /// How many messages were expected.
        expected: usize,
        /// How many had arrived at the deadline.
        found: usize,
        /// How long it waited.
        timeout: Duration,
    },
}
