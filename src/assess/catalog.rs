//! The check catalog (CHECKS.md): stable IDs with their default rating, authority and HIPAA
//! citations. Findings are built from these entries so an ID always means the same thing.

use super::basis::Harm::{self, *};
use super::risk::{Level, Severity};
use Level::*;

/// A check as catalogued: the defaults a finding starts from before context adjusts them.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// How readily the weakness is used (CHECKS.md), before the rating rule weighs what this
    /// period's evidence shows. Very High is never a default: it is kept for an occurrence.
    pub likelihood: Level,
    /// The consequence the check guards against; the rating rule turns it into impact.
    pub harm: Harm,
    pub authority: &'static str,
    pub hipaa: &'static [&'static str],
    pub remediation: &'static str,
}

macro_rules! check {
    ($id:literal, $title:literal, $sev:ident, $l:ident / $harm:ident, $auth:literal, [$($h:literal),*], $rem:literal) => {
        Check {
            id: $id,
            title: $title,
            severity: Severity::$sev,
            likelihood: $l,
            harm: $harm,
            authority: $auth,
            hipaa: &[$($h),*],
            remediation: $rem,
        }
    };
}

pub const CATALOG: &[Check] = &[
    check!(
        "DNS-001",
        "DNS lookup failed: evidence incomplete",
        Medium,
        Moderate / Blindness,
        "RFC 7208 §4.4 / RFC 9989 §4.10 (temporary errors are not absence)",
        ["164.308(a)(1)(ii)(A)", "164.312(b)"],
        "Re-run the snapshot; if the failure persists, check the authoritative servers for this name (SERVFAIL often means a DNSSEC or delegation fault). The affected checks are indeterminate until a lookup succeeds."
    ),
    check!(
        "RPT-000",
        "DMARC report files rejected or duplicated",
        Low,
        Moderate / Blindness,
        "RFC 9990 (aggregate report format)",
        ["164.308(a)(1)(ii)(D)"],
        "Review the rejected files listed in the statistics section; ask the reporter to resend unreadable reports, and fix the mailbox export if files are truncated."
    ),
    check!(
        "INV-001",
        "Vendor inventory rows rejected or incomplete",
        Low,
        Moderate / Blindness,
        "HHS OCR Guidance on Risk Analysis (2010), element 1: the scope covers all ePHI the organization creates, receives, maintains or transmits; NIST SP 800-66r2 §3 (identify where ePHI is transmitted, including through business associates)",
        ["164.308(a)(1)(ii)(A)"],
        "Correct the listed rows in the vendor inventory CSV (line and column are given) so every sender is assessed."
    ),
    check!(
        "SPF-001",
        "No SPF record",
        High,
        High / Forgery,
        "RFC 7208 §4.5 (result none); CISA BOD 18-01 (binding on federal agencies; cited as reference); Google/Yahoo 2024 and Microsoft 2025 requirements for bulk senders (about 5,000 or more messages a day to those providers; cited as the receivers' practice)",
        ["164.312(e)(1)", "164.308(a)(1)(ii)(B)"],
        "Publish a TXT record `v=spf1 <authorized senders> -all` (or `v=spf1 -all` for a domain that sends no mail)."
    ),
    check!(
        "SPF-002",
        "More than one SPF record",
        High,
        High / Delivery,
        "RFC 7208 §3.2 and §4.5 (permerror)",
        ["164.312(e)(1)", "164.308(a)(1)(ii)(B)"],
        "Merge the SPF records into a single `v=spf1` TXT record; receivers treat multiple records as a permanent error and SPF fails for all mail."
    ),
    check!(
        "SPF-003",
        "SPF exceeds the 10 DNS-lookup limit",
        High,
        High / Delivery,
        "RFC 7208 §4.6.4 (permerror); Microsoft 2025 requirements for bulk senders (about 5,000 or more messages a day to those providers; cited as the receivers' practice)",
        ["164.312(e)(1)", "164.308(a)(1)(ii)(B)"],
        "Reduce DNS-querying terms to 10 or fewer: remove includes of vendors no longer used, replace `a`/`mx` with `ip4`/`ip6`, or move senders to subdomains."
    ),
    check!(
        "SPF-004",
        "SPF has more than 2 void lookups",
        Medium,
        Moderate / Delivery,
        "RFC 7208 §4.6.4 (SHOULD limit void lookups to two)",
        ["164.312(e)(1)"],
        "Remove the terms that point at names with no DNS records (listed in the evidence): an include of a vendor no longer used, or an `a:`/`mx:` term for a host that was retired."
    ),
    check!(
        "SPF-005",
        "SPF does not fail unauthorized senders",
        High,
        High / Forgery,
        "RFC 7208 §5.1 (all) and §4.7 (default neutral); CISA SCuBA MS.EXO.2.2v2",
        ["164.312(e)(1)", "164.308(a)(5)(ii)(B)"],
        "End the record with `-all` (or `~all` while DMARC enforcement is relied on); never `+all` or `?all`."
    ),
    check!(
        "SPF-006",
        "SPF uses the ptr mechanism",
        Low,
        Low / Hygiene,
        "RFC 7208 §5.5 (SHOULD NOT be published)",
        ["164.308(a)(1)(ii)(B)"],
        "Replace `ptr` with explicit `ip4`/`ip6` ranges or the vendor's include; `ptr` is slow, unreliable and ignored by some receivers."
    ),
    check!(
        "DKIM-001",
        "Sending stream has no resolvable DKIM key",
        High,
        High / Delivery,
        "RFC 9989 §5.1.2; Google 2024 and Microsoft 2025 requirements for bulk senders (about 5,000 or more messages a day to those providers; cited as the receivers' practice)",
        [
            "164.312(c)(1)",
            "164.312(c)(2)",
            "164.312(e)(2)(i)",
            "164.312(e)(1)"
        ],
        "Publish the selector's public key (or the vendor's CNAME delegation) at `<selector>._domainkey.<domain>` and have the sender sign with `d=` aligned to the From domain."
    ),
    check!(
        "DKIM-002",
        "DKIM RSA key shorter than 1024 bits",
        Critical,
        High / KeyCompromise,
        "RFC 8301 §3.2 (signers MUST use at least 1024 bits; verifiers must not accept shorter keys)",
        ["164.312(c)(1)", "164.312(c)(2)", "164.312(e)(2)(i)"],
        "Generate a 2048-bit RSA key (or ed25519 alongside RSA), publish it under a new selector, switch signing, then revoke the old selector with an empty `p=`."
    ),
    check!(
        "DKIM-003",
        "DKIM RSA key shorter than 2048 bits",
        Medium,
        Low / KeyCompromise,
        "RFC 8301 §3.2 (SHOULD use at least 2048 bits); NIST SP 800-177r1 §4.4",
        [
            "164.312(c)(1)",
            "164.312(c)(2)",
            "164.312(e)(2)(i)",
            "164.308(a)(1)(ii)(B)"
        ],
        "Rotate to a 2048-bit RSA key under a new selector, then revoke the old one."
    ),
    check!(
        "DKIM-004",
        "DKIM key restricted to SHA-1",
        High,
        Moderate / Delivery,
        "RFC 8301 §3.1 (rsa-sha1 MUST NOT be used for signing or verifying)",
        ["164.312(c)(1)", "164.312(c)(2)"],
        "Remove `h=sha1` from the key record (or set `h=sha256`) and have the sender sign with rsa-sha256."
    ),
    check!(
        "DKIM-005",
        "DKIM key in test mode (t=y)",
        Medium,
        Moderate / Delivery,
        "RFC 6376 §3.6.1 (t=y: verifiers MUST NOT treat mail from a signer in testing mode differently from unsigned mail)",
        ["164.312(c)(1)"],
        "Remove `t=y` from the production key record once signing is verified."
    ),
    check!(
        "DKIM-006",
        "DKIM selector revoked or malformed while in use",
        High,
        High / Delivery,
        "RFC 6376 §3.6.1 (an empty p= means the key is revoked)",
        ["164.312(c)(1)", "164.308(a)(1)(ii)(D)"],
        "Republish a valid key for this selector, or move the sender that still signs with it to a current selector."
    ),
    check!(
        "DMARC-001",
        "No valid DMARC record",
        Critical,
        High / Forgery,
        "RFC 9989 §4.10.1; RFC 7489 §6.6.3; CISA BOD 18-01 (binding on federal agencies; cited as reference); Google/Yahoo 2024 and Microsoft 2025 requirements for bulk senders (about 5,000 or more messages a day to those providers; cited as the receivers' practice); HHS 405(d) HICP",
        [
            "164.308(a)(1)(ii)(B)",
            "164.308(a)(5)(ii)(B)",
            "164.312(e)(1)"
        ],
        "Publish `_dmarc.<domain>` TXT `v=DMARC1; p=none; rua=mailto:<reports address>` now, review the reports, and move to `p=reject`."
    ),
    check!(
        "DMARC-002",
        "DMARC record ignored (several records, or v=DMARC1 not first)",
        Critical,
        High / Forgery,
        "RFC 9989 §4.10 step 2 and §4.7; RFC 7489 §6.6.3",
        [
            "164.308(a)(1)(ii)(B)",
            "164.308(a)(5)(ii)(B)",
            "164.312(e)(1)"
        ],
        "Keep exactly one TXT record at the `_dmarc` name, starting with `v=DMARC1;`."
    ),
    check!(
        "DMARC-003",
        "DMARC policy is p=none (monitoring only)",
        High,
        High / Forgery,
        "CISA BOD 18-01 (federal agencies: reject within one year; cited as reference); CISA SCuBA MS.EXO.4.2v1; RFC 9989 §5.1.7",
        ["164.308(a)(1)(ii)(B)", "164.308(a)(5)(ii)(B)"],
        "Once legitimate senders pass aligned (see the report statistics), move to `p=quarantine`, then `p=reject`."
    ),
    check!(
        "DMARC-004",
        "DMARC policy is p=quarantine",
        Low,
        Moderate / Forgery,
        "CISA BOD 18-01 and SCuBA (federal baselines, cited as reference) call for reject; quarantine is enforcement under RFC 9989 §3.2.9",
        ["164.308(a)(1)(ii)(B)"],
        "Move to `p=reject` when the pass rate of legitimate sources stays above the threshold."
    ),
    check!(
        "DMARC-005",
        "DMARC policy applied to only part of the mail (pct < 100 or t=y)",
        Medium,
        Moderate / Forgery,
        "RFC 7489 §6.3 (pct); RFC 9989 Appendix A.6 and §4.7 (t=y)",
        ["164.308(a)(1)(ii)(B)"],
        "Remove `pct` (or set it to 100) and `t=y` so the policy applies to all failing mail."
    ),
    check!(
        "DMARC-006",
        "Subdomain policy (sp) weaker than p",
        High,
        High / Forgery,
        "RFC 9989 §3.2.9 and §4.7; RFC 7489 §6.3",
        ["164.308(a)(1)(ii)(B)"],
        "Remove `sp` or set it to the same strength as `p`; attackers spoof non-existent subdomains when `sp` is weaker."
    ),
    check!(
        "DMARC-007",
        "No np policy, or np weaker than p/sp",
        Low,
        Moderate / Forgery,
        "RFC 9989 §4.7 (np defaults to sp, then p); formerly RFC 9091",
        ["164.308(a)(1)(ii)(B)"],
        "Add `np=reject` so mail from non-existent subdomains is rejected."
    ),
    check!(
        "DMARC-008",
        "No rua tag: no aggregate reports are generated",
        High,
        High / Blindness,
        "RFC 9989 §4.7 (receivers MUST NOT send aggregate reports without rua); CISA BOD 18-01 (federal agencies; cited as reference)",
        ["164.308(a)(1)(ii)(D)", "164.312(b)"],
        "Add `rua=mailto:<reports address>` so receivers send aggregate reports; without them the activity review has no data."
    ),
    check!(
        "RPT-001",
        "Unauthorized senders using the domain",
        High,
        High / Forgery,
        "RFC 9989 §5.1.6; RFC 9990 (report rows, identifiers, auth_results)",
        [
            "164.308(a)(1)(ii)(D)",
            "164.308(a)(6)(ii)",
            "164.308(a)(5)(ii)(B)"
        ],
        "Treat as attempted unauthorized use (a security incident under §164.304): open an incident ticket, confirm the sources are not an unlisted vendor, and enforce DMARC (`p=reject`) so this mail is refused."
    ),
    check!(
        "RPT-002",
        "Inventory vendor failing DMARC alignment",
        High,
        High / Delivery,
        "RFC 9989 §4.4.1–4.4.2 and §5.1.6",
        ["164.312(e)(1)", "164.312(c)(1)", "164.308(a)(1)(ii)(B)"],
        "Have the vendor sign with DKIM `d=` our domain (CNAME delegation of its selector) or use a MAIL FROM under our domain, before moving to enforcement."
    ),
    check!(
        "RPT-006",
        "Receivers overrode the domain's DMARC policy",
        Info,
        Low / Hygiene,
        "RFC 9990 (Policy Override Reason); RFC 7489 Appendix C",
        ["164.308(a)(1)(ii)(D)"],
        "Review the overridden sources in the report rows: forwarding and mailing lists are expected; a receiver's local_policy or trusted_forwarder on mail from unknown sources means the policy is not what protects that mail."
    ),
    check!(
        "RPT-003",
        "Known senders' DMARC pass rate is below the threshold",
        Medium,
        Moderate / Delivery,
        "RFC 9989 §5.1.5–5.1.7 (make legitimate mail pass before enforcing); the threshold is a tool heuristic ([policy] pass_rate_threshold), no normative number",
        ["164.308(a)(1)(ii)(B)", "164.308(a)(8)"],
        "Fix the inventory vendors whose mail fails DMARC (their cause cards say how) until the domain's known mail passes above the threshold for a full period; only then tighten the policy."
    ),
    check!(
        "RPT-004",
        "Receivers report a policy that does not enforce on all mail (p=none, pct below 100 or t=y)",
        Medium,
        Moderate / Forgery,
        "RFC 9990 policy_published; RFC 7489 Appendix C; as DMARC-003 (p=none) and DMARC-005 (pct, t=y)",
        ["164.308(a)(1)(ii)(D)"],
        "Publish an enforcing policy for all mail (p=quarantine or p=reject, no pct below 100, no t=y) once legitimate senders pass aligned; the reports of the next period confirm what receivers saw."
    ),
    check!(
        "RPT-005",
        "Reports show a subdomain policy weaker than p, or failing subdomain mail from unknown sources",
        High,
        High / Forgery,
        "RFC 9989 §4.7 (sp and np); RFC 9990 policy_published and identifiers",
        ["164.308(a)(1)(ii)(D)"],
        "Set sp (and np) at least as strict as p, unless a subdomain has a legitimate sender that cannot yet align: then give that subdomain its own DMARC record instead of weakening all of them."
    ),
    check!(
        "RPT-007",
        "Reports state a DMARC policy that differs from the DNS snapshots of the period",
        Medium,
        Low / Forgery,
        "RFC 9990 \"Changes in Policy During Reporting Period\"; RFC 9989 §4.10 (policy discovery)",
        ["164.312(b)", "164.308(a)(1)(ii)(D)"],
        "Ask every authoritative name server of the domain for its _dmarc record (a secondary that stopped transferring the zone, or a record published somewhere else, answers some receivers); fix the stray server or record, then confirm in the next period's reports that receivers see one policy."
    ),
    check!(
        "RPT-008",
        "No aggregate reports received for days although rua is published",
        Medium,
        Moderate / Blindness,
        "RFC 9989 §5.1.3 and §5.1.5 (reports are how the domain owner sees its mail); the number of days is a tool heuristic ([policy] report_gap_days)",
        ["164.312(b)", "164.308(a)(1)(ii)(D)"],
        "Check that the rua mailbox still receives reports (quota, transport rules, forwarding to the processor) and that the folder mailproof reads is the one they land in; reports cannot be asked for again, so the gap stays in the record: note it in the activity review."
    ),
    check!(
        "BULK-001",
        "Gmail treats the domain as a bulk sender and its mail misses Gmail's requirements",
        High,
        High / Delivery,
        "Google Email sender guidelines (since 1 February 2024: above 5,000 messages a day to Gmail, SPF and DKIM set up, a DMARC record of at least p=none, and the From domain aligned with SPF or DKIM); Yahoo sender best practices (no numeric threshold)",
        ["164.312(e)(1)"],
        "Meet each requirement listed (a working SPF record, DKIM signing with the domain's own key, DMARC alignment for every sender of the domain); Gmail junks or refuses bulk mail that misses them."
    ),
    check!(
        "BULK-002",
        "Outlook.com treats the domain as a bulk sender and its mail lacks SPF pass, DKIM pass or DMARC alignment",
        High,
        High / Delivery,
        "Microsoft, \"Outlook's New Requirements for High-Volume Senders\" (2 April 2025, updated 29 April): above 5,000 messages a day, SPF pass and DKIM pass and DMARC at least p=none aligned with one of them; non-compliant mail is refused with 550 5.7.515 from 5 May 2025",
        ["164.312(e)(1)"],
        "Make every sender of the domain pass both SPF and DKIM with DMARC alignment (the vendors listed first); Outlook.com refuses the mail that does not."
    ),
    check!(
        "BULK-003",
        "A sending address of an inventory vendor has no forward-confirmed reverse DNS",
        Medium,
        Moderate / Delivery,
        "Google Email sender guidelines (all senders: sending IPs must have valid forward and reverse DNS); RFC 8601 §2.7.3 (iprev)",
        ["164.312(e)(1)"],
        "Ask whoever runs the address (the vendor, or our own network team) to publish a PTR record naming a host whose A/AAAA record is that address; receivers that check reverse DNS junk or refuse its mail until then."
    ),
    check!(
        "RPT-009",
        "Receivers could not evaluate the domain's own SPF record",
        High,
        High / Delivery,
        "RFC 7208 §4.6.4 and §2.6.6–2.6.7 (permerror and temperror end the check without a result); RFC 9990 auth_results",
        ["164.312(e)(1)"],
        "Fix what makes the record fail at receivers (the domain's SPF findings say which: the lookup limit, void lookups, several records or a syntax error), then confirm in the next period's reports that the errors stopped. Until then the domain's mail passes DMARC only by aligned DKIM."
    ),
    check!(
        "RPT-010",
        "Vendor signatures with our DKIM key fail at receivers",
        Medium,
        Moderate / Delivery,
        "RFC 6376 §6 (a signature that does not verify is treated as absent); RFC 9990 dkim result",
        ["164.312(c)(1)", "164.312(e)(2)(i)"],
        "Have the vendor compare the key it signs with against the one published under the selector (or publish the key it gives you, or CNAME the selector to the vendor's own record); if only part of the mail fails, find what rewrites it after signing."
    ),
    check!(
        "VEN-001",
        "PHI vendor without a current BAA",
        Critical,
        High / Disclosure,
        "45 CFR 164.502(e) and 164.504(e); conduit exception covers mere couriers only (78 FR 5566)",
        [
            "164.308(b)(1)",
            "164.308(b)(3)",
            "164.314(a)(1)",
            "164.314(a)(2)",
            "Privacy 164.502(e)",
            "Privacy 164.504(e)",
            "Breach 164.402"
        ],
        "Execute (or renew) a business associate agreement before the vendor sends further PHI, or stop sending PHI through it."
    ),
    check!(
        "VEN-005",
        "Vendor's authorization published after it stopped sending",
        Medium,
        Moderate / Forgery,
        "RFC 9989 §7.1 (review SPF authorizations periodically and remove those no longer needed)",
        [
            "164.308(a)(1)(ii)(A)",
            "164.308(a)(1)(ii)(B)",
            "164.308(b)(1)",
            "164.316(b)(2)(iii)"
        ],
        "Remove the vendor's SPF include and revoke its DKIM selectors under our domains."
    ),
    check!(
        "VEN-006",
        "Sender seen in reports but absent from the inventory",
        High,
        High / Disclosure,
        "RFC 9989 §5.1.5 (third-party sending agreements)",
        ["164.308(a)(1)(ii)(A)", "164.308(b)(1)"],
        "Identify the service behind these sources. If it is a vendor, add it to the inventory (with PHI and BAA status); if not, treat it as spoofing."
    ),
    check!(
        "CHG-001",
        "DMARC policy weakened since the last period",
        High,
        Moderate / Forgery,
        "RFC 9989 §4.7; CISA BOD 18-01 (federal agencies; cited as reference)",
        [
            "164.308(a)(8)",
            "164.308(a)(1)(ii)(B)",
            "164.308(a)(5)(ii)(B)",
            "164.316(b)(2)(iii)"
        ],
        "Confirm the change was approved through change control; if not, restore the previous policy."
    ),
    check!(
        "CHG-002",
        "SPF weakened since the last period",
        High,
        High / Delivery,
        "RFC 7208 §4.6.4 and §5.1",
        ["164.308(a)(8)", "164.312(e)(1)"],
        "Review the SPF change: bring the lookup count back to 10 or fewer and restore the stricter `all` qualifier."
    ),
    check!(
        "CHG-003",
        "DKIM key not rotated",
        Medium,
        Low / KeyCompromise,
        "The organization's rotation window (policy.dkim_max_age_days) applies; M3AAWG DKIM Key Rotation BCP (2019) recommends rotating about every 6 months; NIST SP 800-177r1 §4.4 (key lifetime)",
        ["164.308(a)(1)(ii)(B)", "164.312(e)(2)(i)"],
        "Rotate the key: publish a new key under a new selector, switch signing, then revoke the old selector."
    ),
    check!(
        "CHG-004",
        "Record removed since the last period",
        High,
        Moderate / Forgery,
        "RFC 7208 §4.5 (no SPF record: result none); RFC 9989 §4.10 (no DMARC record: no policy applies); RFC 6376 §3.6.2.2 (no key: signatures cannot verify); RFC 8461 §3 (MTA-STS); RFC 8460 §3 (TLS-RPT); RFC 7505 §3 (null MX)",
        ["164.308(a)(8)", "164.312(b)"],
        "Confirm the removal was intended; restore the record if it was not."
    ),
    check!(
        "CHG-005",
        "New SPF include or DKIM selector with no inventory entry",
        Medium,
        Moderate / Forgery,
        "RFC 9989 §7.1 (review SPF authorizations periodically)",
        ["164.308(a)(1)(ii)(A)", "164.308(b)(1)"],
        "Identify the vendor behind the new authorization and add it to the inventory with its PHI and BAA status, or remove the authorization."
    ),
    check!(
        "SPF-007",
        "SPF record larger than 450 octets",
        Low,
        Low / Delivery,
        "RFC 7208 §3.4 (keep the answer small enough for UDP)",
        ["164.308(a)(1)(ii)(B)"],
        "Shorten the record (fewer ip4/ip6 terms, or move them to an included record) so the answer stays under 450 octets and is not truncated over UDP."
    ),
    check!(
        "DMARC-009",
        "External report destination has not authorized our reports",
        Medium,
        High / Blindness,
        "RFC 7489 §7.1; RFC 9990 §3 (verifying external destinations)",
        ["164.312(b)"],
        "Ask the report processor to publish `<our domain>._report._dmarc.<their host>` TXT \"v=DMARC1\" (or a wildcard), or send reports to an address in our own domain; until then receivers drop the reports."
    ),
    check!(
        "DMARC-010",
        "Failure reports (ruf) requested",
        High,
        Moderate / Disclosure,
        "RFC 9989 §10.2 and §11.6; RFC 9991 (failure reports carry message content)",
        ["164.308(b)(1)", "164.314(a)(1)", "Privacy 164.502(e)"],
        "Remove `ruf`, or point it at a mailbox we control and that is covered by our safeguards; if a third party receives it, a business associate agreement must cover it, because failure reports can contain PHI."
    ),
    // Not in CHECKS.md §1d yet (TLSRPT-001 is the record check): it reads the SMTP TLS
    // reports themselves. Its harm is Interception, as for the other transport checks: a
    // failed session either fell back to plaintext (no policy, or a policy in testing) or,
    // under an enforced policy, left the mail waiting and bouncing. The first exposes PHI in
    // transit, which is what §164.312(e)(1) guards; the second is Delivery, which the
    // receiving domain's role weighs as well (High for a domain that receives PHI), so one
    // harm rates both without guessing which one happened. It cites §164.312(e)(1) only: a
    // period without TLS reports tests nothing, so it must not mark §164.312(e)(2)(ii)
    // (encryption) as assessed with no findings.
    check!(
        "TLSRPT-002",
        "SMTP TLS reports show failed TLS sessions",
        High,
        High / Interception,
        "RFC 8460 §4.3 (result types: negotiation and policy failures) and §4.4 (failed-session counts per policy); RFC 8461 §5 (an enforced MTA-STS policy refuses delivery without valid TLS)",
        ["164.312(e)(1)"],
        "Fix what the result types name on the MX hosts listed: renew or replace an expired or untrusted certificate, make the certificate match the MX name, enable STARTTLS, and keep the MTA-STS policy (https://mta-sts.<domain>/.well-known/mta-sts.txt) or TLSA records reachable and matching the MX set; then check that the next reports show no failed sessions."
    ),
    check!(
        "VEN-002",
        "PHI vendor's sending addresses not authorized by SPF, and no aligned DKIM",
        High,
        High / Delivery,
        "RFC 9989 §5.1.1–5.1.2; RFC 7208 §4 (check_host evaluated over the snapshot)",
        ["164.312(e)(1)", "164.312(c)(1)"],
        "Add the vendor's SPF include (or its ranges) to the domain's SPF record, or have the vendor sign with DKIM under our domain (publish its selector, often as a CNAME); otherwise its PHI mail fails DMARC once the policy is enforced."
    ),
    // Transport security: what a sender meets when it delivers mail to our MX hosts.
    check!(
        "NET-001",
        "Transport probe could not reach the server: evidence incomplete",
        Medium,
        Moderate / Blindness,
        "RFC 3207 and RFC 8461 §3.3 (the probes a sender makes); a probe that could not connect says nothing about STARTTLS or the policy",
        ["164.308(a)(1)(ii)(A)", "164.312(e)(1)"],
        "Check that the host is up and reachable on the probed port from where mailproof runs (outbound port 25 is often blocked on office networks), then capture again; until a probe succeeds the transport checks for this host are indeterminate."
    ),
    check!(
        "CHG-006",
        "MTA-STS policy changed without a new id, or the MX set changed without the policy",
        Medium,
        Moderate / Interception,
        "RFC 8461 §3.1 (`id` MUST uniquely identify each policy instance) and §4.1 (every MX must match an mx line)",
        ["164.312(e)(1)"],
        "Change the `_mta-sts` TXT record's `id` whenever the policy file changes, and update the policy's `mx` lines (and then the id) in the same change as the MX records."
    ),
    check!(
        "TLS-001",
        "An MX host does not offer STARTTLS",
        Critical,
        High / Interception,
        "RFC 3207 (STARTTLS); CISA BOD 18-01 (STARTTLS within 90 days); Google sender guidelines (TLS for transmission)",
        ["164.312(e)(1)", "164.312(e)(2)(ii)"],
        "Enable STARTTLS on the MX host with a certificate for its name (Postfix: smtpd_tls_security_level = may and smtpd_tls_chain_files), so senders can encrypt mail to it."
    ),
    check!(
        "TLS-002",
        "MX host accepts SSLv3, TLS 1.0 or 1.1, RC4 or 3DES",
        High,
        Moderate / Interception,
        "CISA BOD 18-01 (disable SSLv2/v3, 3DES and RC4; a temporary 3DES exception for mail was granted on 20 Sep 2018); RFC 8996 (TLS 1.0 and 1.1 deprecated); RFC 7465 (RC4 prohibited). SSLv2 is not probed: no current server library can still speak it",
        ["164.312(e)(2)(ii)"],
        "Allow only TLS 1.2 and 1.3 with AEAD ciphers on the MX host (Postfix: smtpd_tls_protocols = >=TLSv1.2 and smtpd_tls_mandatory_protocols = >=TLSv1.2; remove RC4 and 3DES from the cipher lists), so an attacker on the path cannot push senders down to a breakable session."
    ),
    check!(
        "TLS-003",
        "MX certificate is expired, untrusted, or does not name the MX host",
        Medium,
        Moderate / Interception,
        "RFC 8461 §4 (policy validation needs a valid PKIX certificate); Google's MTA-STS requirements (TLS 1.2 or later, a CA-signed, matching, unexpired certificate)",
        ["164.312(e)(1)"],
        "Install a certificate from a public CA that names the MX host and is within its validity period, with the full chain; senders that validate (MTA-STS, DANE PKIX) refuse the host until then."
    ),
    check!(
        "STS-001",
        "No MTA-STS policy",
        Medium,
        Moderate / Interception,
        "RFC 8461 §3.1 and §3.2; NIST SP 800-177r1 §5 (MTA-STS and DANE protect against TLS downgrade)",
        ["164.312(e)(1)", "164.312(e)(2)(ii)"],
        "Publish `_mta-sts.<domain>` TXT `v=STSv1; id=<date>` and serve the policy at `https://mta-sts.<domain>/.well-known/mta-sts.txt` (start with mode: testing and a TLS-RPT address, then enforce)."
    ),
    check!(
        "STS-002",
        "MTA-STS policy does not enforce",
        Medium,
        Moderate / Interception,
        "RFC 8461 §5 (only mode enforce makes senders refuse delivery without validated TLS)",
        ["164.312(e)(2)(ii)"],
        "Once the TLS reports show no failures for a few weeks, change the policy to `mode: enforce`, then change the TXT record's `id`."
    ),
    check!(
        "STS-003",
        "MTA-STS policy cannot be fetched, is invalid, or does not cover every MX",
        High,
        Moderate / Interception,
        "RFC 8461 §3.2 (the policy), §3.3 (how senders fetch it) and §4.1 (MX host matching)",
        ["164.312(e)(1)"],
        "Serve the policy over HTTPS with a valid certificate for mta-sts.<domain>, status 200, Content-Type text/plain and no redirect, and list every MX host in its `mx` lines; then change the TXT record's `id`."
    ),
    check!(
        "STS-004",
        "MTA-STS max_age out of range",
        Low,
        Low / Hygiene,
        "RFC 8461 §3.2 (max_age at most 31557600; expected to be weeks or more; under one week is a tool heuristic)",
        ["164.312(e)(1)"],
        "Set `max_age` between 604800 (one week) and 31557600 seconds; 1209600 or more is common once the policy enforces."
    ),
    check!(
        "TLSRPT-001",
        "No TLS reporting (TLS-RPT) record",
        Low,
        Moderate / Blindness,
        "RFC 8460 §3 (senders report TLS failures only to a published rua)",
        ["164.308(a)(1)(ii)(D)", "164.312(b)"],
        "Publish `_smtp._tls.<domain>` TXT `v=TLSRPTv1; rua=mailto:<address>` so senders report failed TLS sessions to us; mailproof reads those reports."
    ),
    check!(
        "DANE-001",
        "TLSA record uses a usage senders should not rely on",
        Low,
        Low / Interception,
        "RFC 7672 §2.2 (DNSSEC) and §3.1.3 (usages PKIX-TA(0) and PKIX-EE(1) SHOULD NOT be used for SMTP)",
        ["164.312(e)(1)"],
        "Publish TLSA records with usage DANE-EE(3) selector 1 matching type 1 (or DANE-TA(2)) in a DNSSEC-signed zone."
    ),
    check!(
        "DANE-002",
        "TLSA records do not match the certificate the MX presents",
        High,
        Moderate / Delivery,
        "RFC 7672 §3.1 (a DANE sender refuses a host whose certificate matches no usable TLSA record)",
        ["164.312(e)(1)"],
        "Publish a TLSA record for the certificate the host now presents (and keep the old one until every resolver cache has expired) before each certificate or key rollover."
    ),
    check!(
        "SPF-008",
        "SPF authorizes an overly broad address block",
        Medium,
        Moderate / Forgery,
        "RFC 9989 §7.1 (review SPF authorizations carefully and periodically); the prefix limits are the tool's heuristic (policy.spf_min_ip4_prefix, policy.spf_min_ip6_prefix), not a normative number",
        ["164.308(a)(1)(ii)(A)", "164.312(e)(1)"],
        "Replace the broad term with the addresses that actually send (ask the vendor for its dedicated ranges or a per-customer include), so a stranger renting an address in the block cannot pass SPF as us."
    ),
    check!(
        "SPF-009",
        "SPF -all on a domain whose mail reaches receivers through forwarders",
        Info,
        Low / Hygiene,
        "RFC 9989 §7.1 (a receiver may reject on an SPF fail before DMARC runs, so such mail never reaches the reports and DKIM alignment cannot save it); M3AAWG prefers ~all under p=reject (unverified)",
        ["164.308(a)(1)(ii)(D)"],
        "No change is required. If forwarded or mailing-list mail matters, consider `~all` once DMARC enforces (p=quarantine or p=reject), so receivers that reject on SPF fail before DMARC leave the decision to DMARC and its DKIM alignment; keep signing every stream with aligned DKIM."
    ),
    // BIMI is brand presentation, not a safeguard of ePHI: no Security Rule standard is cited
    // (CHECKS.md "— (brand)"); `ids_unique_and_cited` allows this one entry an empty list.
    check!(
        "BIMI-001",
        "BIMI record published, but DMARC does not enforce enough for receivers to show the logo",
        Low,
        Moderate / Hygiene,
        "BIMI draft (draft-brand-indicators-for-message-identification-05), Introduction and Receiver Actions steps 7–9: receivers show the logo only under an enforcing DMARC policy (quarantine at 100% or reject, for the domain and its subdomains)",
        [],
        "Either raise DMARC to enforcement (p=quarantine without pct below 100, or p=reject, and sp not none), or remove the `default._bimi` record until then."
    ),
    check!(
        "VEN-003",
        "PHI vendor has no DKIM key under our domain",
        High,
        High / Delivery,
        "RFC 9989 §5.1.2 (send with an aligned DKIM domain); M3AAWG DKIM Key Rotation BCP (CNAME delegation of a vendor's selector)",
        ["164.312(c)(1)", "164.312(e)(2)(i)"],
        "Have the vendor sign with DKIM d= our domain: publish its selector under our domain (its public key, or a CNAME to the key it hosts), so its PHI mail passes DMARC without depending on SPF."
    ),
    check!(
        "VEN-004",
        "PHI vendor signs with a short or unrotated DKIM key",
        Medium,
        Low / KeyCompromise,
        "RFC 8301 §3.2 (keys SHOULD be at least 2048 bits); M3AAWG DKIM Key Rotation BCP (2019); the organization's policy (policy.min_dkim_bits, policy.dkim_max_age_days)",
        ["164.312(e)(2)(i)", "164.314(a)(1)"],
        "Ask the vendor, under its business associate agreement, to move to a 2048-bit key under a new selector and to rotate it within the organization's window; then revoke the old selector."
    ),
    check!(
        "VEN-007",
        "DMARC report processor is an unlisted third party, or receives failure reports without a BAA",
        Medium,
        Moderate / Disclosure,
        "RFC 9989 §10.2 (reports disclose the domain's mail flows; failure reports can carry message content); RFC 9991",
        ["164.308(b)(1)", "164.314(a)(1)"],
        "List the report processor in the vendor inventory with its PHI and BAA status; if it receives failure reports (ruf), put a business associate agreement in place or remove the ruf address."
    ),
    check!(
        "MX-001",
        "A domain that receives no mail has no MX and no null MX",
        Low,
        Low / Hygiene,
        "RFC 7505 §3–4 (null MX); M3AAWG Protecting Parked Domains BCP (2015)",
        ["164.308(a)(1)(ii)(B)"],
        "Publish a null MX (`<domain>. MX 0 .`) so senders know at once that the domain takes no mail."
    ),
    check!(
        "PARK-001",
        "Parked domain is not locked down",
        Medium,
        Moderate / Forgery,
        "M3AAWG Protecting Parked Domains BCP (2015); RFC 7505 (null MX); RFC 6376 §3.6.1 (an empty p= revokes a key)",
        ["164.308(a)(5)(ii)(B)", "164.308(a)(1)(ii)(B)"],
        "Publish the four parked-domain records: `v=spf1 -all`, `_dmarc` `v=DMARC1; p=reject;`, a null MX `MX 0 .` and `*._domainkey` `v=DKIM1; p=`."
    ),
];

