//! Transport evidence against real servers on loopback: Postfix for STARTTLS, nginx for the
//! MTA-STS policy, an authoritative DNS server for the names, as a user's site has them.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use support::servers::{self, Leaf, Nginx, Postfix, Site, SmtpService, TestCa};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mailproof"))
}

const ZONE: &str = r#"$ORIGIN tls.test.
$TTL 300
@                IN SOA ns1.tls.test. hostmaster.tls.test. 2026120401 3600 600 86400 300
@                IN NS  ns1.tls.test.
ns1              IN A   127.0.0.1

; A domain done right: STARTTLS with a trusted certificate, an MTA-STS policy in enforce mode.
secure           IN MX  10 mx1.secure.tls.test.
mx1.secure       IN A   127.0.0.70
_mta-sts.secure  IN TXT "v=STSv1; id=20261201"
mta-sts.secure   IN A   127.0.0.71
_smtp._tls.secure IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@secure.tls.test"
_25._tcp.mx1.secure IN TLSA 3 1 1 0000000000000000000000000000000000000000000000000000000000000000

; A domain a sender cannot protect: no STARTTLS on one MX, nothing listening on the other.
plain            IN MX  10 mx.plain.tls.test.
plain            IN MX  20 down.plain.tls.test.
mx.plain         IN A   127.0.0.72
down.plain       IN A   127.0.0.73

; An MX that still speaks TLS 1.0 to whoever asks.
legacy           IN MX  10 mx.legacy.tls.test.
mx.legacy        IN A   127.0.0.76

; Broken on both sides: an expired certificate, and a policy host that answers 404.
broken           IN MX  10 mx.broken.tls.test.
mx.broken        IN A   127.0.0.74
_mta-sts.broken  IN TXT "v=STSv1; id=1"
mta-sts.broken   IN A   127.0.0.75
"#;

const POLICY: &str = "version: STSv1\nmode: enforce\nmx: mx1.secure.tls.test\nmax_age: 604800\n";

struct World {
    _dns: support::TestDns,
    _postfix: Postfix,
    _nginx: Nginx,
    dir: tempfile::TempDir,
    ca: std::path::PathBuf,
    ns: std::net::SocketAddr,
}

fn world(base: &Path) -> World {
    let ca = TestCa::new();
    let good: Leaf = ca.leaf(&["mx1.secure.tls.test"], false);
    let expired: Leaf = ca.leaf(&["mx.broken.tls.test"], true);
    let old: Leaf = ca.leaf(&["mx.legacy.tls.test"], false);
    let sts_good: Leaf = ca.leaf(&["mta-sts.secure.tls.test"], false);
    let sts_broken: Leaf = ca.leaf(&["mta-sts.broken.tls.test"], false);
    let postfix = Postfix::start(
        &base.join("postfix"),
        "mx1.secure.tls.test",
        &[
            // Done right: TLS 1.2 and later only (Debian's Postfix still takes 1.0 and 1.1
            // by default for opportunistic TLS, which the probe reports as TLS-002).
            SmtpService {
                listen: "127.0.0.70:2525",
                tls: Some(&good),
                options: &[
                    "smtpd_tls_protocols=>=TLSv1.2",
                    "smtpd_tls_mandatory_protocols=>=TLSv1.2",
                ],
            },
            SmtpService {
                listen: "127.0.0.72:2525",
                tls: None,
                options: &[],
            },
            SmtpService {
                listen: "127.0.0.74:2525",
                tls: Some(&expired),
                options: &[],
            },
            // TLS 1.0 and 1.1 allowed, as NOTES.md's legacy-server recipe has it.
            SmtpService {
                listen: "127.0.0.76:2525",
                tls: Some(&old),
                options: &[
                    "smtpd_tls_protocols=>=TLSv1",
                    "smtpd_tls_mandatory_protocols=>=TLSv1",
                    "tls_medium_cipherlist=DEFAULT:@SECLEVEL=0",
                ],
            },
        ],
    );
    let nginx = Nginx::start(
        &base.join("nginx"),
        &[
            Site {
                listen: "127.0.0.71:443",
                server_name: "mta-sts.secure.tls.test",
                tls: &sts_good,
                files: &[("/.well-known/mta-sts.txt", POLICY, "text/plain", 200)],
            },
            Site {
                listen: "127.0.0.75:443",
                server_name: "mta-sts.broken.tls.test",
                tls: &sts_broken,
                files: &[],
            },
        ],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = dir.path().join("tls.test.zone");
    std::fs::write(&zone, ZONE).expect("zone");
    let dns = support::start(&[("tls.test", &zone)]);
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).expect("ca");
    World {
        ns: dns.addr,
        _dns: dns,
        _postfix: postfix,
        _nginx: nginx,
        dir,
        ca: ca_path,
    }
}

