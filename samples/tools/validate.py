#!/usr/bin/env python3
"""Sanity checks for the sample world: run after generate.py; exits 1 on the first class of
problem found, printing every problem and a short inventory of what the samples contain.

    python3 samples/tools/validate.py

Independent of the Rust code on purpose: it re-derives the facts the README promises (SPF
lookup counts, DKIM key sizes, report counts) from the files themselves.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import email
import gzip
import io
import ipaddress
import json
import re
import sys
import zipfile
from pathlib import Path
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

sys.dont_write_bytecode = True  # keep samples/tools free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
import world as W  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent
DOC_NETS = [ipaddress.ip_network(n) for n in
            ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
problems: list[str] = []


def bad(msg: str) -> None:
    problems.append(msg)


def doc_ip(text: str) -> bool:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return any(net.version == d.version and net.subnet_of(d) for d in DOC_NETS)


# ------------------------------------------------------------------------------------------
# Zones
# ------------------------------------------------------------------------------------------

def load_zones(date: str) -> dict[tuple[str, str], list[str]]:
    recs: dict[tuple[str, str], list[str]] = {}
    for f in sorted((SAMPLES / "zones" / date).glob("*.zone")):
        origin = f.name[:-len(".zone")]
        for n, line in enumerate(f.read_text(encoding="ascii").splitlines(), 1):
            if not line or line.startswith((";", "$")):
                continue
            owner, cls, rtype, rdata = line.split("\t", 3)
            where = f"{f.relative_to(SAMPLES)}:{n}"
            if cls != "IN":
                bad(f"{where}: class {cls}")
            name = origin if owner == "@" else f"{owner}.{origin}"
            if rtype == "TXT":
                if "(" in rdata:
                    bad(f"{where}: parenthesized TXT (hickory rejects it)")
                parts = re.findall(r'"((?:[^"\\]|\\.)*)"', rdata)
                if any(len(p.encode()) > 255 for p in parts):
                    bad(f"{where}: TXT string over 255 octets")
                rdata = "".join(parts)
            elif rtype in ("A", "AAAA") and not doc_ip(rdata):
                bad(f"{where}: {rdata} is not a documentation address")
            elif rtype in ("CNAME", "MX", "NS", "PTR"):
                target = rdata.split()[-1].rstrip(".")
                # A reverse zone's own name server is named inside that zone.
                if rtype == "NS" and origin.endswith((".in-addr.arpa", ".ip6.arpa")):
                    continue
                if target and not target.endswith(".example"):
                    bad(f"{where}: {target} is not under .example")
            recs.setdefault((name.lower(), rtype), []).append(rdata)
    return recs


def spf_count(recs, domain: str, seen=None) -> tuple[int, int]:
    """(DNS-querying terms, void lookups), recursively, the way RFC 7208 4.6.4 counts them."""
    seen = seen or set()
    spf = [t for t in recs.get((domain, "TXT"), []) if t.lower().startswith("v=spf1 ")]
    if len(spf) != 1:
        return (0, 0)
    lookups = voids = 0
    for term in spf[0].split()[1:]:
        mech = term.lstrip("+-~?")
        kind, _, arg = mech.partition(":")
        if kind in ("ip4", "ip6"):
            if not doc_ip(arg):
                bad(f"SPF {domain}: {arg} is not a documentation range")
            continue
        if kind in ("include", "redirect"):
            lookups += 1
            if not arg.endswith(".example"):
                bad(f"SPF {domain}: {arg} not under .example")
            if arg not in seen:
                seen.add(arg)
                a, v = spf_count(recs, arg, seen)
                lookups, voids = lookups + a, voids + v
        elif kind in ("a", "mx", "ptr", "exists"):
            lookups += 1
            target = arg or domain
            rt = {"a": "A", "mx": "MX"}.get(kind)
            if rt and not recs.get((target, rt)):
                voids += 1
    return lookups, voids


def dkim_bits(recs, name: str) -> str:
    seen = []
    while (name, "CNAME") in recs:
        name = recs[(name, "CNAME")][0].rstrip(".").lower()
        seen.append(name)
    txt = recs.get((name, "TXT"))
    if not txt:
        return "missing"
    tags = dict(t.strip().split("=", 1) for t in txt[0].split(";") if "=" in t)
    p = tags.get("p", "")
    if not p:
        return "revoked"
    raw = base64.b64decode(p)
    via = f" via CNAME {seen[-1]}" if seen else ""
    flags = " t=y" if tags.get("t") == "y" else ""
    via += flags
    if tags.get("k") == "ed25519":
        return f"ed25519 ({len(raw)} bytes){via}"
    key = load_der_public_key(raw)
    assert isinstance(key, rsa.RSAPublicKey)
    return f"rsa {key.key_size}{via} p#{p[-10:]}"


def check_zones() -> None:
    summary = {}
    for date in W.DATES:
        recs = load_zones(date)
        summary[date] = recs
        for d in W.OUR_DOMAINS:
            if (d, "SOA") not in recs or (d, "NS") not in recs:
                bad(f"{date}: {d} has no SOA/NS")
    s, o = summary["2026-09"], summary["2026-10"]
    expect = [
        (spf_count(s, W.WORKFORCE)[0], 10, "workforce SPF lookups in 2026-09"),
        (spf_count(o, W.WORKFORCE)[0], 11, "workforce SPF lookups in 2026-10"),
        (spf_count(o, W.MARKETING)[1], 3, "marketing SPF void lookups"),
        (len([t for t in o[(W.PATIENT, "TXT")] if t.startswith("v=spf1")]), 2,
         "patient SPF records"),
        (len(o[("_dmarc." + W.PARKED, "TXT")]), 2, "parked DMARC records"),
        (int((W.PARKED, "MX") in s), 1, "parked null MX in 2026-09"),
        (int((W.PARKED, "MX") in o), 0, "parked null MX in 2026-10"),
    ]
    for got, want, what in expect:
        if got != want:
            bad(f"{what}: {got}, expected {want}")
    print("DKIM keys (2026-09 -> 2026-10):")
    for d, sels in [(W.WORKFORCE, ["selector1", "selector2", "itsm2025", "hr2019"]),
                    (W.PATIENT, ["mychart", "mychart-ed", "rmd1", "tv1"]),
                    (W.MARKETING, ["k2", "k3", "donate2016"])]:
        for sel in sels:
            n = f"{sel}._domainkey.{d}"
            print(f"  {n}: {dkim_bits(s, n)} -> {dkim_bits(o, n)}")
    for d in W.OUR_DOMAINS:
        print(f"  {d} SPF lookups/voids: 2026-09 {spf_count(s, d)}, 2026-10 {spf_count(o, d)}")


def dmarc_tags(recs, domain: str) -> list[dict]:
    """Every v=DMARC1 record at _dmarc.<domain>, as tag dicts."""
    out = []
    for t in recs.get((f"_dmarc.{domain}", "TXT"), []):
        if t.startswith("v=DMARC1"):
            out.append({k.strip(): v.strip() for k, v in
                        (x.split("=", 1) for x in t.split(";") if "=" in x)})
    return out


# What the README promises month by month (zones/README.md, "What changes when"). Written out
# here rather than read from world.py, so a slip in the world shows up as a difference.
TIMELINE = {
    #          workforce p/pct/sp          SPF all, relay ip6   patient rua, TLS-RPT  parked DMARC records, SPF, null MX
    "2025-09": (("reject", None, "none"), ("-all", True), (True, True), (2, True, True)),
    "2026-05": (("none", None, None), ("~all", False), (False, False), (0, False, False)),
    "2026-06": (("quarantine", "25", None), ("-all", True), (True, False), (1, True, True)),
    "2026-07": (("quarantine", None, None), ("-all", True), (True, True), (1, True, True)),
    "2026-08": (("reject", None, "none"), ("-all", True), (True, True), (2, True, True)),
    "2026-09": (("reject", None, "none"), ("-all", True), (True, True), (2, True, True)),
    "2026-10": (("reject", None, "none"), ("-all", True), (True, False), (2, True, False)),
}


def check_zone_history() -> None:
    if sorted(TIMELINE) != sorted(W.DATES):
        bad(f"zone dates {W.DATES} != the validated timeline {sorted(TIMELINE)}")
    keys: dict[str, dict[str, str]] = {}
    print("DMARC timeline (end of month):")
    for date in sorted(TIMELINE):
        recs = load_zones(date)
        (p, pct, sp), (all_term, ip6), (rua, tlsrpt), (n_parked, parked_spf, null_mx) = TIMELINE[date]
        (w,) = dmarc_tags(recs, W.WORKFORCE) or [{}]
        got = (w.get("p"), w.get("pct"), w.get("sp"))
        if got != (p, pct, sp):
            bad(f"{date}: workforce DMARC p/pct/sp {got}, expected {(p, pct, sp)}")
        spf = [t for t in recs.get((W.WORKFORCE, "TXT"), []) if t.startswith("v=spf1")]
        if len(spf) != 1 or spf[0].split()[-1] != all_term or \
                ("ip6:2001:db8:500::/48" in spf[0]) != ip6:
            bad(f"{date}: workforce SPF {spf}, expected {all_term} and relay ip6 {ip6}")
        if spf_count(recs, W.WORKFORCE)[0] != (11 if date >= "2026-10" else 10):
            bad(f"{date}: workforce SPF lookups {spf_count(recs, W.WORKFORCE)[0]}")
        (pt,) = dmarc_tags(recs, W.PATIENT)
        if ("rua" in pt) != rua:
            bad(f"{date}: patient rua present {('rua' in pt)}, expected {rua}")
        if ((f"_smtp._tls.{W.PATIENT}", "TXT") in recs) != tlsrpt:
            bad(f"{date}: patient TLS-RPT present != {tlsrpt}")
        pk = dmarc_tags(recs, W.PARKED)
        if len(pk) != n_parked or (n_parked and pk[0].get("p") != "reject"):
            bad(f"{date}: parked DMARC records {pk}, expected {n_parked} (first p=reject)")
        if ((W.PARKED, "TXT") in recs) != parked_spf or ((W.PARKED, "MX") in recs) != null_mx:
            bad(f"{date}: parked SPF/null MX presence differs from {parked_spf}/{null_mx}")
        if dmarc_tags(recs, W.PARKED_PORTAL):
            bad(f"{date}: {W.PARKED_PORTAL} has a DMARC record")
        mk = dmarc_tags(recs, W.MARKETING)
        print(f"  {date}: workforce p={w.get('p')} pct={w.get('pct')} sp={w.get('sp')} "
              f"spf {all_term}; patient p={pt.get('p')} pct={pt.get('pct')} rua={'rua' in pt}; "
              f"marketing p={mk[0].get('p')} sp={mk[0].get('sp')} rua={'rua' in mk[0]}; "
              f"parked {len(pk)} record(s)")
        for d, sels in [(W.WORKFORCE, ["selector1", "selector2", "itsm2025", "hr2019"]),
                        (W.PATIENT, ["mychart", "mychart-ed", "rmd1"]),
                        (W.MARKETING, ["k2", "k3", "donate2016"])]:
            for sel in sels:
                keys.setdefault(f"{sel}._domainkey.{d}", {})[date] = dkim_bits(recs, f"{sel}._domainkey.{d}")
    # Key ages (CHG-003) walk back through every snapshot: no key may change before October,
    # and none may be missing after the baseline (mychart-ed was added after 2025-09).
    for name, by_date in keys.items():
        before = {v for d, v in by_date.items() if "2026-05" <= d <= "2026-09"}
        if len(before) != 1 or "missing" in before:
            bad(f"{name}: DKIM key differs or is missing between 2026-05 and 2026-09: {before}")
        if not name.startswith("mychart-ed.") and by_date["2025-09"] not in before:
            bad(f"{name}: key changed between 2025-09 and 2026-05")
        rotated = by_date["2026-10"] not in before
        if rotated != name.startswith("mychart._domainkey"):
            bad(f"{name}: rotated in October = {rotated}")


# ------------------------------------------------------------------------------------------
# Reports
# ------------------------------------------------------------------------------------------

def open_report(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            (name,) = z.namelist()
            return z.read(name)
    if path.suffix == ".eml":
        msg = email.message_from_bytes(data)
        subject = msg["Subject"]
        if not re.match(r"Report Domain: \S+ Submitter: .+ Report-ID: <\S+>$", subject):
            raise ValueError(f"odd subject {subject!r}")
        for part in msg.walk():
            if part.get_content_disposition() == "attachment":
                return open_report_bytes(part.get_payload(decode=True))
        raise ValueError("no attachment")
    return data


def open_report_bytes(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        (name,) = z.namelist()
        return z.read(name)


def check_reports() -> None:
    manifest = json.loads((SAMPLES / "expected" / "reports.json").read_text())
    by_file = {m["file"]: m for m in manifest["reports"]}
    rejected = {r["file"] for r in manifest["rejected"]}
    files = sorted(p for p in (SAMPLES / "reports").rglob("*") if p.is_file())
    orgs, forms, ns9990 = set(), {}, 0
    for p in files:
        rel = str(p.relative_to(SAMPLES))
        try:
            xml = open_report(p)
            root = ET.fromstring(xml)
        except Exception as e:  # noqa: BLE001 - we want every failure listed
            if rel not in rejected:
                bad(f"{rel}: unreadable: {e}")
            continue
        if rel in rejected:
            bad(f"{rel}: meant to be broken but parses")
            continue
        ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
        q = (lambda t: f"{{{ns}}}{t}") if ns else (lambda t: t)
        ns9990 += ns == "urn:ietf:params:xml:ns:dmarc-2.0"
        md = root.find(q("report_metadata"))
        records = root.findall(q("record"))
        messages = sum(int(r.find(f"{q('row')}/{q('count')}").text) for r in records)
        m = by_file.get(rel)
        if m is None:
            bad(f"{rel}: not in expected/reports.json")
            continue
        got = (md.find(q("report_id")).text, len(records), messages)
        if got != (m["report_id"], m["records"], m["messages"]):
            bad(f"{rel}: {got} != manifest")
        orgs.add(md.find(q("org_name")).text)
        suffix = "".join(p.suffixes[-2:]) if p.name.endswith(".xml.gz") else p.suffix
        forms[suffix] = forms.get(suffix, 0) + 1
        for r in records:
            ip = r.find(f"{q('row')}/{q('source_ip')}").text
            if not doc_ip(ip):
                bad(f"{rel}: source_ip {ip} not a documentation address")
    size = sum(p.stat().st_size for p in files)
    t = manifest["totals"]
    print(f"reports: {len(files)} files, {size} bytes, reporters {sorted(orgs)}, forms {forms}, "
          f"RFC 9990 namespace {ns9990}, duplicates {t['duplicates']}, "
          f"unique {t['unique_reports']}, counted in Chicago October {t['counted_in_october_chicago']}")
    if size > 2_000_000:
        bad(f"reports are {size} bytes (> 2 MB)")
    if len(orgs) < 5:
        bad("fewer than 5 reporters")


# ------------------------------------------------------------------------------------------
# Six months of history (expected/history.json), re-derived from the report files
# ------------------------------------------------------------------------------------------

CHICAGO = ZoneInfo("America/Chicago")
MONTHS = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
HISTORY_BUDGET = 150_000  # bytes added for May to September


def month_bounds(month: str) -> tuple[float, float]:
    y, m = map(int, month.split("-"))
    lo = dt.datetime(y, m, 1, tzinfo=CHICAGO)
    hi = dt.datetime(y + m // 12, m % 12 + 1, 1, tzinfo=CHICAGO)
    return lo.timestamp(), hi.timestamp()


def check_history() -> None:
    truth = json.loads((SAMPLES / "expected" / "history.json").read_text())
    rejected = {r["file"] for r in
                json.loads((SAMPLES / "expected" / "reports.json").read_text())["rejected"]}
    got: dict[str, dict] = {m: dict(reports=0, messages=0, domains={}) for m in MONTHS}
    seen = set()
    history_bytes = 0
    oct_lo, oct_hi = month_bounds("2026-10")
    for p in sorted(q for q in (SAMPLES / "reports").rglob("*") if q.is_file()):
        rel = str(p.relative_to(SAMPLES))
        folder = p.parent.name if p.parent.parent.name == "reports" else None
        is_history = folder is not None and re.fullmatch(r"\d{4}-\d{2}", folder) is not None
        if is_history:
            history_bytes += p.stat().st_size
        if rel in rejected:
            continue
        root = ET.fromstring(open_report(p))
        ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
        q = (lambda t: f"{{{ns}}}{t}") if ns else (lambda t: t)
        md = root.find(q("report_metadata"))
        key = (md.find(q("org_name")).text, md.find(q("report_id")).text)
        begin = int(md.find(f"{q('date_range')}/{q('begin')}").text)
        end = int(md.find(f"{q('date_range')}/{q('end')}").text)
        mid = (begin + end) / 2
        month = dt.datetime.fromtimestamp(mid, tz=CHICAGO).strftime("%Y-%m")
        if is_history:
            if folder != month:
                bad(f"{rel}: in folder {folder} but counts toward {month} (midpoint)")
            if begin < oct_hi and end > oct_lo:
                bad(f"{rel}: a May-September report sharing time with October")
            lo, hi = month_bounds(month)
            if min(mid - lo, hi - mid) < 86400:
                bad(f"{rel}: midpoint within a day of the month's edge")
        if key in seen:
            continue
        seen.add(key)
        if month not in got:
            continue
        domain = root.find(f"{q('policy_published')}/{q('domain')}").text
        msgs = passed = 0
        for r in root.findall(q("record")):
            n = int(r.find(f"{q('row')}/{q('count')}").text)
            pe = r.find(f"{q('row')}/{q('policy_evaluated')}")
            msgs += n
            if pe.find(q("dkim")).text == "pass" or pe.find(q("spf")).text == "pass":
                passed += n
        g = got[month]
        g["reports"] += 1
        g["messages"] += msgs
        d = g["domains"].setdefault(domain, dict(messages=0, dmarc_pass=0))
        d["messages"] += msgs
        d["dmarc_pass"] += passed
    if sorted(truth["months"]) != MONTHS:
        bad(f"history.json months {sorted(truth['months'])} != {MONTHS}")
    print("history (Chicago month: reports, messages; per domain messages/pass):")
    for month in MONTHS:
        t, g = truth["months"].get(month, {}), got[month]
        if (t.get("reports"), t.get("messages")) != (g["reports"], g["messages"]):
            bad(f"{month}: history.json {t.get('reports')} reports / {t.get('messages')} "
                f"messages, files give {g['reports']} / {g['messages']}")
        for d in W.OUR_DOMAINS:
            want = {k: t.get("domains", {}).get(d, {}).get(k) for k in ("messages", "dmarc_pass")}
            have = g["domains"].get(d, dict(messages=0, dmarc_pass=0))
            if want != have:
                bad(f"{month} {d}: history.json {want}, files give {have}")
        print(f"  {month}: {g['reports']} reports, {g['messages']} messages; " + ", ".join(
            f"{d.split('.')[0]} {v['messages']}/{v['dmarc_pass']}"
            for d, v in sorted(g["domains"].items())))
    manifest = json.loads((SAMPLES / "expected" / "reports.json").read_text())
    if got["2026-10"]["reports"] != manifest["totals"]["counted_in_october_chicago"]:
        bad("October in history.json differs from reports.json counted_in_october_chicago")
    if not got["2026-05"]["reports"] or got["2026-05"]["domains"].get(W.PATIENT):
        bad("May: expected reports, and none for the patient domain (no rua until June)")
    if history_bytes > HISTORY_BUDGET:
        bad(f"May-September reports take {history_bytes} bytes (> {HISTORY_BUDGET})")
    print(f"  May-September report files: {history_bytes} bytes")
    # The DMARC timeline in history.json is what the zone files publish.
    for snap in truth["snapshots"]:
        recs = load_zones(snap["zones"])
        for d in W.OUR_DOMAINS:
            zone = sorted(t for t in recs.get((f"_dmarc.{d}", "TXT"), []))
            if snap["dmarc"][d]["records"] != zone:
                bad(f"history.json {snap['zones']} {d}: {snap['dmarc'][d]['records']} != zone {zone}")
            tags = dmarc_tags(recs, d)
            for k in ("p", "sp", "np", "pct", "t"):
                want = tags[0].get(k) if len(tags) == 1 else None
                if snap["dmarc"][d][k] != want:
                    bad(f"history.json {snap['zones']} {d} {k}={snap['dmarc'][d][k]}, zone {want}")
        if not (SAMPLES / snap["file"]).is_file():
            bad(f"{snap['file']}: snapshot missing (make sample-snapshots)")
            continue
        captured = json.loads((SAMPLES / snap["file"]).read_text())
        if captured["taken_at"] != snap["taken_at"]:
            bad(f"{snap['file']}: taken_at {captured['taken_at']} != {snap['taken_at']}")
        for d in W.OUR_DOMAINS:
            answers = [sorted(x.get("answers", [])) for x in captured["lookups"]
                       if x["name"] == f"_dmarc.{d}" and x["rtype"] == "TXT"]
            if answers != [snap["dmarc"][d]["records"]]:
                bad(f"{snap['file']}: _dmarc.{d} captured {answers}, zones "
                    f"{snap['zones']} publish {snap['dmarc'][d]['records']}")


# ------------------------------------------------------------------------------------------
# Inventory vs. streams
# ------------------------------------------------------------------------------------------

def check_inventory() -> None:
    rows = list(csv.DictReader((SAMPLES / "vendors.csv").open(encoding="utf-8")))
    ranges: dict[str, list] = {}
    broken = []
    for line, r in enumerate(rows, 2):
        nets = []
        for tok in re.split(r"[;\s]+", r["ip_ranges"].strip()):
            if not tok:
                continue
            try:
                nets.append(ipaddress.ip_network(tok, strict=False))
            except ValueError:
                broken.append((line, r["vendor"], tok))
                continue
            if not doc_ip(tok):
                bad(f"vendors.csv:{line}: {tok} not a documentation range")
        ranges[r["vendor"]] = nets
        for col in ("spf_includes", "dkim_domains", "domains", "ptr_suffixes"):
            for n in re.split(r"[;\s]+", r[col].strip()):
                if n and not n.endswith(".example"):
                    bad(f"vendors.csv:{line}: {col} {n} not under .example")
    if [b[1] for b in broken] != ["FaxBridge"]:
        bad(f"expected exactly one bad CIDR row (FaxBridge), got {broken}")
    if [r["vendor"] for r in rows if not r["phi"]] != ["ShiftSpring"]:
        bad("expected exactly one row with empty phi (ShiftSpring)")
    for st in W.STREAMS:
        for ip in st["ips"]:
            a = ipaddress.ip_address(ip)
            owners = [v for v, nets in ranges.items() if any(a in n for n in nets)]
            want = [st["vendor"]] if st["vendor"] else []
            if owners != want:
                bad(f"stream {st['id']} {ip}: in ranges of {owners}, expected {want}")
    print(f"inventory: {len(rows)} rows; bad CIDR {broken}")


def main() -> int:
    check_zones()
    check_zone_history()
    check_reports()
    check_history()
    check_inventory()
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        return 1
    print("all sample checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
