//! HIPAA citations used by the catalog, with their CFR titles and Appendix A status.
//!
//! The Security Rule is technology-neutral: a citation names the standard a finding is
//! evidence for, never a claim that HIPAA requires SPF, DKIM or DMARC.

#[derive(Debug, Clone, Copy)]
pub struct Citation {
    pub citation: &'static str,
    pub title: &'static str,
    /// `Required`, `Addressable`, `Standard`, or `Privacy Rule`.
    pub kind: &'static str,
}

pub const CITATIONS: &[Citation] = &[
    Citation {
        citation: "164.308(a)(1)(ii)(A)",
        title: "Risk analysis",
        kind: "Required",
    },
    Citation {
        citation: "164.308(a)(1)(ii)(B)",
        title: "Risk management",
        kind: "Required",
    },
    Citation {
        citation: "164.308(a)(1)(ii)(D)",
        title: "Information system activity review",
        kind: "Required",
    },
    Citation {
        citation: "164.308(a)(5)(ii)(B)",
        title: "Protection from malicious software",
        kind: "Addressable",
    },
    Citation {
        citation: "164.308(a)(6)(ii)",
        title: "Security incident procedures: response and reporting",
        kind: "Required",
    },
    Citation {
        citation: "164.308(a)(8)",
        title: "Evaluation",
        kind: "Required",
    },
    Citation {
        citation: "164.308(b)(1)",
        title: "Business associate contracts and other arrangements",
        kind: "Standard",
    },
    Citation {
        citation: "164.308(b)(3)",
        title: "Written contract or other arrangement",
        kind: "Required",
    },
    Citation {
        citation: "164.312(b)",
        title: "Audit controls",
        kind: "Required",
    },
    Citation {
        citation: "164.312(c)(1)",
        title: "Integrity",
        kind: "Standard",
    },
    Citation {
        citation: "164.312(c)(2)",
        title: "Mechanism to authenticate electronic protected health information",
        kind: "Addressable",
    },
    Citation {
        citation: "164.312(e)(1)",
        title: "Transmission security",
        kind: "Standard",
    },
    Citation {
        citation: "164.312(e)(2)(i)",
        title: "Integrity controls",
        kind: "Addressable",
    },
    Citation {
        citation: "164.312(e)(2)(ii)",
        title: "Encryption",
        kind: "Addressable",
    },
    Citation {
        citation: "164.314(a)(1)",
        title: "Business associate contracts or other arrangements",
        kind: "Standard",
    },
    Citation {
        citation: "164.314(a)(2)",
        title: "Business associate contracts: implementation specifications",
        kind: "Required",
    },
    Citation {
        citation: "164.316(b)(1)",
        title: "Documentation",
        kind: "Standard",
    },
    Citation {
        citation: "164.316(b)(2)(iii)",
        title: "Documentation: updates",
        kind: "Required",
    },
    Citation {
        citation: "Breach 164.402",
        title: "Definition of breach: presumed unless a four-factor risk assessment shows a low probability of compromise",
        kind: "Breach Notification Rule",
    },
    Citation {
        citation: "Privacy 164.502(e)",
        title: "Disclosures to business associates",
        kind: "Privacy Rule",
    },
    Citation {
        citation: "Privacy 164.504(e)",
        title: "Business associate contracts",
        kind: "Privacy Rule",
    },
];

pub fn lookup(citation: &str) -> Option<&'static Citation> {
    CITATIONS.iter().find(|c| c.citation == citation)
}

/// The safeguards for systems and transmissions that hold ePHI: audit controls (§164.312(b)),
/// integrity (§164.312(c)) and transmission security (§164.312(e)).
const EPHI_SAFEGUARDS: &[&str] = &[
    "164.312(b)",
    "164.312(c)(1)",
    "164.312(c)(2)",
    "164.312(e)(1)",
    "164.312(e)(2)(i)",
    "164.312(e)(2)(ii)",
];

/// The citations of a finding on its asset. §164.312(b), (c) and (e) protect ePHI, so on a domain
/// that carries none (a parked domain, or a marketing domain no PHI vendor sends from) they
/// would claim a safeguard gap where no ePHI is; the finding there is evidence for risk
/// management, §164.308(a)(1)(ii)(B), which the remaining citations are joined by.
/// A finding that cites nothing on purpose (a brand-only check, `catalog::UNCITED`) stays
/// uncited.
pub fn fit_to_asset(citations: &[String], carries_ephi: bool) -> Vec<String> {
    if carries_ephi || citations.is_empty() {
        return citations.to_vec();
    }
    let mut out: Vec<String> = citations
        .iter()
        .filter(|c| !EPHI_SAFEGUARDS.contains(&c.as_str()))
        .cloned()
        .collect();
    if !out.iter().any(|c| c == "164.308(a)(1)(ii)(B)") {
        out.insert(0, "164.308(a)(1)(ii)(B)".to_string());
    }
    out
}

#[cfg(test)]
mod fit_tests {
    use super::*;

    #[test]
    fn ephi_safeguards_are_cited_only_where_ephi_is() {
        let dkim = vec!["164.312(c)(1)".to_string(), "164.312(e)(2)(i)".to_string()];
        assert_eq!(fit_to_asset(&dkim, true), dkim);
        assert_eq!(fit_to_asset(&dkim, false), vec!["164.308(a)(1)(ii)(B)"]);
        assert!(
            fit_to_asset(&[], false).is_empty(),
            "an uncited check stays uncited"
        );
        let spf = vec![
            "164.312(e)(1)".to_string(),
            "164.308(a)(5)(ii)(B)".to_string(),
        ];
        assert_eq!(
            fit_to_asset(&spf, false),
            vec!["164.308(a)(1)(ii)(B)", "164.308(a)(5)(ii)(B)"]
        );
    }
}
