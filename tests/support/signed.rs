//! A DNSSEC-signed world on loopback: the zones given, delegated from a signed root of our own,
//! with a trust anchor file for that root. The chain of trust is the real one (root DNSKEY →
//! DS → zone DNSKEY → RRSIG), only the root key is the test's.
//!
//! - zones listed in `signed` get a key and are signed on the fly by hickory-server; the root
//!   publishes their DS;
//! - zones in `broken_ds` are signed too, but the root publishes the DS of another key, as
//!   after a key rollover that forgot the parent: their data is bogus;
//! - every other zone is delegated without a DS: provably insecure.
//!
//! One server hosts the root and every zone, so a DS question (which belongs to the parent
//! side of a zone cut) is routed to the root, as RFC 4035 §3.1.4.1 asks of a server that is
//! authoritative on both sides.

use super::TestDns;
use hickory_server::dnssec::NxProofKind;
use hickory_server::net::runtime::Time;
use hickory_server::proto::dnssec::crypto::EcdsaSigningKey;
use hickory_server::proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS};
use hickory_server::proto::dnssec::{Algorithm, DigestType, DnssecSigner, SigningKey};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::file::{FileConfig, FileZoneHandler};
use hickory_server::zone_handler::{AxfrPolicy, Catalog, DnssecZoneHandler, ZoneHandler, ZoneType};
use rustls::pki_types::PrivatePkcs8KeyDer;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A running signed world and the anchor file a validator needs for it.
pub struct SignedDns {
    pub dns: TestDns,
    /// The root's DNSKEY in zone-file form (`. 3600 IN DNSKEY 257 3 13 …`).
    pub anchor: PathBuf,
    _dir: tempfile::TempDir,
}

fn fqdn(origin: &str) -> Name {
    let text = if origin.ends_with('.') {
        origin.to_string()
    } else {
        format!("{origin}.")
    };
    Name::from_ascii(&text).unwrap_or_else(|e| panic!("bad zone origin {origin:?}: {e}"))
}

/// A fresh P-256 key (algorithm 13, what most signed zones use today) and its KSK DNSKEY.
fn new_key() -> (EcdsaSigningKey, DNSKEY) {
    let pkcs8 = EcdsaSigningKey::generate_pkcs8(Algorithm::ECDSAP256SHA256).expect("keygen");
    key_from(pkcs8.secret_pkcs8_der())
}

/// The key in `der` (PKCS#8, P-256) and its KSK DNSKEY.
fn key_from(der: &[u8]) -> (EcdsaSigningKey, DNSKEY) {
    let pkcs8 = PrivatePkcs8KeyDer::from(der.to_vec());
    let key = EcdsaSigningKey::from_pkcs8(&pkcs8, Algorithm::ECDSAP256SHA256)
        .expect("a PKCS#8 P-256 key");
    let public = key.to_public_key().expect("public key");
    (key, DNSKEY::with_flags(257, public))
}

fn ds_of(dnskey: &DNSKEY, zone: &Name) -> DS {
    DS::new(
        dnskey.calculate_key_tag().expect("key tag"),
        Algorithm::ECDSAP256SHA256,
        DigestType::SHA256,
        dnskey
            .to_digest(zone, DigestType::SHA256)
            .expect("digest")
            .as_ref()
            .to_owned(),
    )
}

fn load(origin: &Name, path: &Path) -> FileZoneHandler {
    FileZoneHandler::try_from_config(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
        None,
        &FileConfig {
            zone_path: path.to_path_buf(),
        },
        Some(NxProofKind::Nsec),
    )
    .unwrap_or_else(|e| panic!("zone {} does not load: {e}", path.display()))
}

async fn sign(handler: &FileZoneHandler, zone: &Name, key: EcdsaSigningKey, dnskey: DNSKEY) {
    let signer = DnssecSigner::new(
        dnskey,
        Box::new(key),
        zone.clone(),
        Duration::from_secs(30 * 86_400),
    );
    handler
        .add_zone_signing_key(signer)
        .await
        .unwrap_or_else(|e| panic!("add key to {zone}: {e}"));
    handler
        .secure_zone()
        .await
        .unwrap_or_else(|e| panic!("sign {zone}: {e}"));
}

/// Routes DS questions at a hosted zone's apex to the root, everything else as a catalog does.
struct DsRouting {
    all: Catalog,
    parent: Catalog,
    apexes: HashSet<LowerName>,
}

#[async_trait::async_trait]
impl RequestHandler for DsRouting {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let to_parent = request.request_info().is_ok_and(|info| {
            info.query.query_type() == RecordType::DS && self.apexes.contains(info.query.name())
        });
        if to_parent {
            self.parent
                .handle_request::<R, T>(request, response_handle)
                .await
        } else {
            self.all
                .handle_request::<R, T>(request, response_handle)
                .await
        }
    }
}

/// Starts the signed world for `zones` (origin, zone file); see the module docs for `signed`
/// and `broken_ds`. Each hosted zone's file must have NS records at its apex. `root_key` (a
/// PKCS#8 P-256 key file) keeps the root's key, and so the anchor, the same from run to run;
/// without it the root gets a fresh key.
pub fn start_signed<P: AsRef<Path>>(
    zones: &[(&str, P)],
    signed: &[&str],
    broken_ds: &[&str],
    root_key: Option<&Path>,
) -> SignedDns {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut root_text = String::from(
        "$ORIGIN .\n$TTL 3600\n\
         @ IN SOA a.root.test. hostmaster.root.test. 2026120401 7200 3600 1209600 300\n\
         @ IN NS a.root.test.\n",
    );
    let mut all = Catalog::new();
    let mut apexes = HashSet::new();
    for (origin, path) in zones {
        let name = fqdn(origin);
        let handler = load(&name, path.as_ref());
        let wants_sig = signed.contains(origin) || broken_ds.contains(origin);
        root_text.push_str(&format!("{name} IN NS ns.{name}\n"));
        if wants_sig {
            let (key, dnskey) = new_key();
            let published = if broken_ds.contains(origin) {
                new_key().1
            } else {
                dnskey.clone()
            };
            root_text.push_str(&format!("{name} IN DS {}\n", ds_of(&published, &name)));
            rt.block_on(sign(&handler, &name, key, dnskey));
        }
        apexes.insert(LowerName::new(&name));
        let handlers: Vec<Arc<dyn ZoneHandler>> = vec![Arc::new(handler)];
        all.upsert(LowerName::new(&name), handlers);
    }

    let root_path = dir.path().join("root.zone");
    std::fs::write(&root_path, &root_text).expect("write root zone");
    let root = load(&Name::root(), &root_path);
    let (root_key, root_dnskey) = match root_key {
        Some(p) => key_from(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))),
        None => new_key(),
    };
    rt.block_on(sign(&root, &Name::root(), root_key, root_dnskey.clone()));
    let root: Arc<dyn ZoneHandler> = Arc::new(root);
    all.upsert(LowerName::new(&Name::root()), vec![root.clone()]);
    let mut parent = Catalog::new();
    parent.upsert(LowerName::new(&Name::root()), vec![root]);

    let anchor = dir.path().join("root.anchor");
    let record = Record::from_rdata(
        Name::root(),
        3600,
        RData::DNSSEC(DNSSECRData::DNSKEY(root_dnskey)),
    );
    std::fs::write(&anchor, format!("{record}\n")).expect("write anchor");

    let handler = DsRouting {
        all,
        parent,
        apexes,
    };
    let dns = super::serve_handler("test-dns-signed", handler);
    SignedDns {
        dns,
        anchor,
        _dir: dir,
    }
}
