//! Real mail and web servers on loopback for the transport tests: Debian's Postfix (STARTTLS)
//! and nginx (the MTA-STS policy over HTTPS), each started from its own folder by the test and
//! stopped when dropped, with certificates from a test CA made here.
//!
//! Both need root (Postfix's master runs as root and drops to `postfix`) and the packages
//! `.ci/run` installs. Without them the tests print that they were skipped; under `CI=true`
//! their absence is a failure.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// Whether the real-server tests can run here; prints why not, and fails under `CI=true`.
pub fn available() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let have = |p: &str| Path::new(p).exists();
    let missing: Vec<&str> = [
        ("/usr/sbin/postfix", "postfix"),
        ("/usr/sbin/nginx", "nginx"),
    ]
    .into_iter()
    .filter(|(p, _)| !have(p))
    .map(|(_, n)| n)
    .collect();
    if root && missing.is_empty() {
        return true;
    }
    let why = if root {
        format!("not installed: {}", missing.join(", "))
    } else {
        "not root".to_string()
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "real-server tests cannot run: {why}"
    );
    println!("skipped: real-server tests ({why})");
    false
}

/// A test certificate authority.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "mailproof test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names`; `expired` dates it in the past.
    pub fn leaf(&self, names: &[&str], expired: bool) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("x"));
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A certificate signed by itself, which no sender trusts.
    pub fn self_signed(names: &[&str]) -> Leaf {
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("self-signed");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Waits until something accepts TCP connections at `addr`.
pub fn wait_listening(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {addr} after 15 s");
}

/// One Postfix `smtpd` listener.
pub struct SmtpService<'a> {
    /// `ip:port`.
    pub listen: &'a str,
    /// The certificate STARTTLS offers; `None` offers no STARTTLS.
    pub tls: Option<&'a Leaf>,
    /// Extra `-o name=value` overrides.
    pub options: &'a [&'a str],
}

/// A Postfix instance from its own folder; stopped on drop.
pub struct Postfix {
    dir: PathBuf,
}

