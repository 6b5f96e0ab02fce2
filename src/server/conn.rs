//! One client connection: read, parse every complete command, process them
//! as a batch, write the replies with one write.

use crate::protocol::{encode, ParseLimits, RespParser};
use crate::runtime::{now_ms, Core, TcpStream};
use crate::server::client::{Client, ClientInfo};
use bytes::BytesMut;
use futures::{AsyncReadExt, AsyncWriteExt};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tracing::Instrument;

const READ_CHUNK: usize = 16 * 1024;
/// Most commands processed per batch, so a huge pipeline is answered in parts
/// and its replies never pile up without bound.
const MAX_BATCH: usize = 1024;

/// Sets SO_KEEPALIVE and the idle/interval/count like Redis's anetKeepAlive.
fn set_keepalive(fd: i32, secs: u64) {
    if secs == 0 {
        return;
    }
    let on: libc::c_int = 1;
    let idle = secs.min(i32::MAX as u64) as libc::c_int;
    let intvl = (idle / 3).max(1);
    let cnt: libc::c_int = 3;
    let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: setsockopt with pointers to live c_ints of the stated size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            &on as *const _ as *const _,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            &idle as *const _ as *const _,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            &intvl as *const _ as *const _,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPCNT,
            &cnt as *const _ as *const _,
            sz,
        );
    }
}

pub async fn serve(core: Rc<Core>, stream: TcpStream, peer: SocketAddr, local: SocketAddr) {
    let node = core.node.clone();
    let (needs_auth, timeout, keepalive) = {
        let cfg = node.config.read();
        match cfg {
            Ok(c) => (c.requirepass().is_some(), c.timeout(), c.tcp_keepalive()),
            Err(_) => (false, 0, 0),
        }
    };
    let _ = stream.set_nodelay(true);
    set_keepalive(stream.as_raw_fd(), keepalive);
    if timeout > 0 {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(timeout)));
    }
    let info = Rc::new(ClientInfo::new(
        node.next_client_id(),
        peer,
        local,
        stream.as_raw_fd(),
        "",
    ));
    core.clients
        .borrow_mut()
        .clients
        .insert(info.id, info.clone());
    let is_local = peer.ip().is_loopback();
    let client = Client::new(core.clone(), info.clone(), !needs_auth, is_local);
    let span = tracing::debug_span!("conn", shard = core.id, conn = info.id);
    // The span is attached to the future (not entered across awaits), so other
    // tasks on this core never log inside it.
    connection_loop(core, stream, client, peer)
        .instrument(span)
        .await;
}

