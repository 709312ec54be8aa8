//! Recalling a timer message before it is due (Java 5.3.2+: `DefaultMQProducer.recallMessage`,
//! `DefaultMQProducerImpl.recallMessage`, `MQClientAPIImpl.recallMessage`).

use rmq_common::recall::RecallHandle;
use rmq_common::{ByteString, validators};
use rmq_remoting::code::{request, response};
use rmq_remoting::deadline::deadline_after;
use rmq_remoting::header::{RecallMessageRequestHeader, RecallMessageResponseHeader};

use crate::{Error, Producer, Result};

impl Producer {
    /// Withdraws a timer message (one sent with a delivery time or delay, see
    /// [`Message::set_delay_time_ms`](rmq_common::Message::set_delay_time_ms)) before it is
    /// delivered, with the handle its send result carried (Java: `recallMessage`). Returns the
    /// recalled message's id.
    ///
    /// Needs a RocketMQ 5.3.2+ broker (or rocketmq-rust) with recall enabled; an older broker
    /// answers that it does not support the request ([`ErrorKind::BrokerRefused`](crate::ErrorKind::BrokerRefused),
    /// response code 3). A handle that is not a recall handle is
    /// [`Error::RecallHandle`]; a message already delivered cannot be recalled (the broker
    /// answers 604, "timestamp invalid").
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_common::Message;
    /// let mut reminder = Message::new("Reminders", "call back");
    /// reminder.set_delay_time_sec(3600);
    /// let sent = producer.send(reminder).await?;
    /// if let Some(handle) = &sent.recall_handle {
    ///     let id = producer.recall("Reminders", handle).await?;
    ///     println!("recalled {id}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn recall(&self, topic: &str, handle: &str) -> Result<String> {
        let inner = &self.inner;
        let instance = inner.instance()?;
        let user_topic = inner.unwrap_topic(&ByteString::from(topic));
        let wire_topic = inner.wrap(&user_topic);
        validators::validate_topic(&wire_topic)?;
        let decoded = RecallHandle::decode(handle)?;
        let timeout = inner.config.send_timeout;
        // The broker named in the handle, from the broker table; when it is not there yet,
        // from the topic's route, falling back to any broker of the topic, as Java does.
        let addr = match instance.master_addr(&decoded.broker_name) {
            Some(addr) => Some(addr),
            None => {
                let info = inner
                    .find_publish_info(&wire_topic, &user_topic, deadline_after(timeout))
                    .await?;
                instance.master_addr(&decoded.broker_name).or_else(|| {
                    info.queues
                        .iter()
                        .find_map(|q| instance.master_addr(q.broker_name()))
                })
            }
        };
        let addr = addr.ok_or_else(|| Error::BrokerNotFound {
            broker: decoded.broker_name.clone(),
        })?;
        let header = RecallMessageRequestHeader {
            producer_group: Some(inner.group.to_string()),
            topic: wire_topic.to_string(),
            recall_handle: handle.to_owned(),
            broker_name: Some(decoded.broker_name.clone()),
        };
        let response = instance
            .invoke(&addr, request::RECALL_MESSAGE, header, timeout)
            .await?;
        if response.code() != response::SUCCESS {
            return Err(Error::Broker {
                code: response.code(),
                remark: response.remark().unwrap_or_default().to_owned(),
                broker: decoded.broker_name,
                addr: addr.to_string(),
            });
        }
        response
            .decode_header::<RecallMessageResponseHeader>()
            .map(|header| header.msg_id)
            .map_err(|e| Error::MalformedResponse {
                what: "recall response",
                addr: addr.to_string(),
                detail: e.to_string(),
            })
    }
}
