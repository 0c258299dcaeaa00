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
    check_reports()
    check_inventory()
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        return 1
    print("all sample checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
