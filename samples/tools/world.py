"""The Riverside Health System sample world, as data.

Everything the generator writes (zone files, DMARC aggregate reports) is derived from the
tables in this module, so the README, the zones and the reports cannot drift apart. Change the
world here, then run `python3 samples/tools/generate.py`.

All names end in `.example`; all addresses come from the documentation ranges
192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32.
"""

from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc

# Our domains (the config's [[domain]] tables).
WORKFORCE = "riversidehealth.example"
PATIENT = "myriversidechart.example"
MARKETING = "riversidecares.example"
PARKED = "riverside-health.example"
PARKED_PORTAL = "myriverside-chart.example"

OUR_DOMAINS = [WORKFORCE, PATIENT, MARKETING, PARKED, PARKED_PORTAL]

# Zone-file sets. Each is the DNS as it stood at the end of that month; the lead captures
# each one into a snapshot taken on the first day of the next month (see zones/README.md).
# 2025-09 is a year-old baseline (key ages); 2026-05 .. 2026-10 are six months of history.
DATES = ["2025-09", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
HISTORY_MONTHS = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]

# Moments inside October 2026 when things changed (UTC).
PATIENT_ENFORCE_AT = dt.datetime(2026, 10, 15, 0, 0, tzinfo=UTC)  # p=none -> quarantine; pct=50
MARKETING_RUA_REMOVED_AT = dt.datetime(2026, 10, 20, 0, 0, tzinfo=UTC)  # rua removed, sp weakened
SURVEY_INCLUDE_AT = dt.datetime(2026, 10, 30, 0, 0, tzinfo=UTC)  # include:spf.surveyspark.example
# 2-10 October: a record edit typed the patient domain's rua as …@riversidehealth.exmaple; the
# reports of those days went to a mailbox nobody reads (RPT-008). Both snapshots show the
# right address: the edit and its fix fall between them.
PATIENT_RUA_TYPO = (dt.datetime(2026, 10, 2, 0, 0, tzinfo=UTC), dt.datetime(2026, 10, 11, 0, 0, tzinfo=UTC))
# October: the old DNS host's secondary name server still serves the July zone (p=quarantine)
# for the workforce domain; comcast.net's resolver reached it (RPT-007).
STALE_SECONDARY = (dt.datetime(2026, 10, 1, 0, 0, tzinfo=UTC), dt.datetime(2026, 11, 1, 0, 0, tzinfo=UTC))

# The months before October (UTC). The story: in April 2026 the zones moved to a new DNS host.
# The import came from a stale export: the workforce SPF lost the relay's IPv6 range and ended
# in ~all, the patient domain lost its rua and TLS-RPT records, and the parked look-alike came
# over empty. The relay's IPv6 mail then failed DMARC under p=reject, so IT rolled the workforce
# policy back to p=none (the state at the end of May) and ramped it up again once fixed.
WORKFORCE_SPF_FIXED_AT = dt.datetime(2026, 6, 2, 0, 0, tzinfo=UTC)  # ip6 range back, -all
PATIENT_RUA_RESTORED_AT = dt.datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # reports start (DMARC-008)
PARKED_RESTORED_AT = dt.datetime(2026, 6, 2, 0, 0, tzinfo=UTC)  # SPF -all, p=reject, null MX
WORKFORCE_QUARANTINE_25_AT = dt.datetime(2026, 6, 10, 0, 0, tzinfo=UTC)  # p=quarantine; pct=25
PATIENT_TLSRPT_RESTORED_AT = dt.datetime(2026, 7, 6, 0, 0, tzinfo=UTC)  # _smtp._tls back
WORKFORCE_QUARANTINE_AT = dt.datetime(2026, 7, 8, 0, 0, tzinfo=UTC)  # p=quarantine (pct 100)
HELPDESK_PHISH = (dt.date(2026, 7, 13), dt.date(2026, 7, 17))  # password-expiry lure
PARKED_SECOND_DMARC_AT = dt.datetime(2026, 8, 4, 0, 0, tzinfo=UTC)  # registrar default p=none
WORKFORCE_REJECT_AT = dt.datetime(2026, 8, 12, 0, 0, tzinfo=UTC)  # p=reject; sp=none

# Each zone set is captured on the first day of the next month at 06:00 Chicago time (the
# cron run); the snapshot files in samples/snapshots/ are named after that instant (UTC).
SNAPSHOT_TAKEN_AT = {
    "2025-09": "2025-10-01T11:00:00Z",
    "2026-05": "2026-06-01T11:00:00Z",
    "2026-06": "2026-07-01T11:00:00Z",
    "2026-07": "2026-08-01T11:00:00Z",
    "2026-08": "2026-09-01T11:00:00Z",
    "2026-09": "2026-10-01T11:00:00Z",
    "2026-10": "2026-11-01T12:00:00Z",  # CST from 1 November
}
SNAPSHOTS = {d: f"{t[:10]}T{t[11:13]}{t[14:16]}{t[17:19]}Z" for d, t in SNAPSHOT_TAKEN_AT.items()}

