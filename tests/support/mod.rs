//! Shared helpers for integration tests that need real DNS on 127.0.0.1.
//!
//! - [`start`]: an in-process authoritative server (hickory-server) serving zone files, over
//!   UDP and TCP on one port, so captures run against real DNS without touching the network.
//! - [`start_fault`]: a tiny hand-rolled server that answers every question the same broken
//!   way (SERVFAIL, REFUSED, silence, or truncation), for outcomes a well-behaved zone cannot
//!   produce.
//!
//! Each server runs on its own thread with its own tokio runtime and stops when dropped, so a
//! test may use it from `#[tokio::test]` or plain `#[test]` alike.
//!
//! Include with `mod support;` from a test crate. Not every test uses every helper.
#![allow(dead_code)]

use hickory_server::Server;
use hickory_server::proto::rr::{LowerName, Name};
use hickory_server::store::file::{FileConfig, FileZoneHandler};
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// The crate's `tests/` folder, for zone fixtures.
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// A running server; stops (and joins its thread) on drop.
pub struct TestDns {
    /// UDP and TCP both listen here.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for TestDns {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Binds a UDP socket and a TCP listener to the same free loopback port. The kernel picks the
/// UDP port; the TCP bind to it can race another process, so a few ports are tried.
fn bind_pair() -> (std::net::UdpSocket, std::net::TcpListener) {
    let mut last = None;
    for _ in 0..20 {
        let udp = std::net::UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
            .expect("bind UDP on 127.0.0.1");
        let addr = udp.local_addr().expect("UDP local addr");
        match std::net::TcpListener::bind(addr) {
            Ok(tcp) => {
                udp.set_nonblocking(true).expect("nonblocking UDP");
                tcp.set_nonblocking(true).expect("nonblocking TCP");
                return (udp, tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    panic!("no loopback port free for both UDP and TCP: {last:?}");
}

fn spawn_runtime<F>(name: &str, body: F) -> JoinHandle<()>
where
    F: FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> + Send + 'static,
{
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test DNS runtime");
            rt.block_on(body());
        })
        .expect("spawn test DNS thread")
}

/// Starts an authoritative server for `zones`, each given as (origin, zone file path).
/// Panics with the file name when a zone does not load: a broken fixture is a test bug.
pub fn start<P: AsRef<Path>>(zones: &[(&str, P)]) -> TestDns {
    let mut catalog = Catalog::new();
    for (origin, path) in zones {
        let path = path.as_ref();
        let origin_name = Name::from_ascii(if origin.ends_with('.') {
            origin.to_string()
        } else {
            format!("{origin}.")
        })
        .unwrap_or_else(|e| panic!("bad zone origin {origin:?}: {e}"));
        let handler = FileZoneHandler::try_from_config(
            origin_name.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
            None,
            &FileConfig {
                zone_path: path.to_path_buf(),
            },
        )
        .unwrap_or_else(|e| panic!("zone {} does not load: {e}", path.display()));
        let handlers: Vec<Arc<dyn ZoneHandler>> = vec![Arc::new(handler)];
        catalog.upsert(LowerName::new(&origin_name), handlers);
    }

    let (udp, tcp) = bind_pair();
    let addr = udp.local_addr().expect("UDP local addr");
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = spawn_runtime("test-dns", move || {
        Box::pin(async move {
            let mut server = Server::new(catalog);
            server.register_socket(tokio::net::UdpSocket::from_std(udp).expect("tokio UDP"));
            server.register_listener(
                tokio::net::TcpListener::from_std(tcp).expect("tokio TCP"),
                Duration::from_secs(5),
                16,
            );
            let _ = stop_rx.await;
            let _ = server.shutdown_gracefully().await;
        })
    });
    TestDns {
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

/// How a [`start_fault`] server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every question gets RCODE 2 (SERVFAIL), as from a resolver whose upstream is broken.
    ServFail,
    /// Every question gets RCODE 5 (REFUSED), as from a resolver that does not serve us.
    Refused,
    /// Nothing is ever sent back, over UDP or TCP.
    Silent,
    /// UDP answers are empty with TC=1; over TCP, TXT questions get [`TRUNCATED_TXT`] (other
    /// types get an empty NOERROR answer).
    Truncate,
}

/// The TXT record a [`Fault::Truncate`] server serves over TCP, as its character-strings.
pub const TRUNCATED_TXT: [&str; 2] = ["v=spf1 ip4:192.0.2.0/24 ", "include:tcp.fault.test -all"];

/// Length of the header plus question of a DNS query, or `None` when it is malformed.
fn question_end(q: &[u8]) -> Option<usize> {
    if q.len() < 12 || q.get(4..6)? != [0, 1] {
        return None;
    }
    let mut i = 12;
    loop {
        let len = usize::from(*q.get(i)?);
        if len == 0 {
            i += 1;
            break;
        }
        if len & 0xC0 != 0 {
            return None;
        }
        i += 1 + len;
    }
    let end = i + 4;
    (end <= q.len()).then_some(end)
}

/// Builds the reply to `query` (header id and question copied) for `fault`, or `None` when the
/// server should stay silent.
fn fault_reply(fault: Fault, query: &[u8], over_tcp: bool) -> Option<Vec<u8>> {
    let end = question_end(query)?;
    if fault == Fault::Silent {
        return None;
    }
    let mut r = query[..end].to_vec();
    // QR=1, keep opcode and RD; RA=1; counts: 1 question, nothing else.
    r[2] = 0x80 | (query[2] & 0x79);
    r[3] = 0x80;
    r[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
    match fault {
        Fault::ServFail => r[3] |= 2,
        Fault::Refused => r[3] |= 5,
        Fault::Truncate if !over_tcp => r[2] |= 0x02,
        Fault::Truncate => {
            let qtype = u16::from_be_bytes([query[end - 4], query[end - 3]]);
            if qtype == 16 {
                let mut rdata = Vec::new();
                for s in TRUNCATED_TXT {
                    rdata.push(u8::try_from(s.len()).expect("short fixture string"));
                    rdata.extend_from_slice(s.as_bytes());
                }
                // Owner: pointer to the question name at offset 12; TXT IN, TTL 300.
                r.extend_from_slice(&[0xC0, 12, 0, 16, 0, 1, 0, 0, 1, 44]);
                let rdlen = u16::try_from(rdata.len()).expect("short fixture record");
                r.extend_from_slice(&rdlen.to_be_bytes());
                r.extend_from_slice(&rdata);
                r[6..8].copy_from_slice(&[0, 1]);
            }
        }
        Fault::Silent => return None,
    }
    Some(r)
}

async fn serve_tcp_conn(fault: Fault, mut conn: tokio::net::TcpStream) {
    loop {
        let mut len = [0u8; 2];
        if conn.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if conn.read_exact(&mut buf).await.is_err() {
            return;
        }
        let Some(reply) = fault_reply(fault, &buf, true) else {
            continue;
        };
        let Ok(n) = u16::try_from(reply.len()) else {
            return;
        };
        if conn.write_all(&n.to_be_bytes()).await.is_err() || conn.write_all(&reply).await.is_err()
        {
            return;
        }
    }
}

/// Starts a server that answers every query with `fault`, over UDP and TCP on one port.
pub fn start_fault(fault: Fault) -> TestDns {
    let (udp, tcp) = bind_pair();
    let addr = udp.local_addr().expect("UDP local addr");
    let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
    let thread = spawn_runtime("test-dns-fault", move || {
        Box::pin(async move {
            let udp = tokio::net::UdpSocket::from_std(udp).expect("tokio UDP");
            let tcp = tokio::net::TcpListener::from_std(tcp).expect("tokio TCP");
            let mut buf = vec![0u8; 4096];
            loop {
                tokio::select! {
                    _ = &mut stop_rx => return,
                    got = udp.recv_from(&mut buf) => {
                        let Ok((n, peer)) = got else { continue };
                        if let Some(reply) = fault_reply(fault, &buf[..n], false) {
                            let _ = udp.send_to(&reply, peer).await;
                        }
                    }
                    conn = tcp.accept() => {
                        if let Ok((conn, _)) = conn {
                            tokio::spawn(serve_tcp_conn(fault, conn));
                        }
                    }
                }
            }
        })
    });
    TestDns {
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}