/// Checks of the published catalog (CHECKS.md) that this version does not run yet. The report
/// names them, so their absence is never read as a clean result.
pub const NOT_YET_RUN: &[&str] = &[];

/// Checks that cite no HIPAA standard on purpose: CHECKS.md gives "— (brand)" for BIMI-001,
/// whose finding is about a logo receivers show, not about ePHI. An empty list keeps it out of
/// the control mapping instead of inventing a link; the PDF shows a dash.
pub const UNCITED: &[&str] = &["BIMI-001"];

/// Looks up a catalogued check; every ID used in code is listed above.
pub fn get(id: &str) -> Option<&'static Check> {
    CATALOG.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every check of the published catalog either runs or is named as not run: read from
    /// CHECKS.md beside the corpus (`MAILPROOF_CORPUS`), skipped with a note without it.
    #[test]
    fn every_published_check_runs_or_is_named_as_not_run() {
        let corpus =
            std::env::var("MAILPROOF_CORPUS").unwrap_or_else(|_| "../shared/corpus".into());
        let path = std::path::Path::new(&corpus).join("../CHECKS.md");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("{} not found: check skipped", path.display());
            return;
        };
        let published: std::collections::BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("| "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|id| {
                id.contains('-') && id.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            })
            .collect();
        assert!(
            published.len() > 50,
            "{} ids read from {}",
            published.len(),
            path.display()
        );
        for id in &published {
            let runs = CATALOG.iter().any(|c| c.id == *id);
            let named = NOT_YET_RUN.contains(id);
            assert!(runs != named, "{id}: runs {runs}, named as not run {named}");
        }
        for id in NOT_YET_RUN {
            assert!(published.contains(id), "{id} is not in CHECKS.md");
        }
    }

    #[test]
    fn ids_unique_and_cited() {
        let mut ids: Vec<_> = CATALOG.iter().map(|c| c.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        for c in CATALOG {
            assert_eq!(
                c.hipaa.is_empty(),
                UNCITED.contains(&c.id),
                "{}: only the checks in UNCITED may have no citation",
                c.id
            );
            for h in c.hipaa {
                assert!(
                    crate::assess::hipaa::lookup(h).is_some(),
                    "{} cites unknown {h}",
                    c.id
                );
            }
        }
    }
}
