//! The `mailproof.toml` contract: what to assess, where inputs live, and policy thresholds.
//!
//! Unknown keys are rejected: a typo in a threshold must never silently disable a check.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The role a domain plays decides which checks apply and how heavy their impact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Patient-facing: portal notifications, appointment reminders. PHI-adjacent.
    Patient,
    /// Staff mailboxes.
    Workforce,
    /// Newsletters and campaigns.
    Marketing,
    /// Sends and receives no mail; must be locked down against spoofing.
    Parked,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Workforce => "workforce",
            Role::Marketing => "marketing",
            Role::Parked => "parked",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub selectors: Vec<String>,
    /// Who answers for this domain's findings (risk register, plan of action). When absent,
    /// `[governance] security_officer` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    #[serde(default)]
    pub nameservers: Vec<SocketAddr>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_attempts")]
    pub attempts: usize,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

fn default_timeout_ms() -> u64 {
    2000
}

/// `[tls]`: the transport-security probes. Everything they learn is stored raw in the
/// snapshot, so `--offline` and later re-assessment never probe again.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// STARTTLS probe of each MX host (false: DNS and the MTA-STS policy fetch only, for sites
    /// whose outbound port 25 is closed).
    #[serde(default = "default_true")]
    pub probe: bool,
    /// The SMTP port probed. Receivers use 25; another port is for tests and private relays.
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    /// Per host: connect, banner, handshake and the policy fetch each end by then.
    #[serde(default = "default_tls_timeout_ms")]
    pub timeout_ms: u64,
    /// Extra trusted roots (PEM), beside the Mozilla roots: a private MX, or a test CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// DNSSEC trust anchor (DNSKEY or DS records in zone-file form); default the IANA root.
    #[serde(default)]
    pub dnssec_trust_anchor: Option<PathBuf>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            probe: true,
            smtp_port: default_smtp_port(),
            timeout_ms: default_tls_timeout_ms(),
            ca_file: None,
            dnssec_trust_anchor: None,
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_smtp_port() -> u16 {
    25
}
fn default_tls_timeout_ms() -> u64 {
    5000
}
fn default_attempts() -> usize {
    2
}
fn default_concurrency() -> usize {
    64
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            nameservers: Vec::new(),
            timeout_ms: default_timeout_ms(),
            attempts: default_attempts(),
            concurrency: default_concurrency(),
        }
    }
}

/// Risk threshold for exit code 3, on the NIST SP 800-30 scale the summary shows. The
/// catalog-severity words of earlier versions are still read (`critical` as very high,
/// `medium` as moderate, `info` as very low) so an existing config keeps working; loading such
/// a config warns, since the summary and the PDF never use those words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    #[serde(alias = "very_high")]
    VeryHigh,
    High,
    Moderate,
    Low,
    #[serde(alias = "very_low")]
    VeryLow,
    Critical,
    Medium,
    Info,
}

impl FailOn {
    /// The lowest risk level that trips the threshold.
    pub fn level(self) -> crate::assess::risk::Level {
        use crate::assess::risk::Level;
        match self {
            FailOn::VeryHigh | FailOn::Critical => Level::VeryHigh,
            FailOn::High => Level::High,
            FailOn::Moderate | FailOn::Medium => Level::Moderate,
            FailOn::Low => Level::Low,
            FailOn::VeryLow | FailOn::Info => Level::VeryLow,
        }
    }

    /// For an old severity word, the word of the risk scale it is read as.
    pub fn replacement(self) -> Option<(&'static str, &'static str)> {
        match self {
            FailOn::Critical => Some(("critical", "very-high")),
            FailOn::Medium => Some(("medium", "moderate")),
            FailOn::Info => Some(("info", "very-low")),
            _ => None,
        }
    }
}

/// Days from the end of the period a finding was first reported to its due date, by inherent
/// risk. The defaults follow the precedent of CISA BOD 19-02 (15 days for critical, 30 for high
/// vulnerabilities), extended down the scale.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DueDays {
    #[serde(default = "due_very_high")]
    pub very_high: u32,
    #[serde(default = "due_high")]
    pub high: u32,
    #[serde(default = "due_moderate")]
    pub moderate: u32,
    #[serde(default = "due_low")]
    pub low: u32,
    #[serde(default = "due_very_low")]
    pub very_low: u32,
}

fn due_very_high() -> u32 {
    15
}
fn due_high() -> u32 {
    30
}
fn due_moderate() -> u32 {
    90
}
fn due_low() -> u32 {
    180
}
fn due_very_low() -> u32 {
    365
}

