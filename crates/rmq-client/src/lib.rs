//! The RocketMQ producer (Java: `DefaultMQProducer`, `DefaultMQProducerImpl`, `MQClientInstance`).
#![deny(missing_docs)]
