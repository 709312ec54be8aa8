//! What a send carries, and what a failed send hands back.

use rmq_common::Message;

use crate::{Error, SendError};

pub(crate) use sealed::Unsent;

/// What a send carries, and a failed send hands back in its [`SendError`]: one [`Message`], or
/// a batch's `Vec<Message>`. Sealed: the producer knows how to send exactly these.
pub trait Payload: sealed::Sealed {}

impl Payload for Message {}

impl Payload for Vec<Message> {}

/// A failure with what the send carried, on its way to its caller as a [`SendError`].
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) unsent: Unsent,
}

impl Failure {
    pub(crate) fn into_send_error<M: Payload>(self) -> SendError<M> {
        SendError::new(self.error, M::from_unsent(self.unsent))
    }
}

mod sealed {
    use rmq_common::Message;

    /// What a send carries, whatever its request's type.
    #[derive(Debug)]
    pub enum Unsent {
        One(Message),
        Batch(Vec<Message>),
    }

    pub trait Sealed: Sized + Send + 'static {
        /// How many messages it is.
        fn len(&self) -> usize;
        fn into_unsent(self) -> Unsent;
        /// Only ever given what `into_unsent` of the same type made.
        fn from_unsent(unsent: Unsent) -> Self;
    }

    impl Sealed for Message {
        fn len(&self) -> usize {
            1
        }

        fn into_unsent(self) -> Unsent {
            Unsent::One(self)
        }

        fn from_unsent(unsent: Unsent) -> Self {
            match unsent {
                Unsent::One(message) => message,
                // A single-message send never carries a batch; its one message if it did.
                Unsent::Batch(batch) => batch
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| Message::new("", bytes::Bytes::new())),
            }
        }
    }

    impl Sealed for Vec<Message> {
        fn len(&self) -> usize {
            Vec::len(self)
        }

        fn into_unsent(self) -> Unsent {
            Unsent::Batch(self)
        }

        fn from_unsent(unsent: Unsent) -> Self {
            match unsent {
                Unsent::One(message) => vec![message],
                Unsent::Batch(batch) => batch,
            }
        }
    }
}