impl Default for DueDays {
    fn default() -> Self {
        DueDays {
            very_high: due_very_high(),
            high: due_high(),
            moderate: due_moderate(),
            low: due_low(),
            very_low: due_very_low(),
        }
    }
}

impl DueDays {
    pub fn for_risk(&self, risk: crate::assess::risk::Level) -> u32 {
        use crate::assess::risk::Level;
        match risk {
            Level::VeryHigh => self.very_high,
            Level::High => self.high,
            Level::Moderate => self.moderate,
            Level::Low => self.low,
            Level::VeryLow => self.very_low,
        }
    }
}

/// The people named on the sign-off page. Every name is optional: an empty line is printed
/// for a signature nobody has been assigned.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    /// Answers for domain findings whose domain names no `owner`, and for findings that belong
    /// to no domain or vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_officer: Option<String>,
    /// The operator who ran the assessment (the tool prepares it; a person answers for the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

/// An existing control the organization declares (`[[control]]`): shown in the report as a
/// current security measure (OCR element 4), and weighed by the rating rule for the checks it
/// names in `mitigates`, each of which it lowers one likelihood step.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub hipaa: Vec<String>,
    /// Where the proof is kept (an export, a ticket, a policy document and its date).
    #[serde(default)]
    pub evidence: String,
    /// Check IDs (CHECKS.md) whose likelihood this control lowers.
    #[serde(default)]
    pub mitigates: Vec<String>,
    /// The configured domains it protects; empty: all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    #[serde(default = "default_min_dkim_bits")]
    pub min_dkim_bits: u32,
    #[serde(default = "default_dkim_max_age_days")]
    pub dkim_max_age_days: u32,
    #[serde(default = "default_pass_rate")]
    pub pass_rate_threshold: f64,
    /// Calendar days a third-party identity must span before a source sending as us under it
    /// is called a service (VEN-006) rather than unknown: one day's mail cannot tell a
    /// department's service from a one-off.
    #[serde(default = "default_service_min_days")]
    pub service_min_days: u32,
    /// Days without any aggregate report about a domain that publishes `rua` before the
    /// silence is a finding (RPT-008): receivers report daily, so a week is a broken pipeline.
    #[serde(default = "default_report_gap_days")]
    pub report_gap_days: u32,
    /// Messages a day to one mailbox provider above which Gmail and Outlook.com treat a domain
    /// as a bulk sender (BULK-001/002); their published number is 5,000.
    #[serde(default = "default_bulk_daily_messages")]
    pub bulk_daily_messages: u64,
    /// SPF-008: the shortest `ip4` prefix (and `a`/`mx` IPv4 CIDR length) an SPF tree may
    /// authorize before it is reported as overly broad. A tool heuristic, not a normative
    /// number (RFC 9989 §7.1 only says to review broad records): /16 is 65,536 addresses,
    /// far more than any one organization's or vendor's dedicated senders.
    #[serde(default = "default_spf_min_ip4_prefix")]
    pub spf_min_ip4_prefix: u8,
    /// SPF-008: the same for `ip6`. /32 is a whole provider allocation (a regional registry's
    /// minimum for an ISP), so anything shorter authorizes more than one provider's network.
    #[serde(default = "default_spf_min_ip6_prefix")]
    pub spf_min_ip6_prefix: u8,
    /// `None` when the key is absent: the run always exits 0 after success.
    #[serde(default)]
    pub fail_on: Option<FailOn>,
    /// Earlier periods read from the output folder for trends and mean time to remediate.
    #[serde(default = "default_history_months")]
    pub history_months: u32,
    /// Days after a period ends before it is final: receivers send a day's report a day or
    /// two later, so a period assessed at once would miss its last reports.
    #[serde(default = "default_report_grace_days")]
    pub report_grace_days: u32,
    #[serde(default)]
    pub due_days: DueDays,
}

fn default_report_grace_days() -> u32 {
    3
}

fn default_history_months() -> u32 {
    12
}

