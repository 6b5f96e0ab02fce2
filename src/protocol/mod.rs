//! RESP2/RESP3: the request parser (with Redis's limits and error texts), the
//! inline-command splitter, the reply value and its encoder. Plain code: no
//! runtime, no sockets.

pub mod encode;
pub mod parser;
pub mod reply;
pub mod splitargs;

pub use encode::encode;
pub use parser::{string2ll, ParseLimits, ProtocolError, RespParser};
pub use reply::Reply;
pub use splitargs::split_args;

/// The protocol version a connection speaks (HELLO 2 / HELLO 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Resp2,
    Resp3,
}
