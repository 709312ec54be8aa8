//! Transaction headers (Java: `EndTransactionRequestHeader`, `CheckTransactionStateRequestHeader`).

use super::{CommandHeader, HeaderError, optional, put, put_opt, required};
use crate::ExtFields;

/// Header of `END_TRANSACTION` (37), sent oneway to commit or roll back a half message.
///
/// Fields are written in Java 4.9.8's `HashMap` order (vectors.md V56).
///
/// ```
/// use rmq_remoting::header::EndTransactionRequestHeader;
/// let header = EndTransactionRequestHeader {
///     producer_group: "pg".into(),
///     tran_state_table_offset: 42,
///     commit_log_offset: 305419896,
///     commit_or_rollback: 8,
///     from_transaction_check: Some(false),
///     msg_id: "C0A80164123418B4AAC2075BCD150001".into(),
///     transaction_id: None,
///     broker_name: Some("broker-a".into()),
///     topic: None,
/// };
/// assert_eq!(header.commit_or_rollback, 8);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndTransactionRequestHeader {
    /// The producer group, namespace included.
    pub producer_group: String,
    /// The half message's queue offset (the send result's `queueOffset`).
    pub tran_state_table_offset: i64,
    /// The half message's commit-log offset (decoded from its offset message id).
    pub commit_log_offset: i64,
    /// 8 commit, 12 roll back, 0 unknown (the `sysFlag` transaction values).
    pub commit_or_rollback: i32,
    /// Whether this answers a broker's check.
    pub from_transaction_check: Option<bool>,
    /// The message's `UNIQ_KEY`.
    pub msg_id: String,
    /// The send result's transaction id, if any.
    pub transaction_id: Option<String>,
    /// `bname`: the broker holding the half message.
    pub broker_name: Option<String>,
    /// 5.x: the message's topic.
    pub topic: Option<String>,
}

impl CommandHeader for EndTransactionRequestHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        put(ext, "producerGroup", self.producer_group.clone());
        put_opt(ext, "bname", self.broker_name.as_ref());
        put(ext, "commitLogOffset", self.commit_log_offset.to_string());
        put(ext, "msgId", self.msg_id.clone());
        put(
            ext,
            "tranStateTableOffset",
            self.tran_state_table_offset.to_string(),
        );
        put(ext, "commitOrRollback", self.commit_or_rollback.to_string());
        put_opt(
            ext,
            "fromTransactionCheck",
            self.from_transaction_check.as_ref(),
        );
        put_opt(ext, "transactionId", self.transaction_id.as_ref());
        put_opt(ext, "topic", self.topic.as_ref());
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        const H: &str = "EndTransactionRequestHeader";
        Ok(Self {
            producer_group: required(ext, H, "producerGroup")?,
            tran_state_table_offset: required(ext, H, "tranStateTableOffset")?,
            commit_log_offset: required(ext, H, "commitLogOffset")?,
            commit_or_rollback: required(ext, H, "commitOrRollback")?,
            from_transaction_check: optional(ext, H, "fromTransactionCheck")?,
            msg_id: required(ext, H, "msgId")?,
            transaction_id: optional(ext, H, "transactionId")?,
            broker_name: optional(ext, H, "bname")?,
            topic: optional(ext, H, "topic")?,
        })
    }
}

/// Header of `CHECK_TRANSACTION_STATE` (39), a broker asking a producer about a half message.
///
/// Fields are written in Java 4.9.8's `HashMap` order (vectors.md V57).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckTransactionStateRequestHeader {
    /// The half message's queue offset.
    pub tran_state_table_offset: i64,
    /// The half message's commit-log offset.
    pub commit_log_offset: i64,
    /// The message's `UNIQ_KEY`.
    pub msg_id: Option<String>,
    /// The transaction id (the `UNIQ_KEY` too).
    pub transaction_id: Option<String>,
    /// The half message's offset message id.
    pub offset_msg_id: Option<String>,
    /// 5.x: the half topic.
    pub topic: Option<String>,
    /// 5.x: the broker's name.
    pub broker_name: Option<String>,
}

impl CommandHeader for CheckTransactionStateRequestHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        put(ext, "commitLogOffset", self.commit_log_offset.to_string());
        put_opt(ext, "msgId", self.msg_id.as_ref());
        put(
            ext,
            "tranStateTableOffset",
            self.tran_state_table_offset.to_string(),
        );
        put_opt(ext, "offsetMsgId", self.offset_msg_id.as_ref());
        put_opt(ext, "transactionId", self.transaction_id.as_ref());
        put_opt(ext, "topic", self.topic.as_ref());
        put_opt(ext, "bname", self.broker_name.as_ref());
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        const H: &str = "CheckTransactionStateRequestHeader";
        Ok(Self {
            tran_state_table_offset: required(ext, H, "tranStateTableOffset")?,
            commit_log_offset: required(ext, H, "commitLogOffset")?,
            msg_id: optional(ext, H, "msgId")?,
            transaction_id: optional(ext, H, "transactionId")?,
            offset_msg_id: optional(ext, H, "offsetMsgId")?,
            topic: optional(ext, H, "topic")?,
            broker_name: optional(ext, H, "bname")?,
        })
    }
}