fn default_min_dkim_bits() -> u32 {
    2048
}
fn default_dkim_max_age_days() -> u32 {
    365
}
fn default_spf_min_ip4_prefix() -> u8 {
    16
}
fn default_spf_min_ip6_prefix() -> u8 {
    32
}
fn default_pass_rate() -> f64 {
    0.98
}
fn default_service_min_days() -> u32 {
    3
}
fn default_report_gap_days() -> u32 {
    7
}
fn default_bulk_daily_messages() -> u64 {
    5000
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            min_dkim_bits: default_min_dkim_bits(),
            dkim_max_age_days: default_dkim_max_age_days(),
            pass_rate_threshold: default_pass_rate(),
            service_min_days: default_service_min_days(),
            report_gap_days: default_report_gap_days(),
            bulk_daily_messages: default_bulk_daily_messages(),
            spf_min_ip4_prefix: default_spf_min_ip4_prefix(),
            spf_min_ip6_prefix: default_spf_min_ip6_prefix(),
            fail_on: None,
            history_months: default_history_months(),
            report_grace_days: default_report_grace_days(),
            due_days: DueDays::default(),
        }
    }
}

/// The file as written by the user (paths still relative to it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    organization: String,
    #[serde(default = "default_tz")]
    timezone: String,
    inventory: Option<PathBuf>,
    /// The workbook sheet holding the inventory, when `inventory` is an `.xlsx` file.
    inventory_sheet: Option<String>,
    #[serde(default)]
    reports: Vec<PathBuf>,
    snapshots: PathBuf,
    output: PathBuf,
    templates: Option<PathBuf>,
    risk_decisions: Option<PathBuf>,
    #[serde(default)]
    dns: DnsConfig,
    #[serde(default)]
    tls: TlsConfig,
    #[serde(default)]
    domain: Vec<DomainConfig>,
    #[serde(default)]
    policy: PolicyConfig,
    #[serde(default)]
    governance: Governance,
    #[serde(default)]
    control: Vec<ControlConfig>,
}

fn default_tz() -> String {
    "UTC".into()
}

/// A loaded, validated configuration with every path resolved against the config file's folder.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub organization: String,
    pub timezone: chrono_tz::Tz,
    pub inventory: Option<PathBuf>,
    /// The sheet of an `.xlsx` inventory to read (the first one when absent).
    pub inventory_sheet: Option<String>,
    pub reports: Vec<PathBuf>,
    pub snapshots: PathBuf,
    pub output: PathBuf,
    pub templates: Option<PathBuf>,
    /// The risk decisions file (accepted, transferred… risks), when the config names one.
    pub risk_decisions: Option<PathBuf>,
    pub dns: DnsConfig,
    pub tls: TlsConfig,
    pub domains: Vec<DomainConfig>,
    pub policy: PolicyConfig,
    pub governance: Governance,
    pub controls: Vec<ControlConfig>,
}

/// Largest config file read. A real one is a few kilobytes, even with hundreds of domains.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Longest string in the config, in characters (names, owners, descriptions, paths). Every
/// one may reach the PDF and every log line.
pub const MAX_CONFIG_STRING: usize = 1_000;
/// Most items in one config list: domains, selectors of a domain, report folders, controls.
/// Each selector costs DNS lookups, so an unbounded list is an unbounded run.
pub const MAX_CONFIG_LIST: usize = 1_000;
/// RFC 1035 §2.3.4: a name is at most 253 characters as written, a label at most 63.
pub const MAX_DOMAIN_NAME: usize = 253;
pub const MAX_DOMAIN_LABEL: usize = 63;

/// Why `name` is not a valid DNS name by length (RFC 1035 §2.3.4), if it is not.
pub fn domain_name_length_error(name: &str) -> Option<String> {
    if name.len() > MAX_DOMAIN_NAME {
        return Some(format!(
            "is {} characters long; a domain name has at most {MAX_DOMAIN_NAME} (RFC 1035)",
            name.len()
        ));
    }
    name.split('.')
        .find(|l| l.len() > MAX_DOMAIN_LABEL)
        .map(|l| {
            format!(
                "has a label of {} characters; a label has at most {MAX_DOMAIN_LABEL} (RFC 1035)",
                l.len()
            )
        })
}

