//! The END_TRANSACTION a producer sends: after its own local transaction, and in answer to a
//! broker's check (Java: `DefaultMQProducerImpl.endTransaction`, the answer in
//! `DefaultMQProducerImpl.checkTransactionState`; protocol.md §12.2–12.3).

use rmq_common::OffsetMessageId;
use rmq_remoting::header::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};

use super::LocalTransactionState;
use crate::{Error, SendResult};

/// Ends the transaction of a half message this producer just sent. `wire_topic` is the
/// message's topic with the namespace applied (5.x brokers read it; 4.x brokers ignore it).
///
/// The commit-log offset comes from the offset message id, or from the message id when the
/// broker gave none, as in Java.
pub(crate) fn after_send(
    group: &str,
    sent: &SendResult,
    wire_topic: &str,
    state: LocalTransactionState,
) -> Result<EndTransactionRequestHeader, Error> {
    let id = sent.offset_msg_id.as_deref().unwrap_or(&sent.msg_id);
    let offset = OffsetMessageId::decode(id).map_err(|e| Error::MalformedResponse {
        what: "offset message id",
        addr: sent.queue.broker_name().to_owned(),
        detail: format!("{id}: {e}"),
    })?;
    Ok(EndTransactionRequestHeader {
        producer_group: group.to_owned(),
        tran_state_table_offset: sent.queue_offset,
        commit_log_offset: offset.offset,
        commit_or_rollback: state.wire_value(),
        from_transaction_check: Some(false),
        msg_id: sent.msg_id.to_string(),
        transaction_id: sent.transaction_id.as_deref().map(str::to_owned),
        broker_name: Some(sent.queue.broker_name().to_owned()),
        topic: Some(wire_topic.to_owned()),
    })
}

/// Answers a broker's check: offsets, transaction id, broker and topic copied from the check;
/// `msg_id` is the message's `UNIQ_KEY` (its offset id when it has none).
pub(crate) fn after_check(
    group: &str,
    check: &CheckTransactionStateRequestHeader,
    msg_id: &str,
    state: LocalTransactionState,
) -> EndTransactionRequestHeader {
    EndTransactionRequestHeader {
        producer_group: group.to_owned(),
        tran_state_table_offset: check.tran_state_table_offset,
        commit_log_offset: check.commit_log_offset,
        commit_or_rollback: state.wire_value(),
        from_transaction_check: Some(true),
        msg_id: msg_id.to_owned(),
        transaction_id: check.transaction_id.clone(),
        broker_name: check.broker_name.clone(),
        topic: check.topic.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SendStatus;
    use rmq_common::MessageQueue;

    const UNIQ_KEY: &str = "C0A80164123418B4AAC2075BCD150001";

    /// The send result of vectors.md V14–V16.
    fn v16_result() -> SendResult {
        SendResult::new(
            SendStatus::SendOk,
            UNIQ_KEY,
            MessageQueue::new("TopicTest", "broker-a", 1),
            42,
        )
        .with_offset_msg_id("C0A8002F00002A9F0000000012345678")
    }

    #[test]
    fn v56_commit_after_the_send() {
        let header = after_send(
            "pg",
            &v16_result(),
            "TopicTest",
            LocalTransactionState::Commit,
        )
        .expect("a valid id");
        assert_eq!(
            header,
            EndTransactionRequestHeader {
                producer_group: "pg".into(),
                tran_state_table_offset: 42,
                commit_log_offset: 305_419_896,
                commit_or_rollback: 8,
                from_transaction_check: Some(false),
                msg_id: UNIQ_KEY.into(),
                transaction_id: None,
                broker_name: Some("broker-a".into()),
                // What a 5.x client adds (V56: "HEAD adds topic").
                topic: Some("TopicTest".into()),
            }
        );
        let rollback = after_send(
            "pg",
            &v16_result(),
            "TopicTest",
            LocalTransactionState::Rollback,
        )
        .expect("a valid id");
        assert_eq!(rollback.commit_or_rollback, 12);
        let unknown = after_send(
            "pg",
            &v16_result(),
            "TopicTest",
            LocalTransactionState::Unknown,
        )
        .expect("a valid id");
        assert_eq!(unknown.commit_or_rollback, 0);
    }

    #[test]
    fn without_an_offset_id_the_message_id_is_decoded_and_a_bad_one_is_an_error() {
        let mut sent = v16_result();
        sent.offset_msg_id = None;
        sent.msg_id = "C0A8002F00002A9F0000000012345678".into();
        let header =
            after_send("pg", &sent, "T", LocalTransactionState::Commit).expect("a valid id");
        assert_eq!(header.commit_log_offset, 305_419_896);

        sent.msg_id = "not-an-id".into();
        let err =
            after_send("pg", &sent, "T", LocalTransactionState::Commit).expect_err("not an id");
        assert!(err.to_string().contains("not-an-id"), "{err}");
    }

    #[test]
    fn v57_answer_to_a_check() {
        let check = CheckTransactionStateRequestHeader {
            tran_state_table_offset: 42,
            commit_log_offset: 305_419_896,
            msg_id: Some(UNIQ_KEY.into()),
            transaction_id: Some(UNIQ_KEY.into()),
            offset_msg_id: Some("C0A8002F00002A9F0000000012345678".into()),
            topic: None,
            broker_name: None,
        };
        let answer = after_check("pg", &check, UNIQ_KEY, LocalTransactionState::Commit);
        assert_eq!(
            answer,
            EndTransactionRequestHeader {
                producer_group: "pg".into(),
                tran_state_table_offset: 42,
                commit_log_offset: 305_419_896,
                commit_or_rollback: 8,
                from_transaction_check: Some(true),
                msg_id: UNIQ_KEY.into(),
                transaction_id: Some(UNIQ_KEY.into()),
                // The 4.9.8 check had none, so the answer has none.
                broker_name: None,
                topic: None,
            }
        );
    }
}
