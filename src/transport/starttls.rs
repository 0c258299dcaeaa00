//! The STARTTLS probe of one MX address: greeting, EHLO, STARTTLS, the TLS handshake a sender
//! would make, then QUIT. No mail is ever sent.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::RootCertStore;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{Outcome, SmtpProbe, certs, io_outcome};

/// The name we greet with: RFC 2606 reserves `.invalid`, so no one mistakes the probe for a
/// mail server of theirs.
const EHLO_NAME: &str = "mailproof-probe.invalid";

/// Longest reply line kept (RFC 5321 §4.5.3.1.5: 512 octets; servers exceed it a little).
const MAX_LINE: usize = 2048;
/// Most lines of one reply read before the server is called broken.
const MAX_REPLY_LINES: usize = 100;

/// Probes `ip:port` as the MX host `host`.
pub async fn probe(
    host: &str,
    ip: IpAddr,
    port: u16,
    roots: Arc<RootCertStore>,
    timeout: Duration,
) -> SmtpProbe {
    let started = Instant::now();
    let mut p = SmtpProbe::new(host, ip.to_string(), port);
    // The whole dialogue is bounded too, so a server that answers one byte at a time cannot
    // hold the run.
    let whole = timeout.saturating_mul(4);
    if let Err((outcome, why)) =
        match tokio::time::timeout(whole, dialogue(&mut p, ip, port, roots, timeout)).await {
            Ok(r) => r,
            Err(_) => Err((
                Outcome::Timeout,
                format!("the probe did not finish within {} ms", whole.as_millis()),
            )),
        }
    {
        p.outcome = outcome;
        p.error = Some(why);
    }
    p.elapsed_ms = started.elapsed().as_millis() as u64;
    p
}

use super::Step;

async fn dialogue(
    p: &mut SmtpProbe,
    ip: IpAddr,
    port: u16,
    roots: Arc<RootCertStore>,
    timeout: Duration,
) -> Step<()> {
    let mut lines = Dialogue::default();
    let ready = to_starttls(ip, port, timeout, &mut lines).await;
    p.transcript = lines.transcript;
    p.banner = lines.banner;
    p.ehlo = lines.ehlo;
    p.starttls = lines.starttls;
    let Some(tcp) = ready? else {
        return Ok(());
    };
    let recorder = certs::Recorder::new(roots).map_err(|e| (Outcome::Error, e))?;
    let config = certs::client_config(recorder.clone()).map_err(|e| (Outcome::Error, e))?;
    let name = ServerName::try_from(p.host.clone()).map_err(|e| {
        (
            Outcome::Error,
            format!("{} is not a host name: {e}", p.host),
        )
    })?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let tls = match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            p.transcript.push(format!("TLS handshake failed: {e}"));
            return Err((Outcome::TlsError, format!("TLS handshake failed: {e}")));
        }
        Err(_) => {
            return Err((
                Outcome::Timeout,
                format!("TLS handshake: no answer within {} ms", timeout.as_millis()),
            ));
        }
    };
    let (_, session) = tls.get_ref();
    p.tls_version = session.protocol_version().map(version_name);
    p.cipher = session
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()));
    p.certificate = certs::presented(session.peer_certificates(), recorder.verdict(), &p.host);
    p.transcript.push(format!(
        "TLS established: {} {}",
        p.tls_version.as_deref().unwrap_or("?"),
        p.cipher.as_deref().unwrap_or("?")
    ));
    let mut tls = BufReader::new(tls);
    quit(&mut tls, &mut p.transcript, timeout).await;
    Ok(())
}

/// What the SMTP dialogue before TLS showed.
#[derive(Default)]
pub(crate) struct Dialogue {
    pub transcript: Vec<String>,
    pub banner: Vec<String>,
    pub ehlo: Vec<String>,
    pub starttls: Option<bool>,
}