/// Checks every string and list of the parsed TOML against [`MAX_CONFIG_STRING`] and
/// [`MAX_CONFIG_LIST`], naming the key.
fn check_bounds(value: &toml::Value, at: &str) -> Result<(), String> {
    match value {
        toml::Value::String(s) if s.chars().count() > MAX_CONFIG_STRING => Err(format!(
            "`{at}` is {} characters long; the limit is {MAX_CONFIG_STRING}",
            s.chars().count()
        )),
        toml::Value::Array(items) => {
            if items.len() > MAX_CONFIG_LIST {
                return Err(format!(
                    "`{at}` lists {} items; the limit is {MAX_CONFIG_LIST}",
                    items.len()
                ));
            }
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| check_bounds(v, &format!("{at}[{}]", i + 1)))
        }
        toml::Value::Table(t) => t.iter().try_for_each(|(k, v)| {
            let key = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.chars().count() > MAX_CONFIG_STRING {
                return Err(format!(
                    "a key under `{at}` is over {MAX_CONFIG_STRING} characters"
                ));
            }
            check_bounds(v, &key)
        }),
        _ => Ok(()),
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let read = |cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        };
        let bytes = crate::local_file::read(path, MAX_CONFIG_BYTES, "config").map_err(read)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            read(std::io::Error::other(format!(
                "not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                e.utf8_error().valid_up_to()
            )))
        })?;
        Self::from_str(&text, path)
    }

    pub fn from_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let parse_error = |e: toml::de::Error| ConfigError::Parse {
            path: path.to_path_buf(),
            message: describe_toml_error(text, &e),
        };
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let tree: toml::Value = toml::from_str(text).map_err(parse_error)?;
        check_bounds(&tree, "").map_err(invalid)?;
        let raw: RawConfig = toml::from_str(text).map_err(parse_error)?;
        let timezone: chrono_tz::Tz = raw.timezone.parse().map_err(|_| {
            invalid(format!(
                "timezone {:?} is not an IANA time zone name (for example \"America/Chicago\" or \"UTC\")",
                raw.timezone
            ))
        })?;
        if raw.organization.trim().is_empty() {
            return Err(invalid(
                "`organization` is empty: name the organization the report is for".into(),
            ));
        }
        if raw.domain.is_empty() {
            return Err(invalid(
                "no [[domain]] tables: add at least one domain to assess, e.g.\n[[domain]]\nname = \"example.org\"\nrole = \"workforce\"".into(),
            ));
        }
        let mut domains = raw.domain;
        let mut seen = std::collections::BTreeSet::new();
        for (i, d) in domains.iter_mut().enumerate() {
            let name = d.name.trim().trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() || !name.contains('.') || name.chars().any(|c| c.is_whitespace()) {
                return Err(invalid(format!(
                    "[[domain]] #{}: name {:?} is not a fully qualified domain name",
                    i + 1,
                    d.name
                )));
            }
            if let Some(why) = domain_name_length_error(&name) {
                return Err(invalid(format!("[[domain]] #{}: name {why}", i + 1)));
            }
            for s in &d.selectors {
                if let Some(why) = domain_name_length_error(&format!("{s}._domainkey.{name}")) {
                    return Err(invalid(format!(
                        "[[domain]] {name}: selector {:?}: {s}._domainkey.{name} {why}",
                        crate::text::excerpt(s, 40)
                    )));
                }
            }
            if !seen.insert(name.clone()) {
                return Err(invalid(format!("[[domain]] {name} is listed twice")));
            }
            d.name = name;
            d.owner = d
                .owner
                .take()
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty());
        }
        if raw.policy.history_months > 120 {
            return Err(invalid(format!(
                "policy.history_months = {} is more than 120: the trends read one evidence file per month; 12 covers a year",
                raw.policy.history_months
            )));
        }
        let dd = &raw.policy.due_days;
        for (key, days) in [
            ("very_high", dd.very_high),
            ("high", dd.high),
            ("moderate", dd.moderate),
            ("low", dd.low),
            ("very_low", dd.very_low),
        ] {
            if days == 0 || days > 3650 {
                return Err(invalid(format!(
                    "policy.due_days.{key} = {days} must be between 1 and 3650 days"
                )));
            }
        }
        let mut governance = raw.governance;
        for name in [
            &mut governance.security_officer,
            &mut governance.prepared_by,
            &mut governance.reviewed_by,
            &mut governance.approved_by,
        ] {
            *name = name
                .take()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty());
        }
        if !(0.0..=1.0).contains(&raw.policy.pass_rate_threshold) {
            return Err(invalid(format!(
                "policy.pass_rate_threshold = {} must be between 0 and 1 (0.98 means 98%)",
                raw.policy.pass_rate_threshold
            )));
        }
        if raw.policy.spf_min_ip4_prefix > 32 || raw.policy.spf_min_ip6_prefix > 128 {
            return Err(invalid(format!(
                "policy.spf_min_ip4_prefix = {} and policy.spf_min_ip6_prefix = {} must be prefix lengths (at most 32 and 128)",
                raw.policy.spf_min_ip4_prefix, raw.policy.spf_min_ip6_prefix
            )));
        }
        for (n, c) in raw.control.iter().enumerate() {
            let at = format!("[[control]] #{} ({:?})", n + 1, c.name);
            if c.name.trim().is_empty() {
                return Err(invalid(format!(
                    "[[control]] #{}: `name` is empty; name the control as the organization calls it",
                    n + 1
                )));
            }
            for m in &c.mitigates {
                if crate::assess::catalog::get(m).is_none() {
                    return Err(invalid(format!(
                        "{at}: mitigates = {m:?} is not a check ID of the catalog (for example \"RPT-001\" or \"DMARC-003\")"
                    )));
                }
            }
            for d in &c.domains {
                if !domains.iter().any(|x| x.name.eq_ignore_ascii_case(d)) {
                    return Err(invalid(format!(
                        "{at}: domains = {d:?} is not a configured [[domain]]; list only domains in scope"
                    )));
                }
            }
            for h in &c.hipaa {
                if crate::assess::hipaa::lookup(h).is_none() {
                    return Err(invalid(format!(
                        "{at}: hipaa = {h:?} is not a Security Rule citation mailproof knows (write it as \"164.312(e)(1)\")"
                    )));
                }
            }
        }
        if let Some((old, new)) = raw.policy.fail_on.and_then(FailOn::replacement) {
            tracing::warn!(
                config = %path.display(),
                "policy.fail_on = \"{old}\" is a catalog-severity word of earlier versions, read as \"{new}\" on the risk scale the summary shows; write fail_on = \"{new}\""
            );
        }
        if raw.policy.report_grace_days > 60 {
            return Err(invalid(format!(
                "policy.report_grace_days = {} is more than 60: receivers send a day's report within a day or two, so 3 to 7 days is enough",
                raw.policy.report_grace_days
            )));
        }
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        Ok(Config {
            path: path.to_path_buf(),
            organization: raw.organization,
            timezone,
            inventory: raw.inventory.map(rel),
            inventory_sheet: raw.inventory_sheet,
            reports: raw.reports.into_iter().map(rel).collect(),
            snapshots: rel(raw.snapshots),
            output: rel(raw.output),
            templates: raw.templates.map(rel),
            risk_decisions: raw.risk_decisions.map(rel),
            dns: raw.dns,
            tls: TlsConfig {
                ca_file: raw.tls.ca_file.map(rel),
                dnssec_trust_anchor: raw.tls.dnssec_trust_anchor.map(rel),
                ..raw.tls
            },
            domains,
            policy: raw.policy,
            governance,
            controls: raw.control,
        })
    }

    pub fn domain(&self, name: &str) -> Option<&DomainConfig> {
        self.domains.iter().find(|d| d.name == name)
    }
}

fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
organization = "Riverside Health System"
timezone = "America/Chicago"
inventory = "vendors.csv"
reports = ["reports/"]
snapshots = "snapshots/"
output = "out/"
[[domain]]
name = "Riverside-Health.example."
role = "patient"
selectors = ["s1"]
[policy]
fail_on = "high"
"#;

    #[test]
    fn loads_and_resolves_paths() {
        let c = Config::from_str(OK, Path::new("/etc/mp/mailproof.toml")).unwrap();
        assert_eq!(c.domains[0].name, "riverside-health.example");
        assert_eq!(
            c.inventory.as_deref(),
            Some(Path::new("/etc/mp/vendors.csv"))
        );
        assert_eq!(c.policy.min_dkim_bits, 2048);
        assert_eq!(
            (c.policy.spf_min_ip4_prefix, c.policy.spf_min_ip6_prefix),
            (16, 32)
        );
        assert_eq!(c.policy.fail_on, Some(FailOn::High));
        let narrow = OK.replace(
            "fail_on = \"high\"",
            "spf_min_ip4_prefix = 20\nspf_min_ip6_prefix = 40",
        );
        let c = Config::from_str(&narrow, Path::new("m.toml")).unwrap();
        assert_eq!(
            (c.policy.spf_min_ip4_prefix, c.policy.spf_min_ip6_prefix),
            (20, 40)
        );
        let bad = OK.replace("fail_on = \"high\"", "spf_min_ip4_prefix = 33");
        let e = Config::from_str(&bad, Path::new("m.toml")).unwrap_err();
        assert!(e.to_string().contains("spf_min_ip4_prefix"), "{e}");
        assert_eq!(c.dns.timeout_ms, 2000);
    }

    #[test]
    fn controls_name_real_checks_and_domains() {
        let with = |c: &str| format!("{OK}\n[[control]]\n{c}\n");
        let ok = Config::from_str(
            &with("name = \"EOP\"\nmitigates = [\"RPT-001\"]\nhipaa = [\"164.308(a)(5)(ii)(B)\"]\ndomains = [\"riverside-health.example\"]"),
            Path::new("m.toml"),
        )
        .unwrap();
        assert_eq!(ok.controls[0].mitigates, ["RPT-001"]);
        for (bad, said) in [
            ("name = \"X\"\nmitigates = [\"RPT-999\"]", "RPT-999"),
            (
                "name = \"X\"\ndomains = [\"elsewhere.example\"]",
                "elsewhere.example",
            ),
            ("name = \"X\"\nhipaa = [\"164.999\"]", "164.999"),
            ("name = \" \"", "`name` is empty"),
            ("name = \"X\"\nmitigate = [\"RPT-001\"]", "mitigate"),
        ] {
            let e = Config::from_str(&with(bad), Path::new("m.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(said), "{bad}: {e}");
        }
    }

    #[test]
    fn every_string_list_and_name_is_bounded_with_the_key_named() {
        let parse = |t: &str| Config::from_str(t, Path::new("m.toml")).map_err(|e| e.to_string());
        let org = |n: usize| OK.replace("Riverside Health System", &"o".repeat(n));
        assert!(parse(&org(MAX_CONFIG_STRING)).is_ok());
        let e = parse(&org(MAX_CONFIG_STRING + 1)).unwrap_err();
        assert!(
            e.contains("`organization` is 1001 characters long; the limit is 1000"),
            "{e}"
        );
        let selectors = |n: usize| {
            let list: Vec<String> = (0..n).map(|i| format!("\"s{i}\"")).collect();
            OK.replace("[\"s1\"]", &format!("[{}]", list.join(",")))
        };
        assert!(parse(&selectors(MAX_CONFIG_LIST)).is_ok());
        let e = parse(&selectors(MAX_CONFIG_LIST + 1)).unwrap_err();
        assert!(
            e.contains("`domain[1].selectors` lists 1001 items; the limit is 1000"),
            "{e}"
        );
        // RFC 1035: labels of 63 and names of 253 characters; one more is refused.
        let named = |name: &str| OK.replace("Riverside-Health.example.", name);
        let label = |n: usize| format!("{}.example", "a".repeat(n));
        assert!(parse(&named(&label(63))).is_ok());
        let e = parse(&named(&label(64))).unwrap_err();
        assert!(e.contains("label of 64 characters"), "{e}");
        let long = |n: usize| {
            let mut parts = vec!["b".repeat(62); n / 63];
            parts.push("c".repeat(n - parts.len() * 63));
            parts.join(".")
        };
        assert_eq!(long(253).len(), 253);
        // 253 with the selector `s1._domainkey.` in front would pass the limit: the selector
        // is refused, naming the whole name.
        let e = parse(&named(&long(253))).unwrap_err();
        assert!(e.contains("selector \"s1\""), "{e}");
        let no_selector = |n: usize| named(&long(n)).replace("selectors = [\"s1\"]\n", "");
        assert!(parse(&no_selector(253)).is_ok());
        let e = parse(&no_selector(254)).unwrap_err();
        assert!(
            e.contains("is 254 characters long; a domain name has at most 253"),
            "{e}"
        );
    }

    #[test]
    fn a_config_that_is_not_a_bounded_regular_file_is_refused() {
        let e = Config::load(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/dev/zero") && e.contains("not a regular file"),
            "{e}"
        );
    }

    #[test]
    fn unknown_key_is_named_with_line() {
        let bad = OK.replace("fail_on", "fial_on");
        let err = Config::from_str(&bad, Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("fial_on"), "{err}");
        assert!(err.contains("m.toml"), "{err}");
        assert!(err.contains("line 13"), "{err}");
    }

    #[test]
    fn bad_timezone_and_role() {
        let bad = OK.replace("America/Chicago", "Mars/Olympus");
        assert!(
            Config::from_str(&bad, Path::new("m.toml"))
                .unwrap_err()
                .to_string()
                .contains("Mars/Olympus")
        );
        let bad = OK.replace("\"patient\"", "\"patients\"");
        assert!(Config::from_str(&bad, Path::new("m.toml")).is_err());
    }
}