fn write_config(w: &World, probe: bool) -> std::path::PathBuf {
    let cfg = w.dir.path().join("mailproof.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"organization = "Transport Test"
snapshots = "snapshots/"
output = "out/"

[tls]
probe = {probe}
smtp_port = 2525
timeout_ms = 3000
ca_file = "{}"

[[domain]]
name = "secure.tls.test"
role = "patient"

[[domain]]
name = "plain.tls.test"
role = "workforce"

[[domain]]
name = "broken.tls.test"
role = "workforce"

[[domain]]
name = "legacy.tls.test"
role = "marketing"
"#,
            w.ca.display()
        ),
    )
    .expect("config");
    cfg
}

fn snapshot(w: &World, cfg: &Path) -> Value {
    let out = w.dir.path().join("snap.json");
    let o = bin()
        .args(["snapshot", "--config"])
        .arg(cfg)
        .arg("--nameserver")
        .arg(w.ns.to_string())
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run mailproof");
    assert!(
        o.status.success() || o.status.code() == Some(4),
        "snapshot failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out).expect("snapshot written")).expect("json")
}

fn probe<'a>(t: &'a Value, host: &str) -> &'a Value {
    t["smtp"]
        .as_array()
        .expect("smtp probes")
        .iter()
        .find(|p| p["host"] == host)
        .unwrap_or_else(|| panic!("no probe of {host}: {t}"))
}

