//! The MTA-STS policy fetch as RFC 8461 §3.3 makes senders do it: HTTPS to
//! `mta-sts.<domain>` with a certificate valid for that name, no redirects, status 200 and
//! `text/plain`, bounded in size and time. The body is kept raw; the parser judges it later.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use rustls::RootCertStore;
use rustls::pki_types::ServerName;

use super::{Outcome, PolicyFetch, certs};
use crate::records::mta_sts::MAX_POLICY_BYTES;

/// RFC 8461 §3.3: the policy is served on the HTTPS port, 443.
pub const HTTPS_PORT: u16 = 443;

/// The well-known path of the policy (RFC 8461 §3.3).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// Fetches the policy of `domain` from the first of `addrs` (the snapshot's addresses of
/// `mta-sts.<domain>`).
pub async fn fetch(
    domain: &str,
    addrs: &[IpAddr],
    port: u16,
    roots: Arc<RootCertStore>,
    timeout: Duration,
) -> PolicyFetch {
    let host = format!("mta-sts.{domain}");
    let started = Instant::now();
    let mut f = PolicyFetch {
        domain: domain.to_string(),
        url: if port == 443 {
            format!("https://{host}{POLICY_PATH}")
        } else {
            format!("https://{host}:{port}{POLICY_PATH}")
        },
        outcome: Outcome::Ok,
        error: None,
        address: None,
        status: None,
        content_type: None,
        location: None,
        body: None,
        certificate: None,
        elapsed_ms: 0,
    };
    let result = match addrs.first() {
        None => Err((
            Outcome::NoAddress,
            format!("{host} has no address in the snapshot (see its A/AAAA lookups)"),
        )),
        Some(ip) => {
            f.address = Some(ip.to_string());
            let whole = timeout.saturating_mul(3);
            match tokio::time::timeout(whole, get(&mut f, &host, *ip, port, roots, timeout)).await {
                Ok(r) => r,
                Err(_) => Err((
                    Outcome::Timeout,
                    format!("the fetch did not finish within {} ms", whole.as_millis()),
                )),
            }
        }
    };
    if let Err((outcome, why)) = result {
        f.outcome = outcome;
        f.error = Some(why);
    }
    f.elapsed_ms = started.elapsed().as_millis() as u64;
    f
}

use super::Step;

async fn get(
    f: &mut PolicyFetch,
    host: &str,
    ip: IpAddr,
    port: u16,
    roots: Arc<RootCertStore>,
    timeout: Duration,
) -> Step<()> {
    let tcp = super::connect(ip, port, timeout).await?;
    let recorder = certs::Recorder::new(roots).map_err(|e| (Outcome::Error, e))?;
    let config = certs::client_config(recorder.clone()).map_err(|e| (Outcome::Error, e))?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| (Outcome::Error, format!("{host} is not a host name: {e}")))?;
    let tls = match tokio::time::timeout(
        timeout,
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Err((Outcome::TlsError, format!("TLS handshake failed: {e}"))),
        Err(_) => {
            return Err((
                Outcome::Timeout,
                format!("TLS handshake: no answer within {} ms", timeout.as_millis()),
            ));
        }
    };
    f.certificate = certs::presented(
        tls.get_ref().1.peer_certificates(),
        recorder.verdict(),
        host,
    );
    if let Some(c) = f.certificate.as_ref().filter(|c| !c.valid) {
        // A sender stops here (RFC 8461 §3.3): the policy is not authenticated.
        return Err((
            Outcome::CertificateInvalid,
            format!(
                "the certificate of {host} is not one a sender accepts: {}",
                c.error.as_deref().unwrap_or("invalid")
            ),
        ));
    }
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| (Outcome::Protocol, format!("HTTP: {e}")))?;
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get(POLICY_PATH)
        .header(hyper::header::HOST, host)
        .header(
            hyper::header::USER_AGENT,
            concat!("mailproof/", env!("CARGO_PKG_VERSION")),
        )
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| (Outcome::Error, e.to_string()))?;
    let response = match tokio::time::timeout(timeout, sender.send_request(request)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            driver.abort();
            return Err((Outcome::Protocol, format!("HTTP: {e}")));
        }
        Err(_) => {
            driver.abort();
            return Err((
                Outcome::Timeout,
                format!("no HTTP response within {} ms", timeout.as_millis()),
            ));
        }
    };
    let status = response.status().as_u16();
    f.status = Some(status);
    let header = |name: hyper::header::HeaderName| {
        response
            .headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    f.content_type = header(hyper::header::CONTENT_TYPE);
    f.location = header(hyper::header::LOCATION);
    let body = read_body(response.into_body(), timeout).await;
    driver.abort();
    let (bytes, over) = body?;
    if !over {
        f.body = Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    if (300..400).contains(&status) {
        return Err((
            Outcome::Redirect,
            format!(
                "HTTP {status} redirect to {}: senders do not follow redirects (RFC 8461 §3.3)",
                f.location.as_deref().unwrap_or("(no Location)")
            ),
        ));
    }
    if status != 200 {
        return Err((
            Outcome::HttpStatus,
            format!("HTTP {status}: senders accept only 200 (RFC 8461 §3.3)"),
        ));
    }
    let plain = f.content_type.as_deref().is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/plain"))
    });
    if !plain {
        return Err((
            Outcome::ContentType,
            format!(
                "Content-Type is {}, not text/plain (RFC 8461 §3.3)",
                f.content_type.as_deref().unwrap_or("absent")
            ),
        ));
    }
    if over {
        return Err((
            Outcome::TooLarge,
            format!("the policy is larger than {MAX_POLICY_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The body, at most [`MAX_POLICY_BYTES`]; `true` when there was more.
async fn read_body(mut body: hyper::body::Incoming, timeout: Duration) -> Step<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    loop {
        let frame = match tokio::time::timeout(timeout, body.frame()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(e))) => return Err((Outcome::Protocol, format!("HTTP body: {e}"))),
            Ok(None) => return Ok((out, false)),
            Err(_) => {
                return Err((
                    Outcome::Timeout,
                    format!("the body did not arrive within {} ms", timeout.as_millis()),
                ));
            }
        };
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
            if out.len() > MAX_POLICY_BYTES {
                out.truncate(MAX_POLICY_BYTES);
                return Ok((out, true));
            }
        }
    }
}
