//! An in-process RocketMQ test cluster.
#![deny(missing_docs)]
