//! Reply error texts, in one place, exactly as Redis 7.0 sends them.

pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const INCR_NAN_INF: &str = "ERR increment would produce NaN or Infinity";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const AUTH_NOPASS: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
pub const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";
pub const CLUSTERDOWN_UNBOUND: &str = "CLUSTERDOWN Hash slot not served";
pub const CLUSTERDOWN: &str = "CLUSTERDOWN The cluster is down";
pub const CLUSTERDOWN_RO: &str = "CLUSTERDOWN The cluster is down and only accepts read commands";
pub const TRYAGAIN_REHASHING: &str = "TRYAGAIN Multiple keys request during rehashing of slot";
pub const INT_RANGE: &str =
    "ERR value is out of range, value must between -2147483648 and 2147483647";
pub const DB_INDEX: &str = "ERR DB index is out of range";
pub const SELECT_CLUSTER: &str = "ERR SELECT is not allowed in cluster mode";
pub const CLUSTER_DISABLED: &str = "ERR This instance has cluster support disabled";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_RANGE: &str = "ERR offset is out of range";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const NOPROTO: &str = "NOPROTO unsupported protocol version";
pub const TIMEOUT_NEG: &str = "ERR timeout is negative";
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";
pub const DEBUG_DISABLED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";
pub const NO_SUCH_CLIENT: &str = "ERR No such client";

/// "ERR wrong number of arguments for 'get' command" (subcommands: 'client|kill').
pub fn wrong_args(fullname: &str) -> String {
    format!("ERR wrong number of arguments for '{fullname}' command")
}

/// "ERR invalid expire time in 'set' command".
pub fn invalid_expire(cmd: &str) -> String {
    format!("ERR invalid expire time in '{cmd}' command")
}

/// `%.Ns` of a C string: the bytes before the first NUL, at most `max` of them.
pub fn c_str(b: &[u8], max: usize) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len()).min(max);
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// The `-ERR unknown command` text, with the first arguments as Redis lists them
/// (`'%.*s' ` each while the list is under 128 bytes).
pub fn unknown_command(name: &[u8], args: &[bytes::Bytes]) -> String {
    let mut list = String::new();
    for a in args {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push_str(&format!("'{}' ", c_str(a, room)));
    }
    format!(
        "ERR unknown command '{}', with args beginning with: {list}",
        c_str(name, 128)
    )
}

/// "ERR unknown subcommand 'foo'. Try CLIENT HELP."
pub fn unknown_subcommand(sub: &[u8], container: &str) -> String {
    let s = c_str(sub, 128);
    format!(
        "ERR unknown subcommand '{s}'. Try {} HELP.",
        container.to_ascii_uppercase()
    )
}
pub const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";