# What changed when, May to October 2026 (UTC dates; the zones show the state at month end).
CHANGES = [
    dict(at="2026-04", domain="(all)", change="zones moved to a new DNS host from a stale export: "
         "workforce SPF without the relay's ip6 range and ending ~all, patient rua and TLS-RPT "
         "lost, parked look-alike empty; workforce DMARC rolled back to p=none after the relay's "
         "IPv6 mail was rejected (before the period; the May zones show the result)"),
    dict(at="2026-06-01", domain=PATIENT, change="rua restored: reports start (DMARC-008 resolved)"),
    dict(at="2026-06-02", domain=WORKFORCE, change="SPF: relay ip6 range restored, ~all -> -all"),
    dict(at="2026-06-02", domain=PARKED,
         change="v=spf1 -all, _dmarc p=reject with rua, null MX, revoked wildcard DKIM"),
    dict(at="2026-06-10", domain=WORKFORCE, change="p=none -> p=quarantine; pct=25"),
    dict(at="2026-07-06", domain=PATIENT, change="_smtp._tls TLS-RPT record restored"),
    dict(at="2026-07-08", domain=WORKFORCE, change="pct=25 removed: p=quarantine"),
    dict(at="2026-07-13", domain=WORKFORCE,
         change="13-17 July: password-expiry phishing from 198.51.100.231, 203.0.113.177, "
                "192.0.2.199 (quarantined)"),
    dict(at="2026-08-04", domain=PARKED,
         change="registrar default `v=DMARC1; p=none` added beside ours: two records, receivers "
                "stop reporting (DMARC-002)"),
    dict(at="2026-08-12", domain=WORKFORCE, change="p=quarantine -> p=reject; sp=none"),
    dict(at="2026-10-02", domain=PATIENT,
         change="2-10 October: rua typed as ...@riversidehealth.exmaple, reports lost (RPT-008)"),
    dict(at="2026-10", domain=WORKFORCE,
         change="the old DNS host's secondary still serves the July zone (p=quarantine); "
                "comcast.net reports it (RPT-007)"),
    dict(at="2026-10-15", domain=PATIENT, change="p=none -> p=quarantine; pct=50"),
    dict(at="2026-10-20", domain=MARKETING, change="rua removed, sp=quarantine -> sp=none"),
    dict(at="2026-10-30", domain=WORKFORCE, change="include:spf.surveyspark.example: 11 lookups"),
    dict(at="2026-10", domain=PATIENT, change="mychart key rotated; _smtp._tls removed; "
         "rua to an unlisted DMARC analytics trial (dmarc.inboxlens.example)"),
    dict(at="2026-10", domain=WORKFORCE,
         change="ClaimsLink's include authorizes a shared cloud /15 (198.18.0.0/15)"),
    dict(at="2026-10", domain=PARKED, change="null MX removed"),
]

NS_ADDR = "192.0.2.53"

# --------------------------------------------------------------------------------------------
# DKIM keys: (key file stem, algorithm, bits). Files live in samples/tools/keys/<stem>.pem.
# --------------------------------------------------------------------------------------------
KEYS = {
    "riversidehealth-itsm2025": ("rsa", 2048),
    "riversidehealth-hr2019": ("rsa", 1024),  # DKIM-003 (Workday-like HR vendor, never rotated)
    "riversidecares-donate2016": ("rsa", 512),  # DKIM-002 (abandoned donation platform)
    "myriversidechart-mychart-2025": ("rsa", 2048),  # published until the October rotation
    "myriversidechart-mychart-2026": ("rsa", 2048),  # new key, same selector, October 2026
    "myriversidechart-mychart-ed": ("ed25519", 256),
    "myriversidechart-rmd1": ("rsa", 2048),
    "m365-selector1-riversidehealth": ("rsa", 2048),
    "m365-selector2-riversidehealth": ("rsa", 2048),
    "newsletterhub-dkim2": ("rsa", 2048),
    "newsletterhub-dkim3": ("rsa", 2048),
    "paynotice-pn2024": ("rsa", 2048),
    "payrollplus-pp2024": ("rsa", 2048),
    "televisit-tv": ("rsa", 2048),
    "surveyspark-ss1": ("rsa", 2048),
    "donorcloud-dc1": ("rsa", 2048),
}