#[test]
fn starttls_and_mta_sts_are_captured_from_real_servers() {
    if !servers::available() {
        return;
    }
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("transport-capture");
    let w = world(&base);
    let snap = snapshot(&w, &write_config(&w, true));
    let t = &snap["transport"];
    assert_eq!(t["probed"], true);

    // DNS: the MX host's address and its TLSA record are in the snapshot.
    let lookups = snap["lookups"].as_array().unwrap();
    let has = |name: &str, rtype: &str| {
        lookups
            .iter()
            .any(|l| l["name"] == name && l["rtype"] == rtype && l["outcome"] == "answer")
    };
    assert!(has("mx1.secure.tls.test", "A"));
    assert!(has("_25._tcp.mx1.secure.tls.test", "TLSA"));
    assert!(has("mta-sts.secure.tls.test", "A"));

    // Postfix with a trusted certificate: STARTTLS, TLS 1.2 or 1.3, a valid chain.
    let good = probe(t, "mx1.secure.tls.test");
    assert_eq!(good["outcome"], "ok", "{good}");
    assert_eq!(good["starttls"], true);
    assert!(
        good["banner"][0]
            .as_str()
            .unwrap()
            .starts_with("mx1.secure.tls.test ESMTP")
    );
    assert!(
        good["ehlo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "STARTTLS")
    );
    let version = good["tls_version"].as_str().unwrap();
    assert!(version == "TLSv1.3" || version == "TLSv1.2", "{version}");
    assert!(good["cipher"].as_str().unwrap().starts_with("TLS"));
    let cert = &good["certificate"];
    assert_eq!(cert["valid"], true, "{cert}");
    assert_eq!(cert["validated_for"], "mx1.secure.tls.test");
    assert_eq!(cert["chain"][0]["sans"][0], "mx1.secure.tls.test");
    assert_eq!(cert["chain"][0]["sha256"].as_str().unwrap().len(), 64);
    let transcript: Vec<&str> = good["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(transcript.contains(&"C: STARTTLS"), "{transcript:?}");
    assert_eq!(
        transcript
            .iter()
            .filter(|l| l.starts_with("C: MAIL"))
            .count(),
        0
    );

    // No STARTTLS offered: a finding, not a failure to probe.
    let plain = probe(t, "mx.plain.tls.test");
    assert_eq!(plain["outcome"], "ok", "{plain}");
    assert_eq!(plain["starttls"], false);
    assert!(plain.get("certificate").is_none());

    // Nothing listening: evidence incomplete, never "no STARTTLS".
    let down = probe(t, "down.plain.tls.test");
    assert_eq!(down["outcome"], "refused", "{down}");
    assert!(down.get("starttls").is_none());

    // An expired certificate still completes the handshake; the chain says why it fails.
    let broken = probe(t, "mx.broken.tls.test");
    assert_eq!(broken["outcome"], "ok", "{broken}");
    assert_eq!(broken["certificate"]["valid"], false);
    assert!(
        broken["certificate"]["error"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    // Legacy offers: the legacy host takes TLS 1.0 and 1.1; the hardened one refuses all.
    let legacy = probe(t, "mx.legacy.tls.test");
    let offer = |p: &Value, name: &str| {
        p["legacy"]
            .as_array()
            .unwrap_or_else(|| panic!("no legacy offers: {p}"))
            .iter()
            .find(|l| l["offered"] == name)
            .unwrap_or_else(|| panic!("{name} not offered: {p}"))
            .clone()
    };
    assert_eq!(offer(legacy, "TLSv1.0")["accepted"], true, "{legacy}");
    assert!(
        offer(legacy, "TLSv1.0")["detail"]
            .as_str()
            .unwrap()
            .starts_with("ServerHello TLSv1.0")
    );
    assert_eq!(offer(legacy, "TLSv1.1")["accepted"], true, "{legacy}");
    for name in ["SSLv3", "TLSv1.0", "TLSv1.1", "RC4", "3DES"] {
        assert_eq!(offer(good, name)["accepted"], false, "{name}: {good}");
    }
    // MTA-STS: the policy as served, and the 404 of the broken host.
    let policies = t["sts_policies"].as_array().unwrap();
    let secure = policies
        .iter()
        .find(|p| p["domain"] == "secure.tls.test")
        .unwrap();
    assert_eq!(secure["outcome"], "ok", "{secure}");
    assert_eq!(secure["status"], 200);
    assert_eq!(secure["body"], POLICY);
    assert_eq!(
        secure["url"],
        "https://mta-sts.secure.tls.test/.well-known/mta-sts.txt"
    );
    assert_eq!(secure["certificate"]["valid"], true);
    let broken = policies
        .iter()
        .find(|p| p["domain"] == "broken.tls.test")
        .unwrap();
    assert_eq!(broken["outcome"], "http_status", "{broken}");
    assert_eq!(broken["status"], 404);
    // plain.tls.test announces no policy: nothing fetched.
    assert!(!policies.iter().any(|p| p["domain"] == "plain.tls.test"));

    // The monthly run judges what the probes met, and a probe that could not connect makes
    // the evidence incomplete (exit 4), never a clean month.
    let cfg = write_config(&w, true);
    let o = bin()
        .args(["run", "--config"])
        .arg(&cfg)
        .args(["--period", "2026-11", "--nameserver"])
        .arg(w.ns.to_string())
        .env("SOURCE_DATE_EPOCH", "1796601600") // 2026-12-08
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("1 transport probe could not reach their server")
            || stderr.contains("transport probe"),
        "{stderr}"
    );
    assert!(
        stderr.contains("down.plain.tls.test 127.0.0.73:2525: refused"),
        "{stderr}"
    );
    let ev: Value = serde_json::from_slice(
        &std::fs::read(w.dir.path().join("out/2026-11/evidence.json")).expect("evidence"),
    )
    .expect("json");
    let ids: Vec<&str> = ev["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    for want in [
        "TLS-001:mx.plain.tls.test",
        "NET-001:down.plain.tls.test",
        "STS-001:plain.tls.test",
        "TLSRPT-001:plain.tls.test",
        "TLS-003:mx.broken.tls.test",
        "STS-003:broken.tls.test policy",
        "TLSRPT-001:broken.tls.test",
        "DANE-002:mx1.secure.tls.test",
        "TLS-002:mx.legacy.tls.test",
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
    assert!(!ids.iter().any(|i| i.starts_with("TLS-002:mx1")), "{ids:?}");
    // The domain done right raises nothing about its transport but the stale TLSA record.
    for unwanted in ["TLS-001:mx1", "TLS-003:mx1", "STS-00", "TLSRPT-001:secure"] {
        assert!(
            !ids.iter()
                .any(|i| i.starts_with(unwanted) && i.contains("secure")),
            "{unwanted} raised: {ids:?}"
        );
    }
    let f = |id: &str| {
        ev["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap()
            .clone()
    };
    // No STARTTLS on a workforce domain's MX: interception of PHI, rated High or above.
    let tls = f("TLS-001:mx.plain.tls.test");
    assert!(
        matches!(tls["risk"].as_str(), Some("high" | "very-high")),
        "{tls}"
    );
    assert!(
        tls["threat"].as_str().unwrap().contains("intercept"),
        "{tls}"
    );
    assert!(
        tls["evidence"]
            .to_string()
            .contains("S: 220 mx1.secure.tls.test ESMTP"),
        "{tls}"
    );
    assert!(
        f("TLS-003:mx.broken.tls.test")["evidence"]
            .to_string()
            .contains("the certificate has expired")
    );
    assert!(
        f("STS-003:broken.tls.test policy")["evidence"]
            .to_string()
            .contains("HTTP 404")
    );
    assert_eq!(
        ev["completeness"]["failed_probes"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{}",
        ev["completeness"]
    );

    // `check` takes the [tls] settings as flags and shows what the probes met.
    let o = bin()
        .args([
            "check",
            "secure.tls.test",
            "plain.tls.test",
            "--format",
            "json",
        ])
        .args(["--smtp-port", "2525", "--ca-file"])
        .arg(&w.ca)
        .arg("--nameserver")
        .arg(w.ns.to_string())
        .output()
        .expect("check");
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).expect("check json");
    let secure = &v[0];
    assert_eq!(secure["mx"][0]["host"], "mx1.secure.tls.test");
    assert_eq!(secure["mx"][0]["starttls"], true);
    assert_eq!(secure["mx"][0]["certificate"]["valid"], true);
    assert_eq!(secure["mx"][0]["sts_covered"], true);
    assert!(
        secure["mx"][0]["tls"]["version"]
            .as_str()
            .unwrap()
            .starts_with("TLSv1.")
    );
    assert_eq!(
        secure["mx"][0]["tlsa"][0]
            .as_str()
            .unwrap()
            .split_whitespace()
            .next(),
        Some("3")
    );
    assert_eq!(secure["mta_sts"]["mode"], "enforce");
    assert_eq!(secure["mta_sts"]["fetch"]["status"], 200);
    assert_eq!(secure["tls_rpt"]["rua"][0], "mailto:tlsrpt@secure.tls.test");
    let plain = &v[1];
    assert_eq!(plain["mx"][0]["starttls"], false);
    assert_eq!(plain["mx"][1]["probe"], "refused");
    let checks: Vec<&str> = plain["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(
        checks.contains(&"TLS-001") && checks.contains(&"NET-001"),
        "{checks:?}"
    );

    // With probes off, no MX is contacted but the policy is still fetched.
    let off = snapshot(&w, &write_config(&w, false));
    assert_eq!(off["transport"]["probed"], false);
    assert_eq!(off["transport"]["smtp"].as_array().unwrap().len(), 0);
    assert_eq!(
        off["transport"]["sts_policies"].as_array().unwrap().len(),
        2
    );
}