/// Connects, reads the greeting, says EHLO and, when STARTTLS is offered, sends it: the TCP
/// stream is then ready for a TLS ClientHello. `None` when STARTTLS is not offered (the
/// session is closed with QUIT).
pub(crate) async fn to_starttls(
    ip: IpAddr,
    port: u16,
    timeout: Duration,
    d: &mut Dialogue,
) -> Step<Option<TcpStream>> {
    let tcp = super::connect(ip, port, timeout).await?;
    let mut conn = BufReader::new(tcp);
    let (code, lines) = reply(&mut conn, &mut d.transcript, timeout).await?;
    d.banner = lines;
    if code != 220 {
        return Err((
            Outcome::Protocol,
            format!("the server greeted with {code}, not 220: it does not accept mail now"),
        ));
    }
    send(
        &mut conn,
        &mut d.transcript,
        &format!("EHLO {EHLO_NAME}"),
        timeout,
    )
    .await?;
    let (code, lines) = reply(&mut conn, &mut d.transcript, timeout).await?;
    if code != 250 {
        return Err((
            Outcome::Protocol,
            format!("EHLO was answered {code}, not 250"),
        ));
    }
    // The first line is the server's greeting; the others are extension keywords.
    d.ehlo = lines.into_iter().skip(1).collect();
    let offered = d.ehlo.iter().any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("STARTTLS"))
    });
    d.starttls = Some(offered);
    if !offered {
        quit(&mut conn, &mut d.transcript, timeout).await;
        return Ok(None);
    }
    send(&mut conn, &mut d.transcript, "STARTTLS", timeout).await?;
    let (code, _) = reply(&mut conn, &mut d.transcript, timeout).await?;
    if code != 220 {
        return Err((
            Outcome::TlsError,
            format!("STARTTLS is advertised but was answered {code}, not 220"),
        ));
    }
    // Bytes after the 220 and before the handshake would be read as TLS by a careless client
    // (the STARTTLS command injection of CVE-2011-0411); none may be there.
    if !conn.buffer().is_empty() {
        return Err((
            Outcome::Protocol,
            "the server sent data after its 220 to STARTTLS, before the TLS handshake".into(),
        ));
    }
    Ok(Some(conn.into_inner()))
}

fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_1 => "TLSv1.1".into(),
        rustls::ProtocolVersion::TLSv1_0 => "TLSv1.0".into(),
        rustls::ProtocolVersion::SSLv3 => "SSLv3".into(),
        other => format!("{other:?}"),
    }
}

async fn send<S: AsyncWrite + Unpin>(
    conn: &mut S,
    transcript: &mut Vec<String>,
    line: &str,
    timeout: Duration,
) -> Step<()> {
    transcript.push(format!("C: {line}"));
    let bytes = format!("{line}\r\n");
    match tokio::time::timeout(timeout, conn.write_all(bytes.as_bytes())).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err((io_outcome(&e), format!("sending {line}: {e}"))),
        Err(_) => Err((Outcome::Timeout, format!("sending {line}: timed out"))),
    }
}

/// Reads one (possibly multi-line) reply: its code and the text of each line.
async fn reply<S: AsyncRead + Unpin>(
    conn: &mut BufReader<S>,
    transcript: &mut Vec<String>,
    timeout: Duration,
) -> Step<(u16, Vec<String>)> {
    let mut lines = Vec::new();
    loop {
        if lines.len() >= MAX_REPLY_LINES {
            return Err((
                Outcome::Protocol,
                format!("a reply of more than {MAX_REPLY_LINES} lines"),
            ));
        }
        let mut buf = Vec::new();
        let read = tokio::time::timeout(timeout, async {
            let mut limited = (&mut *conn).take(MAX_LINE as u64);
            limited.read_until(b'\n', &mut buf).await
        })
        .await;
        match read {
            Ok(Ok(0)) => {
                return Err((Outcome::Reset, "the server closed the connection".into()));
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err((io_outcome(&e), format!("reading the reply: {e}"))),
            Err(_) => {
                return Err((
                    Outcome::Timeout,
                    format!("no reply within {} ms", timeout.as_millis()),
                ));
            }
        }
        let line = String::from_utf8_lossy(&buf)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        transcript.push(format!("S: {line}"));
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let sep = line.as_bytes().get(3).copied();
        let Some(code) = code.filter(|_| matches!(sep, None | Some(b' ') | Some(b'-'))) else {
            return Err((
                Outcome::Protocol,
                format!(
                    "`{}` is not an SMTP reply line",
                    crate::text::excerpt(&line, 80)
                ),
            ));
        };
        lines.push(line.get(4..).unwrap_or_default().to_string());
        if sep != Some(b'-') {
            return Ok((code, lines));
        }
    }
}

/// QUIT, politely; its answer does not matter.
async fn quit<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    transcript: &mut Vec<String>,
    timeout: Duration,
) {
    if send(conn.get_mut(), transcript, "QUIT", timeout)
        .await
        .is_ok()
    {
        let _ = reply(conn, transcript, timeout).await;
    }
}