def spf_workforce(date: str) -> str:
    """Exactly 10 DNS-querying terms through September; 11 once SurveySpark is added.

    In May 2026 (after the DNS host move) the relay's IPv6 range is missing and it ends in ~all.
    """
    may26 = date == "2026-05"
    terms = [
        "v=spf1",
        "ip4:192.0.2.0/27",
        *([] if may26 else ["ip6:2001:db8:500::/48"]),
        "include:spf.m365mail.example",  # 2 (nested spfb)
        "include:_spf.itsmcloud.example",  # 4 (nested _netblocks -> _netblocks3, _netblocks2)
        "include:_spf.hrcloud.example",  # 1
        "include:_spf.payrollplus.example",  # 1
        "include:spf.esignmail.example",  # 1
        "include:_spf.claimslink.example",  # 1
    ]
    if date >= "2026-10":
        terms.append("include:spf.surveyspark.example")  # 11: SPF-003, CHG-002, CHG-005
    terms.append("~all" if may26 else "-all")
    return " ".join(terms)


def zones(date: str) -> dict[str, list[tuple[str, str, object]]]:
    """Records per zone origin for one date: (owner relative to origin, type, data).

    TXT data is a str (split into <=255-octet strings by the writer) or ("dkim", key stem).
    """
    oct26 = date >= "2026-10"
    baseline = date < "2026-01"
    may26 = date == "2026-05"
    z: dict[str, list[tuple[str, str, object]]] = {}

    # ---------------- riversidehealth.example (workforce) ----------------
    rua = "mailto:dmarc-rua@riversidehealth.example,mailto:ingest@dmarc.reportvault.example"
    # Rolled back to p=none in the spring of 2026, then ramped up again (see the moments above).
    workforce_policy = {"2026-05": "p=none", "2026-06": "p=quarantine; pct=25",
                        "2026-07": "p=quarantine"}.get(date, "p=reject; sp=none")
    z[WORKFORCE] = [
        ("@", "MX", "0 riversidehealth-example.mail.protection.m365mail.example."),
        ("@", "TXT", spf_workforce(date)),
        ("@", "TXT", "MS=ms48213977"),
        ("_dmarc", "TXT",
         f"v=DMARC1; {workforce_policy}; adkim=r; aspf=r; fo=1; rua={rua}; "
         "ruf=mailto:forensic@dmarc.reportvault.example"),
        ("selector1._domainkey", "CNAME",
         "selector1-riversidehealth-example._domainkey.riversidehealth.m365mail.example."),
        ("selector2._domainkey", "CNAME",
         "selector2-riversidehealth-example._domainkey.riversidehealth.m365mail.example."),
        ("itsm2025._domainkey", "TXT", ("dkim", "riversidehealth-itsm2025")),
        ("hr2019._domainkey", "TXT", ("dkim", "riversidehealth-hr2019")),
        ("_mta-sts", "TXT", "v=STSv1; id=20260301T120000"),
        # The policy host and the MX hosts are on loopback: `make sample-snapshots` starts
        # real servers there (samples/tls/README.md).
        ("mta-sts", "A", "127.0.1.80"),
        ("_smtp._tls", "TXT", "v=TLSRPTv1; rua=mailto:tlsrpt@riversidehealth.example"),
        ("www", "A", "192.0.2.80"),
        ("relay", "A", "192.0.2.25"),
        ("relay", "AAAA", "2001:db8:500::25"),
        # Authorizations for other domains' rua addresses pointing here (RFC 7489 7.1).
        (f"{PATIENT}._report._dmarc", "TXT", "v=DMARC1"),
        (f"{MARKETING}._report._dmarc", "TXT", "v=DMARC1"),
        (f"{PARKED}._report._dmarc", "TXT", "v=DMARC1"),
    ]

    # ---------------- myriversidechart.example (patient) ----------------
    if oct26:
        # The portal team added a DMARC analytics trial (InboxLens) with the October policy
        # change; the service is not in the vendor inventory: VEN-007.
        patient_dmarc = ("v=DMARC1; p=quarantine; pct=50; fo=1; "
                         "rua=mailto:dmarc-rua@riversidehealth.example,"
                         "mailto:rua@dmarc.inboxlens.example")
    elif may26:
        patient_dmarc = "v=DMARC1; p=none; fo=1"  # rua lost in the DNS host move: DMARC-008
    else:
        patient_dmarc = "v=DMARC1; p=none; fo=1; rua=mailto:dmarc-rua@riversidehealth.example"
    z[PATIENT] = [
        ("@", "MX", "0 myriversidechart-example.mail.protection.m365mail.example."),
        # Two SPF records: the reminders vendor's onboarding added a second one (SPF-002).
        ("@", "TXT", "v=spf1 include:spf.mychartmail.example include:spf.paynotice.example ~all"),
        ("@", "TXT", "v=spf1 include:_spf.remindly.example ~all"),
        ("_dmarc", "TXT", patient_dmarc),
        ("mychart._domainkey", "TXT",
         ("dkim", "myriversidechart-mychart-2026" if oct26 else "myriversidechart-mychart-2025")),
        ("rmd1._domainkey", "TXT", ("dkim", "myriversidechart-rmd1")),
        # tv1 (Televisit) is listed in the inventory but was never published: DKIM-001.
        # MAIL FROM domain of Televisit: exists (MX) but has no SPF record: SPF-001.
        ("notify", "MX", "10 bounce.televisit.example."),
        ("www", "A", "192.0.2.82"),
    ]
    if oct26:
        # MTA-STS rolled out in October in testing mode; its `mx` line names a host that is
        # not the MX (STS-002, STS-003).
        z[PATIENT] += [
            ("_mta-sts", "TXT", "v=STSv1; id=20261012T090000"),
            ("mta-sts", "A", "127.0.1.81"),
        ]
    if not baseline:
        z[PATIENT].append(("mychart-ed._domainkey", "TXT", ("dkim", "myriversidechart-mychart-ed")))
    if not oct26 and date not in ("2026-05", "2026-06"):
        # Lost in the April 2026 DNS host move, restored in July; deleted in October during a
        # DNS clean-up: CHG-004.
        z[PATIENT].append(
            ("_smtp._tls", "TXT", "v=TLSRPTv1; rua=mailto:tlsrpt@riversidehealth.example"))

    # ---------------- riversidecares.example (marketing) ----------------
    if oct26:
        marketing_dmarc = "v=DMARC1; p=none; sp=none"  # rua removed, sp weakened: CHG-001
    else:
        marketing_dmarc = ("v=DMARC1; p=none; sp=quarantine; "
                           "rua=mailto:rua-7f3k2@dmarc.reportvault.example,"
                           "mailto:dmarc-rua@riversidehealth.example")
    z[MARKETING] = [
        ("@", "MX", "0 riversidecares-example.mail.protection.m365mail.example."),
        # 3 void lookups (donate, events, lists do not exist), ptr, and ?all.
        ("@", "TXT",
         "v=spf1 include:servers.newsletterhub.example a:donate.riversidecares.example "
         "a:events.riversidecares.example mx:lists.riversidecares.example ptr ?all"),
        ("_dmarc", "TXT", marketing_dmarc),
        ("k2._domainkey", "CNAME", "dkim2.newsletterhub.example."),
        ("k3._domainkey", "CNAME", "dkim3.newsletterhub.example."),
        ("donate2016._domainkey", "TXT", ("dkim", "riversidecares-donate2016")),
        ("default._bimi", "TXT", "v=BIMI1; l=https://www.riversidecares.example/brand/logo.svg;"),
        ("www", "A", "192.0.2.81"),
    ]

    # ---------------- riverside-health.example (parked look-alike) ----------------
    z[PARKED] = [
        ("@", "TXT", "v=spf1 -all"),
        # The registrar's default record sits next to ours: two DMARC records, DMARC-002.
        ("_dmarc", "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc-rua@riversidehealth.example"),
        ("_dmarc", "TXT", "v=DMARC1; p=none"),
        ("*._domainkey", "TXT", "v=DKIM1; p="),
    ]
    if date in ("2026-06", "2026-07"):
        # Re-created by hand after the move; the registrar's default record came back in August.
        z[PARKED].remove(("_dmarc", "TXT", "v=DMARC1; p=none"))
    if may26:
        z[PARKED] = []  # came over empty from the DNS host move: SPF-001, DMARC-001, MX-001
    elif not oct26:
        z[PARKED].append(("@", "MX", "0 ."))  # null MX; removed in October: CHG-004, PARK-001

    # ---------------- myriverside-chart.example (parked, never configured) ----------------
    z[PARKED_PORTAL] = [("www", "A", "192.0.2.83")]

    # ---------------- vendor zones (fictional look-alikes) ----------------
    z["m365mail.example"] = [
        ("spf", "TXT", "v=spf1 ip4:203.0.113.0/26 ip6:2001:db8:365::/48 "
                       "include:spfb.m365mail.example -all"),
        ("spfb", "TXT", "v=spf1 ip4:203.0.113.64/27 -all"),
        ("selector1-riversidehealth-example._domainkey.riversidehealth", "TXT",
         ("dkim", "m365-selector1-riversidehealth")),
        ("selector2-riversidehealth-example._domainkey.riversidehealth", "TXT",
         ("dkim", "m365-selector2-riversidehealth")),
        ("riversidehealth-example.mail.protection", "A", "127.0.1.20"),
        ("myriversidechart-example.mail.protection", "A", "127.0.1.21"),
        ("riversidecares-example.mail.protection", "A", "127.0.1.22"),
        # DANE-EE over the MX certificate's public key (samples/tls/).
        ("_25._tcp.riversidehealth-example.mail.protection", "TLSA",
         "3 1 1 d8d6e202663dc10a140505e1e9f3a9e6daf25477462cd42b78787820b043e2d2"),
    ]
    z["mychartmail.example"] = [("spf", "TXT", "v=spf1 ip4:198.51.100.0/27 -all")]
    z["paynotice.example"] = [
        ("spf", "TXT", "v=spf1 ip4:198.51.100.160/28 -all"),
        ("bounces", "TXT", "v=spf1 ip4:198.51.100.160/28 -all"),
        ("pn2024._domainkey", "TXT", ("dkim", "paynotice-pn2024")),
    ]
    z["remindly.example"] = [
        ("_spf", "TXT", "v=spf1 ip4:203.0.113.96/28 -all"),
        ("bounce", "TXT", "v=spf1 include:_spf.remindly.example -all"),
    ]
    z["newsletterhub.example"] = [
        ("servers", "TXT", "v=spf1 ip4:198.51.100.128/27 -all"),
        ("mail", "TXT", "v=spf1 include:servers.newsletterhub.example -all"),
        ("dkim2", "TXT", ("dkim", "newsletterhub-dkim2")),
        # Standby key left in test mode (t=y): DKIM-005 for k3._domainkey.riversidecares.example.
        ("dkim3", "TXT", ("dkim-testing", "newsletterhub-dkim3")),
    ]
    z["itsmcloud.example"] = [
        ("_spf", "TXT", "v=spf1 include:_netblocks.itsmcloud.example "
                        "include:_netblocks2.itsmcloud.example -all"),
        ("_netblocks", "TXT", "v=spf1 ip4:198.51.100.64/28 include:_netblocks3.itsmcloud.example -all"),
        ("_netblocks2", "TXT", "v=spf1 ip4:198.51.100.88/29 ip6:2001:db8:5e::/48 -all"),
        ("_netblocks3", "TXT", "v=spf1 ip4:198.51.100.80/29 -all"),
    ]
    z["hrcloud.example"] = [("_spf", "TXT", "v=spf1 ip4:198.51.100.96/28 -all")]
    z["payrollplus.example"] = [
        ("_spf", "TXT", "v=spf1 ip4:198.51.100.112/28 -all"),
        ("pp2024._domainkey", "TXT", ("dkim", "payrollplus-pp2024")),
    ]
    z["esignmail.example"] = [("spf", "TXT", "v=spf1 ip4:198.51.100.176/28 -all")]
    # In October ClaimsLink moved its notices to a cloud mail service and its include now
    # authorizes that service's whole shared /15 as well: SPF-008 for the workforce domain.
    # 198.18.0.0/15 is the benchmarking range (RFC 2544): outside the documentation ranges,
    # but reserved, so no real host is named.
    z["claimslink.example"] = [
        ("_spf", "TXT", "v=spf1 ip4:198.51.100.192/29 ip4:198.18.0.0/15 -all" if oct26
         else "v=spf1 ip4:198.51.100.192/29 -all")]
    z["televisit.example"] = [
        ("@", "TXT", "v=spf1 ip4:203.0.113.128/28 -all"),
        ("tv._domainkey", "TXT", ("dkim", "televisit-tv")),
        ("bounce", "A", "203.0.113.130"),
    ]
    z["surveyspark.example"] = [
        ("spf", "TXT", "v=spf1 ip4:203.0.113.200/29 -all"),
        ("@", "TXT", "v=spf1 include:spf.surveyspark.example -all"),
        ("ss1._domainkey", "TXT", ("dkim", "surveyspark-ss1")),
        ("o1.mta", "A", "203.0.113.201"),
        ("o2.mta", "A", "203.0.113.202"),
    ]
    # Third-party DMARC report processor. It authorizes riversidecares.example only, so the
    # workforce domain's rua/ruf to it is unverified (DMARC-009).
    z["reportvault.example"] = [
        ("dmarc", "MX", "10 mx.reportvault.example."),
        ("mx", "A", "198.51.100.250"),
        (f"{MARKETING}._report._dmarc.dmarc", "TXT", "v=DMARC1"),
    ]
    if oct26:
        # Unlisted DMARC analytics service (VEN-007). It authorizes the patient domain's reports
        # and receives mail, so only the missing inventory entry is wrong.
        z["inboxlens.example"] = [
            ("dmarc", "MX", "10 mx.inboxlens.example."),
            ("mx", "A", "203.0.113.240"),
            (f"{PATIENT}._report._dmarc.dmarc", "TXT", "v=DMARC1"),
        ]
    z["donorcloud.example"] = [
        ("@", "TXT", "v=spf1 ip4:192.0.2.64/28 -all"),
        ("dc1._domainkey", "TXT", ("dkim", "donorcloud-dc1")),
    ]
    # Reverse DNS of report sources. Forwarders, the unlisted survey service and a spoofer
    # name themselves truthfully (forward-confirmed); two spoofers claim names they do not
    # control (Microsoft's relay name, a payroll look-alike), which forward DNS does not
    # confirm, so the assessment must not believe them.
    z["100.51.198.in-addr.arpa"] = [
        ("240", "PTR", "fwd1.alumni-forward.example."),
        ("213", "PTR", "out-7.mail.protection.m365mail.example."),
    ]
    z["2.0.192.in-addr.arpa"] = [
        ("160", "PTR", "lists.supportgroups.example."),
        ("147", "PTR", "smtp.payroll-verify.example."),
    ]
    z["113.0.203.in-addr.arpa"] = [
        ("201", "PTR", "o1.mta.surveyspark.example."),
        ("202", "PTR", "o2.mta.surveyspark.example."),
        ("250", "PTR", "mailer.secure-payportal.example."),
    ]
    z["alumni-forward.example"] = [("fwd1", "A", "198.51.100.240")]
    z["supportgroups.example"] = [("lists", "A", "192.0.2.160")]
    z["secure-payportal.example"] = [("mailer", "A", "203.0.113.250")]
    # Served but empty, so those lookups end in NXDOMAIN, as on the internet.
    z["payroll-verify.example"] = []
    z["8.b.d.0.1.0.0.2.ip6.arpa"] = []
    if oct26:
        add_sender_reverse_dns(z)
    return z


