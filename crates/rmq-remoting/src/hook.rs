//! Hooks around every request a client sends (Java: `RPCHook`).

use crate::RemotingCommand;

/// Runs before every request is sent and after every response arrives (Java: `RPCHook`).
///
/// `before_request` runs before the request is marked oneway and before it is encoded, so what
/// it adds (ACL signing adds `AccessKey` and `Signature`) goes on the wire. Hooks run in
/// registration order.
///
/// ```
/// use rmq_remoting::{RemotingCommand, RpcHook};
///
/// struct Tenant(&'static str);
///
/// impl RpcHook for Tenant {
///     fn before_request(&self, _addr: &str, request: &mut RemotingCommand) {
///         request.add_ext_field("tenant", self.0);
///     }
/// }
/// ```
pub trait RpcHook: Send + Sync + 'static {
    /// Called with the request about to be sent to `addr`.
    fn before_request(&self, addr: &str, request: &mut RemotingCommand);

    /// Called with the response to `request` from `addr`, before the caller sees it.
    fn after_response(
        &self,
        addr: &str,
        request: &RemotingCommand,
        response: &mut RemotingCommand,
    ) {
        let _ = (addr, request, response);
    }
}
