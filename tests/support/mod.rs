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

pub mod servers;
pub mod signed;

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
            None,
        )
        .unwrap_or_else(|e| panic!("zone {} does not load: {e}", path.display()));
        let handlers: Vec<Arc<dyn ZoneHandler>> = vec![Arc::new(handler)];
        catalog.upsert(LowerName::new(&origin_name), handlers);
    }

    serve_handler("test-dns", catalog)
}

/// Runs hickory-server with `handler` (a catalog, or one that routes between catalogs) on a
/// fresh loopback port, over UDP and TCP, until the returned server is dropped.
pub fn serve_handler<H: hickory_server::server::RequestHandler>(name: &str, handler: H) -> TestDns {
    let (udp, tcp) = bind_pair();
    let addr = udp.local_addr().expect("UDP local addr");
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = spawn_runtime(name, move || {
        Box::pin(async move {
            let mut server = Server::new(handler);
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

/// One resource record of an in-memory zone served by [`start_memory`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rr {
    A(Ipv4Addr),
    Aaaa(std::net::Ipv6Addr),
    /// Preference and exchange host.
    Mx(u16, String),
    /// The record's character-strings, as raw bytes (they need not be UTF-8).
    Txt(Vec<Vec<u8>>),
    Ptr(String),
    Cname(String),
    /// Questions of a type this name has no records of are never answered (the RFC 7208
    /// suite's `TIMEOUT`).
    Timeout,
}

/// Names (any case, with or without the trailing dot) and their records.
pub type MemoryZone = std::collections::HashMap<String, Vec<Rr>>;

fn zone_key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn rr_type(rr: &Rr) -> Option<hickory_server::proto::rr::RecordType> {
    use hickory_server::proto::rr::RecordType as T;
    Some(match rr {
        Rr::A(_) => T::A,
        Rr::Aaaa(_) => T::AAAA,
        Rr::Mx(..) => T::MX,
        Rr::Txt(_) => T::TXT,
        Rr::Ptr(_) => T::PTR,
        Rr::Cname(_) => T::CNAME,
        Rr::Timeout => return None,
    })
}

fn fqdn(name: &str) -> Option<Name> {
    if name.trim_end_matches('.').is_empty() {
        return Some(Name::root());
    }
    let mut n = Name::from_labels(name.trim_end_matches('.').split('.').map(str::as_bytes)).ok()?;
    n.set_fqdn(true);
    Some(n)
}

/// The reply of a recursive-looking server holding `zone`, or `None` to stay silent. Over UDP
/// an answer larger than the client's EDNS size (512 without EDNS) is sent truncated (TC=1),
/// so large records exercise the TCP fallback.
fn memory_reply(zone: &MemoryZone, query: &[u8], over_tcp: bool) -> Option<Vec<u8>> {
    use hickory_server::proto::op::{Edns, Message, OpCode, ResponseCode};
    use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, TXT};
    use hickory_server::proto::rr::{RData, Record};
    let msg = Message::from_vec(query).ok()?;
    let q = msg.queries.first()?.clone();
    let key = zone_key(
        &q.name()
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect::<Vec<_>>()
            .join("."),
    );
    let want = q.query_type();
    let rrs = zone.get(&key);
    let exists = rrs.is_some() || zone.keys().any(|k| k.ends_with(&format!(".{key}")));
    let mut resp = Message::response(msg.metadata.id, OpCode::Query);
    resp.metadata.recursion_desired = msg.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    resp.metadata.authoritative = true;
    resp.add_query(q.clone());
    let max = msg.edns.as_ref().map_or(512, |e| e.max_payload().max(512));
    if let Some(e) = &msg.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(e.max_payload().max(512));
        resp.set_edns(edns);
    }
    let list = rrs.map(Vec::as_slice).unwrap_or_default();
    let cname = list.iter().find_map(|r| match r {
        Rr::Cname(t) if want != hickory_server::proto::rr::RecordType::CNAME => Some(t),
        _ => None,
    });
    let matching: Vec<&Rr> = match cname {
        Some(_) => list.iter().filter(|r| matches!(r, Rr::Cname(_))).collect(),
        None => list.iter().filter(|r| rr_type(r) == Some(want)).collect(),
    };
    if matching.is_empty() && list.contains(&Rr::Timeout) {
        return None;
    }
    let owner = q.name().clone();
    for r in matching {
        let data = match r {
            Rr::A(a) => RData::A(A(*a)),
            Rr::Aaaa(a) => RData::AAAA(AAAA(*a)),
            Rr::Mx(p, h) => RData::MX(MX::new(*p, fqdn(h)?)),
            Rr::Txt(parts) => {
                RData::TXT(TXT::from_bytes(parts.iter().map(Vec::as_slice).collect()))
            }
            Rr::Ptr(h) => RData::PTR(PTR(fqdn(h)?)),
            Rr::Cname(h) => RData::CNAME(CNAME(fqdn(h)?)),
            Rr::Timeout => continue,
        };
        resp.add_answer(Record::from_rdata(owner.clone(), 300, data));
    }
    resp.metadata.response_code = if exists {
        ResponseCode::NoError
    } else {
        ResponseCode::NXDomain
    };
    let bytes = resp.to_vec().ok()?;
    if !over_tcp && bytes.len() > usize::from(max) {
        resp.answers.clear();
        resp.metadata.truncation = true;
        return resp.to_vec().ok();
    }
    Some(bytes)
}

async fn serve_memory_tcp(zone: Arc<MemoryZone>, mut conn: tokio::net::TcpStream) {
    loop {
        let mut len = [0u8; 2];
        if conn.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if conn.read_exact(&mut buf).await.is_err() {
            return;
        }
        let Some(reply) = memory_reply(&zone, &buf, true) else {
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

/// Starts a server answering from `zone` (UDP and TCP on one loopback port). It answers like
/// a recursive resolver for every name it holds: NXDOMAIN for unknown names, NODATA for known
/// names without the asked type, a CNAME alone for aliased names (the client follows it).
pub fn start_memory(zone: MemoryZone) -> TestDns {
    let zone: MemoryZone = zone.into_iter().fold(MemoryZone::new(), |mut acc, (k, v)| {
        acc.entry(zone_key(&k)).or_default().extend(v);
        acc
    });
    let zone = Arc::new(zone);
    let (udp, tcp) = bind_pair();
    let addr = udp.local_addr().expect("UDP local addr");
    let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
    let thread = spawn_runtime("test-dns-memory", move || {
        Box::pin(async move {
            let udp = tokio::net::UdpSocket::from_std(udp).expect("tokio UDP");
            let tcp = tokio::net::TcpListener::from_std(tcp).expect("tokio TCP");
            let mut buf = vec![0u8; 4096];
            loop {
                tokio::select! {
                    _ = &mut stop_rx => return,
                    got = udp.recv_from(&mut buf) => {
                        let Ok((n, peer)) = got else { continue };
                        if let Some(reply) = memory_reply(&zone, &buf[..n], false) {
                            let _ = udp.send_to(&reply, peer).await;
                        }
                    }
                    conn = tcp.accept() => {
                        if let Ok((conn, _)) = conn {
                            tokio::spawn(serve_memory_tcp(Arc::clone(&zone), conn));
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

/// A path in the shared test corpus (`MAILPROOF_CORPUS`, default `../shared/corpus`), or
/// `None` with a printed notice when it is absent; under `CI=true` its absence fails instead.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("MAILPROOF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let path = base.join(sub);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "test corpus missing: {}",
        path.display()
    );
    println!("skipped: test corpus not found at {}", path.display());
    None
}