# Reverse DNS of the inventory's sending addresses (BULK-003), in the October zone set: the
# first snapshot that asks for it. Each name is forward-confirmed, except ClaimsLink's address
# (no PTR at all) and PayNotice's second MTA (a PTR naming a host that does not exist).
SENDER_HOSTS = {
    "Microsoft 365": ("m365mail.example", "o{n}.mail.protection"),
    "Riverside Health IT on-premises relay": None,  # relay.riversidehealth.example exists
    "ServiceNow": ("itsmcloud.example", "smtp{n}"),
    "Workday": ("hrcloud.example", "mx{n}"),
    "ADP": ("payrollplus.example", "out{n}"),
    "Epic MyChart": ("mychartmail.example", "mta{n}"),
    "Remindly": ("remindly.example", "mta{n}"),
    "PayNotice": ("paynotice.example", "mta{n}"),
    "Televisit": ("televisit.example", "mail{n}"),
    "NewsletterHub": ("newsletterhub.example", "send{n}"),
    "DonorCloud": ("donorcloud.example", "mx{n}"),
}
NO_PTR = {"198.51.100.194"}  # ClaimsLink
PTR_NOT_CONFIRMED = {"198.51.100.166"}  # PayNotice: mta166.paynotice.example has no address


def add_sender_reverse_dns(z: dict) -> None:
    import ipaddress
    reverse_zones = [o for o in z if o.endswith(".arpa")]
    seen = set()
    for st in STREAMS:
        vendor = st.get("vendor")
        if vendor not in SENDER_HOSTS:
            continue
        for ip in st["ips"]:
            if ip in seen or ip in NO_PTR:
                continue
            seen.add(ip)
            addr = ipaddress.ip_address(ip)
            n = format(int(addr) & 0xFFFF, "x") if addr.version == 6 else ip.rsplit(".", 1)[1]
            host = SENDER_HOSTS[vendor]
            if host is None:
                fqdn = f"relay.{WORKFORCE}"
            else:
                zone, pattern = host
                label = pattern.format(n=n)
                fqdn = f"{label}.{zone}"
                if ip not in PTR_NOT_CONFIRMED:
                    z[zone].append((label, "AAAA" if addr.version == 6 else "A", ip))
            rev = addr.reverse_pointer
            origin = next(o for o in reverse_zones if rev.endswith("." + o))
            z[origin].append((rev[: -len(origin) - 1], "PTR", fqdn + "."))