/// Reads, processes and answers until the client leaves or is killed.
async fn connection_loop(
    core: Rc<Core>,
    mut stream: TcpStream,
    mut client: Client,
    peer: SocketAddr,
) {
    let node = core.node.clone();
    let info = client.info.clone();
    // client-query-buffer-limit: what one client may hold unprocessed (a
    // partial command, the arguments of a half-read multibulk).
    let query_limit = node
        .config
        .read()
        .map(|c| c.client_query_buffer_limit())
        .unwrap_or(1 << 30) as usize;
    tracing::debug!("accepted {}", peer);
    let mut inbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut parser = RespParser::new();
    'conn: loop {
        let got = match client.sub_rx.as_mut() {
            None => Event::Read(stream.read(&mut chunk).await),
            Some(rx) => {
                use futures::future::{select, Either};
                use futures::StreamExt;
                let read = stream.read(&mut chunk);
                futures::pin_mut!(read);
                match select(read, rx.next()).await {
                    Either::Left((r, _)) => Event::Read(r),
                    Either::Right((Some(m), _)) => Event::Message(m),
                    Either::Right((None, _)) => break,
                }
            }
        };
        let n = match got {
            Event::Read(Ok(0)) => break,
            Event::Read(Ok(n)) => n,
            Event::Read(Err(e)) => {
                tracing::debug!("read error: {}", e);
                break;
            }
            Event::Message(m) => {
                if !write_messages(&mut stream, &mut client, m, &mut out, &core).await {
                    break;
                }
                continue;
            }
        };
        if info.killed.get() {
            break;
        }
        {
            let mut st = core.stats.borrow_mut();
            st.net_input_bytes += n as u64;
            st.reads += 1;
        }
        inbuf.extend_from_slice(&chunk[..n]);
        info.last_interaction_ms.set(now_ms());
        loop {
            let limits = ParseLimits {
                max_bulk_len: node.proto_max_bulk_len(),
                authenticated: client.authenticated,
            };
            // Unauthenticated clients are parsed one command at a time, so an AUTH
            // takes effect for the commands after it (as in Redis).
            let max = if client.authenticated { MAX_BATCH } else { 1 };
            let mut cmds = Vec::new();
            let mut proto_err = None;
            while cmds.len() < max {
                match parser.parse(&mut inbuf, &limits) {
                    Ok(Some(argv)) => cmds.push(argv),
                    Ok(None) => break,
                    Err(e) => {
                        proto_err = Some(e);
                        break;
                    }
                }
            }
            info.qbuf.set(inbuf.len());
            if inbuf.len() + parser.pending_args_bytes() > query_limit {
                tracing::warn!(
                    "Closing client that reached max query buffer length (client {}, limit {})",
                    peer,
                    query_limit
                );
                break 'conn;
            }
            let had = cmds.len();
            if had > 0 {
                client.process(cmds, &mut out).await;
            }
            if let Some(e) = proto_err {
                tracing::debug!("Protocol error ({}) from client: {}", e.reason(), peer);
                encode(&e.to_reply(), client.proto, &mut out);
                client.close_after_reply = true;
            }
            if !out.is_empty() {
                {
                    let mut st = core.stats.borrow_mut();
                    st.net_output_bytes += out.len() as u64;
                    st.writes += 1;
                }
                if stream.write_all(&out).await.is_err() {
                    break 'conn;
                }
                out.clear();
                if out.capacity() > 1 << 20 {
                    out.shrink_to(READ_CHUNK);
                }
            }
            if client.close_after_reply || info.killed.get() {
                break 'conn;
            }
            if let Some(rx) = client.monitor_rx.take() {
                monitor_loop(&mut stream, rx, &info).await;
                break 'conn;
            }
            if had < max {
                break;
            }
        }
        if inbuf.capacity() > 4 * READ_CHUNK && inbuf.len() < READ_CHUNK {
            // give back the memory of a large request once it has been read
            let rest = inbuf.split();
            inbuf = BytesMut::with_capacity(READ_CHUNK);
            inbuf.extend_from_slice(&rest);
        }
    }
    client.unwatch();
    client.unsubscribe_all();
    core.clients.borrow_mut().clients.remove(&info.id);
    node.connected_clients.fetch_sub(1, Ordering::Relaxed);
    let _ = stream.close().await;
    tracing::debug!("closed");
}

enum Event {
    Read(std::io::Result<usize>),
    Message(crate::server::pubsub::Msg),
}

/// Writes a published message and every other one already waiting.
async fn write_messages(
    stream: &mut TcpStream,
    client: &mut Client,
    first: crate::server::pubsub::Msg,
    out: &mut Vec<u8>,
    core: &Core,
) -> bool {
    let mut next = Some(first);
    while let Some(m) = next.take() {
        encode(&m.reply(), client.proto, out);
        if let Some(s) = &client.subs.sink {
            s.written(&m);
        }
        if out.len() < 64 * 1024 {
            next = client.sub_rx.as_mut().and_then(|rx| rx.try_recv().ok());
        }
    }
    if client.info.killed.get() {
        return false;
    }
    {
        let mut st = core.stats.borrow_mut();
        st.net_output_bytes += out.len() as u64;
        st.writes += 1;
    }
    let ok = stream.write_all(out).await.is_ok();
    out.clear();
    ok
}

/// A client in MONITOR mode: forwards every fed line until it disconnects.
async fn monitor_loop(
    stream: &mut TcpStream,
    mut rx: futures::channel::mpsc::UnboundedReceiver<bytes::Bytes>,
    info: &ClientInfo,
) {
    use futures::future::{select, Either};
    use futures::StreamExt;
    let mut buf = [0u8; 512];
    loop {
        let line = {
            let read = stream.read(&mut buf);
            let next = rx.next();
            futures::pin_mut!(read);
            match select(next, read).await {
                Either::Left((Some(line), _)) => line,
                Either::Left((None, _)) => return,
                // Monitors ignore what they are sent, but a close ends them.
                Either::Right((Ok(0), _)) | Either::Right((Err(_), _)) => return,
                Either::Right((Ok(_), _)) => continue,
            }
        };
        if info.killed.get() || stream.write_all(&line).await.is_err() {
            return;
        }
    }
}