impl Postfix {
    /// Starts Postfix with one `smtpd` per service. The folder must be the same on every run
    /// of a test (it is registered in `/etc/postfix/main.cf`'s `alternate_config_directories`,
    /// which `postfix -c` requires).
    pub fn start(dir: &Path, hostname: &str, services: &[SmtpService<'_>]) -> Postfix {
        let _ = Command::new("postfix")
            .args(["-c"])
            .arg(dir)
            .arg("stop")
            .output();
        let _ = std::fs::remove_dir_all(dir);
        for sub in ["queue", "data"] {
            std::fs::create_dir_all(dir.join(sub)).expect("postfix folders");
        }
        let d = dir.display();
        let mut master = String::from(
            "pickup    unix  n       -       n       60      1       pickup\n\
             cleanup   unix  n       -       n       -       0       cleanup\n\
             qmgr      unix  n       -       n       300     1       qmgr\n\
             tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n\
             rewrite   unix  -       -       n       -       -       trivial-rewrite\n\
             bounce    unix  -       -       n       -       0       bounce\n\
             defer     unix  -       -       n       -       0       bounce\n\
             trace     unix  -       -       n       -       0       bounce\n\
             verify    unix  -       -       n       -       1       verify\n\
             flush     unix  n       -       n       1000?   0       flush\n\
             proxymap  unix  -       -       n       -       -       proxymap\n\
             smtp      unix  -       -       n       -       -       smtp\n\
             showq     unix  n       -       n       -       -       showq\n\
             error     unix  -       -       n       -       -       error\n\
             discard   unix  -       -       n       -       -       discard\n\
             anvil     unix  -       -       n       -       1       anvil\n\
             scache    unix  -       -       n       -       1       scache\n\
             postlog   unix-dgram n  -       n       -       1       postlogd\n",
        );
        for (i, s) in services.iter().enumerate() {
            let mut line = format!("{} inet n - n - - smtpd", s.listen);
            match s.tls {
                Some(leaf) => {
                    let key = dir.join(format!("key{i}.pem"));
                    let cert = dir.join(format!("cert{i}.pem"));
                    write(&key, &leaf.key_pem);
                    write(&cert, &leaf.cert_pem);
                    line.push_str(&format!(
                        " -o smtpd_tls_security_level=may -o smtpd_tls_chain_files={},{}",
                        key.display(),
                        cert.display()
                    ));
                }
                None => line.push_str(" -o smtpd_tls_security_level=none"),
            }
            for o in s.options {
                line.push_str(&format!(" -o {o}"));
            }
            master.push_str(&line);
            master.push('\n');
        }
        write(&dir.join("master.cf"), &master);
        write(
            &dir.join("main.cf"),
            &format!(
                "compatibility_level = 3.6\n\
                 queue_directory = {d}/queue\n\
                 data_directory = {d}/data\n\
                 mail_owner = postfix\n\
                 myhostname = {hostname}\n\
                 mydestination =\n\
                 inet_interfaces = all\n\
                 inet_protocols = ipv4\n\
                 maillog_file = {d}/maillog\n\
                 maillog_file_prefixes = /tmp, /var, /work, {d}\n\
                 smtpd_banner = $myhostname ESMTP\n\
                 smtpd_tls_security_level = none\n"
            ),
        );
        // The system main.cf (absent after a "No configuration" install) must name the
        // folder; every other line of it is kept.
        let system = Path::new("/etc/postfix/main.cf");
        let mut text: String = std::fs::read_to_string(system)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim_start().starts_with("alternate_config_directories"))
            .map(|l| format!("{l}\n"))
            .collect();
        text.push_str(&format!("alternate_config_directories = {d}\n"));
        write(system, &text);
        let _ = Command::new("chown")
            .args(["-R", "postfix"])
            .arg(dir.join("queue"))
            .arg(dir.join("data"))
            .status();
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(dir)
            .arg("set-permissions")
            .output();
        let out = Command::new("postfix")
            .arg("-c")
            .arg(dir)
            .arg("start")
            .output()
            .expect("run postfix");
        assert!(
            out.status.success(),
            "postfix start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.join("maillog")).unwrap_or_default()
        );
        for s in services {
            wait_listening(s.listen);
        }
        Postfix {
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(&self.dir)
            .arg("stop")
            .output();
    }
}

/// One nginx HTTPS site serving fixed files.
pub struct Site<'a> {
    /// `ip:port`.
    pub listen: &'a str,
    pub server_name: &'a str,
    pub tls: &'a Leaf,
    /// (path, body, content type, status): a 3xx status sends `Location: body`.
    pub files: &'a [(&'a str, &'a str, &'a str, u16)],
}

/// An nginx instance from its own folder; stopped on drop.
pub struct Nginx {
    dir: PathBuf,
    child: std::process::Child,
}

impl Nginx {
    pub fn start(dir: &Path, sites: &[Site<'_>]) -> Nginx {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir.join("logs")).expect("nginx folder");
        let d = dir.display();
        let mut servers = String::new();
        for (i, s) in sites.iter().enumerate() {
            let key = dir.join(format!("key{i}.pem"));
            let cert = dir.join(format!("cert{i}.pem"));
            write(&key, &s.tls.key_pem);
            write(&cert, &s.tls.cert_pem);
            let mut locations = String::new();
            for (path, body, ctype, status) in s.files {
                let body = body
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                if (300..400).contains(status) {
                    locations.push_str(&format!(
                        "    location = {path} {{ return {status} \"{body}\"; }}\n"
                    ));
                } else {
                    locations.push_str(&format!(
                        "    location = {path} {{ default_type \"{ctype}\"; return {status} \"{body}\"; }}\n"
                    ));
                }
            }
            servers.push_str(&format!(
                "  server {{\n    listen {} ssl;\n    server_name {};\n    ssl_certificate {};\n    ssl_certificate_key {};\n{locations}  }}\n",
                s.listen,
                s.server_name,
                cert.display(),
                key.display()
            ));
        }
        write(
            &dir.join("nginx.conf"),
            &format!(
                "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n{servers}}}\n"
            ),
        );
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run nginx");
        for s in sites {
            wait_listening(s.listen);
        }
        Nginx {
            dir: dir.to_path_buf(),
            child,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