# --------------------------------------------------------------------------------------------
# Mail streams seen in the aggregate reports (October 2026, and May to September 2026).
# --------------------------------------------------------------------------------------------
# Each stream: header_from, source IPs, envelope_from, DKIM signatures (domain, selector,
# result), SPF result for the envelope_from, typical messages/day (all receivers together),
# the days it is active, and an optional override reason for failing rows.
# `spf` is what the receiver's SPF check returned for envelope_from ("auto" means "pass"). The
# generator overrides it with "permerror" where the published SPF is broken: the patient
# domain always (two records, SPF-002), the workforce domain from SURVEY_INCLUDE_AT (11
# lookups, SPF-003). The marketing domain's own MAIL FROM gets "permerror" too: its record
# makes 3 void lookups before reaching ?all (SPF-004; RFC 7208 4.6.4).

def every_day(_d: dt.date) -> bool:
    return True


def weekdays(d: dt.date) -> bool:
    return d.weekday() < 5


def days(first: tuple[int, int], last: tuple[int, int]):
    a = dt.date(2026, *first)
    b = dt.date(2026, *last)
    return lambda d: a <= d <= b


def throwaway_identity(d: dt.date) -> dict:
    """The spoofer's domain of the day: a new registrable domain each day."""
    name = f"secure-payportal-{d.strftime('%m%d')}.example"
    return dict(envelope_from=f"mailer.{name}", dkim=[(name, "s1", "pass")])


