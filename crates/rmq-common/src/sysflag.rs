//! The `sysFlag` bits of a send request and of a stored message.
//!
//! Java: `MessageSysFlag`. The compression-type bits (8–10) are decoded by
//! [`crate::CompressionType::from_sys_flag`].

/// The body is compressed.
///
/// Java: `MessageSysFlag.COMPRESSED_FLAG`
pub const COMPRESSED_FLAG: i32 = 0x1;

/// Set by the broker when the topic filter type is MULTI_TAG.
///
/// Java: `MessageSysFlag.MULTI_TAGS_FLAG`
pub const MULTI_TAGS_FLAG: i32 = 0x2;

/// Not a transaction message (transaction field 0).
///
/// Java: `MessageSysFlag.TRANSACTION_NOT_TYPE`
pub const TRANSACTION_NOT_TYPE: i32 = 0;

/// A transaction half message.
///
/// Java: `MessageSysFlag.TRANSACTION_PREPARED_TYPE`
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;

/// A committed transaction message.
///
/// Java: `MessageSysFlag.TRANSACTION_COMMIT_TYPE`
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;

/// A rolled-back transaction message.
///
/// Java: `MessageSysFlag.TRANSACTION_ROLLBACK_TYPE`
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;

/// The born host is IPv6 (16 address bytes instead of 4).
///
/// Java: `MessageSysFlag.BORNHOST_V6_FLAG`
pub const BORNHOST_V6_FLAG: i32 = 0x10;

/// The store host is IPv6 (16 address bytes instead of 4).
///
/// Java: `MessageSysFlag.STOREHOSTADDRESS_V6_FLAG`
pub const STOREHOSTADDRESS_V6_FLAG: i32 = 0x20;

/// 5.x broker: the stored message is an inner batch that consumers unwrap.
///
/// Java: `MessageSysFlag.NEED_UNWRAP_FLAG`
pub const NEED_UNWRAP_FLAG: i32 = 0x40;

/// 5.x broker: the stored message is an inner batch.
///
/// Java: `MessageSysFlag.INNER_BATCH_FLAG`
pub const INNER_BATCH_FLAG: i32 = 0x80;

/// Bits 8–10: the compression type (`0x100` LZ4, `0x200` ZSTD, `0x300` ZLIB).
///
/// Java: `MessageSysFlag.COMPRESSION_TYPE_COMPARATOR`
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

/// The transaction bits (2–3) of a flag.
const TRANSACTION_MASK: i32 = 0xC;

/// The transaction type of `flag`: one of the `TRANSACTION_*` constants.
///
/// Java: `MessageSysFlag.getTransactionValue`
///
/// ```
/// assert_eq!(rmq_common::sysflag::transaction_value(0x305), 0x4);
/// ```
pub fn transaction_value(flag: i32) -> i32 {
    flag & TRANSACTION_MASK
}

/// `flag` with its transaction type replaced by `transaction_type`.
///
/// Java: `MessageSysFlag.resetTransactionValue`
///
/// ```
/// use rmq_common::sysflag::{reset_transaction_value, TRANSACTION_COMMIT_TYPE};
///
/// assert_eq!(reset_transaction_value(0x305, TRANSACTION_COMMIT_TYPE), 0x309);
/// ```
pub fn reset_transaction_value(flag: i32, transaction_type: i32) -> i32 {
    (flag & !TRANSACTION_MASK) | transaction_type
}

/// `flag` without the compressed bit (the compression-type bits stay).
///
/// Java: `MessageSysFlag.clearCompressedFlag`
///
/// ```
/// assert_eq!(rmq_common::sysflag::clear_compressed_flag(0x301), 0x300);
/// ```
pub fn clear_compressed_flag(flag: i32) -> i32 {
    flag & !COMPRESSED_FLAG
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CompressionType;

    #[test]
    fn v41_sysflag_arithmetic() {
        assert_eq!(COMPRESSED_FLAG, 0x001);
        assert_eq!(CompressionType::Zlib.compression_flag(), 0x300);
        let zlib = COMPRESSED_FLAG | CompressionType::Zlib.compression_flag();
        assert_eq!(zlib, 0x301);
        assert_eq!(zlib, 769);
        assert_eq!(zlib | TRANSACTION_PREPARED_TYPE, 0x305);
        assert_eq!(zlib | TRANSACTION_PREPARED_TYPE, 773);
        assert_eq!(
            COMPRESSED_FLAG | CompressionType::Lz4.compression_flag(),
            0x101
        );
        assert_eq!(
            COMPRESSED_FLAG | CompressionType::Zstd.compression_flag(),
            0x201
        );
        assert_eq!(
            CompressionType::from_sys_flag(0x001).ok(),
            Some(CompressionType::Zlib)
        );
        assert_eq!(
            CompressionType::from_sys_flag(0x301).ok(),
            Some(CompressionType::Zlib)
        );
        assert_eq!(
            CompressionType::from_sys_flag(0x101).ok(),
            Some(CompressionType::Lz4)
        );
        assert_eq!(
            CompressionType::from_sys_flag(0x201).ok(),
            Some(CompressionType::Zstd)
        );
        assert_eq!(
            CompressionType::from_sys_flag(0x401)
                .unwrap_err()
                .to_string(),
            "Unknown compress type value: 4"
        );
        assert_eq!(transaction_value(0x305), 0x4);
        assert_eq!(
            reset_transaction_value(0x305, TRANSACTION_COMMIT_TYPE),
            0x309
        );
        assert_eq!(clear_compressed_flag(0x301), 0x300);
        assert_eq!(BORNHOST_V6_FLAG, 0x10);
        assert_eq!(STOREHOSTADDRESS_V6_FLAG, 0x20);
    }

    #[test]
    fn transaction_types() {
        assert_eq!(TRANSACTION_NOT_TYPE, 0);
        assert_eq!(TRANSACTION_ROLLBACK_TYPE, 0xC);
        assert_eq!(transaction_value(TRANSACTION_ROLLBACK_TYPE | 0x301), 0xC);
        assert_eq!(reset_transaction_value(0xC, TRANSACTION_NOT_TYPE), 0);
        assert_eq!(MULTI_TAGS_FLAG | NEED_UNWRAP_FLAG | INNER_BATCH_FLAG, 0xC2);
        assert_eq!(COMPRESSION_TYPE_MASK, 0x700);
    }
}