STREAMS = [
    # ---- workforce ----
    dict(id="m365", vendor="Microsoft 365", header_from=WORKFORCE,
         ips=["203.0.113.14", "203.0.113.15", "203.0.113.71", "2001:db8:365::1a"],
         envelope_from=WORKFORCE, spf="auto",
         dkim=[(WORKFORCE, "selector1", "pass")], per_day=2600, active=weekdays,
         weekend_factor=0.25),
    dict(id="relay", vendor="Riverside Health IT on-premises relay", header_from=WORKFORCE,
         ips=["192.0.2.25", "2001:db8:500::25"], envelope_from=WORKFORCE, spf="auto",
         dkim=[], per_day=140, active=every_day),
    dict(id="itsm", vendor="ServiceNow", header_from=WORKFORCE,
         ips=["198.51.100.70", "198.51.100.83"], envelope_from=WORKFORCE, spf="auto",
         dkim=[(WORKFORCE, "itsm2025", "pass")], per_day=210, active=weekdays),
    dict(id="hr", vendor="Workday", header_from=WORKFORCE, ips=["198.51.100.101"],
         envelope_from=WORKFORCE, spf="auto", dkim=[(WORKFORCE, "hr2019", "pass")],
         per_day=60, active=weekdays),
    dict(id="payroll", vendor="ADP", header_from=WORKFORCE, ips=["198.51.100.117"],
         envelope_from=WORKFORCE, spf="auto",
         dkim=[("payrollplus.example", "pp2024", "pass")], per_day=1900,
         # Paydays: every other Friday (9 and 23 Oct; 25 Sep, 11 Sep, … back to 8 May).
         active=lambda d: (d - dt.date(2026, 10, 9)).days % 14 == 0),
    dict(id="claims", vendor="ClaimsLink", header_from=WORKFORCE, ips=["198.51.100.194"],
         envelope_from=WORKFORCE, spf="auto", dkim=[], per_day=35, active=weekdays),
    dict(id="survey", vendor=None, header_from=WORKFORCE, ips=["203.0.113.201", "203.0.113.202"],
         envelope_from=WORKFORCE, spf="auto",
         dkim=[("surveyspark.example", "ss1", "pass")], per_day=900,
         active=lambda d: d >= SURVEY_INCLUDE_AT.date()),
    dict(id="fwd-workforce", vendor=None, header_from=WORKFORCE, ips=["198.51.100.240"],
         envelope_from=WORKFORCE, spf="fail", dkim=[(WORKFORCE, "selector1", "pass")],
         per_day=25, active=every_day, reason=("forwarded", "alumni mail forwarding")),
    dict(id="spoof-payroll", vendor=None, header_from=WORKFORCE,
         ips=["192.0.2.147", "198.51.100.213", "2001:db8:bad:1::25"],
         envelope_from=WORKFORCE, spf="fail", dkim=[], per_day=420,
         active=days((10, 12), (10, 16))),
    # A spoofer that registers a throwaway domain a day and authenticates as it (SPF and DKIM
    # pass for that domain): the rotation, not the passing, tells it from a service (RPT-001).
    dict(id="spoof-noise-workforce", vendor=None, header_from=WORKFORCE, ips=["203.0.113.250"],
         envelope_from="mailer.secure-payportal.example", spf="pass",
         dkim=[("secure-payportal.example", "s1", "pass")], per_day=6, active=every_day,
         rotate=throwaway_identity),
    # July 2026 only: a "your password expires today" lure aimed at staff, quarantined under the
    # then p=quarantine.
    dict(id="spoof-helpdesk", vendor=None, header_from=WORKFORCE,
         ips=["198.51.100.231", "203.0.113.177", "192.0.2.199"],
         envelope_from=WORKFORCE, spf="fail", dkim=[], per_day=380,
         active=lambda d: HELPDESK_PHISH[0] <= d <= HELPDESK_PHISH[1]),
    # ---- patient ----
    dict(id="mychart", vendor="Epic MyChart", header_from=PATIENT,
         ips=["198.51.100.5", "198.51.100.6", "198.51.100.19"], envelope_from=PATIENT,
         spf="auto", dkim=[(PATIENT, "mychart", "pass"), (PATIENT, "mychart-ed", "pass")],
         per_day=5200, active=every_day),
    dict(id="reminders", vendor="Remindly", header_from=PATIENT, ips=["203.0.113.99", "203.0.113.100"],
         envelope_from="bounce.remindly.example", spf="pass",
         dkim=[(PATIENT, "rmd1", "pass")], per_day=1400, active=every_day),
    # From 19 October Remindly's new link tracking rewrites reminders after they are signed:
    # about one in twenty-five now fails rmd1 and, its MAIL FROM being Remindly's, DMARC too
    # (RPT-010; grouped with the rmd1 key's cause).
    dict(id="reminders-altered", vendor="Remindly", header_from=PATIENT,
         ips=["203.0.113.99", "203.0.113.100"], envelope_from="bounce.remindly.example",
         spf="pass", dkim=[(PATIENT, "rmd1", "fail")], per_day=60,
         active=lambda d: d >= dt.date(2026, 10, 19)),
    dict(id="billing", vendor="PayNotice", header_from=PATIENT, ips=["198.51.100.165", "198.51.100.166"],
         envelope_from="bounces.paynotice.example", spf="pass",
         dkim=[("paynotice.example", "pn2024", "pass")], per_day=700, active=weekdays),
    dict(id="telehealth", vendor="Televisit", header_from=PATIENT, ips=["203.0.113.131"],
         envelope_from=f"notify.{PATIENT}", spf="none",
         dkim=[("televisit.example", "tv", "pass")], per_day=160, active=weekdays),
    # A patient support-group list: it alters the message (our signature breaks) and sends it
    # from its own envelope, which passes SPF for the list's domain: a forwarder, not spoofing.
    dict(id="fwd-list", vendor=None, header_from=PATIENT, ips=["192.0.2.160"],
         envelope_from="lists.supportgroups.example", spf="pass",
         dkim=[(PATIENT, "mychart", "fail")],
         per_day=12, active=every_day, reason=("mailing_list", "patient support group list")),
    # October only: the cardiology department's patient-newsletter service, signed up without
    # IT. It signs as itself and bounces to its own domain, every weekday from 5 October: not
    # in the inventory, not in our SPF, a possible business associate without a BAA (VEN-006).
    dict(id="dept-newsletter", vendor=None, header_from=PATIENT,
         ips=["203.0.113.226", "203.0.113.227"], envelope_from="bounce.mailsprout.example",
         spf="pass", dkim=[("mailsprout.example", "ms1", "pass")], per_day=140,
         active=lambda d: d >= dt.date(2026, 10, 5) and d.weekday() < 5),
    # 7 October only: a conference-registration service signs as itself once; one day cannot
    # tell a service from a one-off (unknown, no finding).
    dict(id="one-off", vendor=None, header_from=WORKFORCE, ips=["192.0.2.241"],
         envelope_from="bounce.regdesk.example", spf="pass",
         dkim=[("regdesk.example", "rd1", "pass")], per_day=60,
         active=lambda d: d == dt.date(2026, 10, 7)),
    dict(id="spoof-results", vendor=None, header_from=PATIENT,
         ips=["203.0.113.166", "203.0.113.181", "198.51.100.222", "192.0.2.188"],
         envelope_from="secure-notice.example", spf="pass", dkim=[], per_day=650,
         active=lambda d: dt.date(2026, 10, 3) <= d <= dt.date(2026, 10, 9)
         or dt.date(2026, 10, 21) <= d <= dt.date(2026, 10, 25)),
    # ---- marketing ----
    dict(id="newsletter", vendor="NewsletterHub", header_from=MARKETING,
         ips=["198.51.100.140", "198.51.100.141"], envelope_from="mail.newsletterhub.example",
         # A health-education campaign to about 30,000 subscribers: Gmail and Outlook.com each
         # get more than 5,000 a day, so the bulk-sender rules apply (BULK-001, BULK-002).
         spf="pass", dkim=[(MARKETING, "k2", "pass")], per_day=30000,
         active=lambda d: d.weekday() == 1 or d.day == 1),
    dict(id="donor", vendor="DonorCloud", header_from=MARKETING, ips=["192.0.2.70"],
         envelope_from=MARKETING, spf="permerror", dkim=[("donorcloud.example", "dc1", "pass")],
         per_day=90, active=weekdays),
    dict(id="spoof-marketing", vendor=None, header_from=MARKETING, ips=["192.0.2.233"],
         envelope_from=MARKETING, spf="permerror", dkim=[], per_day=20, active=every_day),
    # ---- parked look-alike (reports only while it publishes one valid DMARC record with rua:
    # 2 June to 3 August 2026) ----
    dict(id="spoof-parked", vendor=None, header_from=PARKED, ips=["203.0.113.214", "192.0.2.219"],
         envelope_from=PARKED, spf="fail", dkim=[], per_day=24, active=every_day),
]
