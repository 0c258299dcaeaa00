//! NIST SP 800-30 Rev. 1 qualitative scales and the Table I-2 risk matrix.

use serde::{Deserialize, Serialize};

/// The five-level qualitative scale used for likelihood, impact and risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    VeryLow,
    Low,
    Moderate,
    High,
    VeryHigh,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::VeryLow => "Very Low",
            Level::Low => "Low",
            Level::Moderate => "Moderate",
            Level::High => "High",
            Level::VeryHigh => "Very High",
        }
    }

    pub fn abbrev(self) -> &'static str {
        match self {
            Level::VeryLow => "VL",
            Level::Low => "L",
            Level::Moderate => "M",
            Level::High => "H",
            Level::VeryHigh => "VH",
        }
    }

    /// Semi-quantitative equivalent (SP 800-30 Table I-3: 0, 2, 5, 8, 10).
    pub fn score(self) -> u8 {
        match self {
            Level::VeryLow => 0,
            Level::Low => 2,
            Level::Moderate => 5,
            Level::High => 8,
            Level::VeryHigh => 10,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    pub fn raise(self) -> Level {
        match self {
            Level::VeryLow => Level::Low,
            Level::Low => Level::Moderate,
            Level::Moderate => Level::High,
            Level::High | Level::VeryHigh => Level::VeryHigh,
        }
    }
}

/// SP 800-30 Table I-2, likelihood (rows, VL..VH) × impact (columns, VL..VH).
const TABLE_I2: [[Level; 5]; 5] = {
    use Level::*;
    [
        [VeryLow, VeryLow, VeryLow, Low, Low],    // likelihood VL
        [VeryLow, Low, Low, Low, Moderate],       // L
        [VeryLow, Low, Moderate, Moderate, High], // M
        [VeryLow, Low, Moderate, High, VeryHigh], // H
        [VeryLow, Low, Moderate, High, VeryHigh], // VH
    ]
};

/// The scale in order, very low to very high.
pub const LEVELS: [Level; 5] = [
    Level::VeryLow,
    Level::Low,
    Level::Moderate,
    Level::High,
    Level::VeryHigh,
];

/// Table I-2 as rows of likelihood (very low first) × columns of impact, for the report to print
/// the very matrix the ratings were computed with.
pub fn matrix() -> Vec<Vec<Level>> {
    LEVELS
        .iter()
        .map(|l| LEVELS.iter().map(|i| risk(*l, *i)).collect())
        .collect()
}

/// Risk level from likelihood and impact, per Table I-2.
pub fn risk(likelihood: Level, impact: Level) -> Level {
    TABLE_I2[likelihood.index()][impact.index()]
}

/// The catalog severity of a check (CHECKS.md), distinct from the computed risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "Info",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Level::*;

    #[test]
    fn table_i2_cells() {
        assert_eq!(risk(VeryHigh, VeryHigh), VeryHigh);
        assert_eq!(risk(High, High), High);
        assert_eq!(risk(Moderate, High), Moderate);
        assert_eq!(risk(Moderate, VeryHigh), High);
        assert_eq!(risk(Low, VeryHigh), Moderate);
        assert_eq!(risk(VeryLow, High), Low);
        assert_eq!(risk(High, Low), Low);
        assert_eq!(risk(VeryLow, VeryLow), VeryLow);
    }

    #[test]
    fn fail_on_reads_the_risk_scale_and_the_old_severity_words() {
        use crate::config::FailOn;
        #[derive(serde::Deserialize)]
        struct P {
            fail_on: FailOn,
        }
        for (word, level) in [
            ("very-high", VeryHigh),
            ("critical", VeryHigh),
            ("high", High),
            ("moderate", Moderate),
            ("medium", Moderate),
            ("low", Low),
            ("very-low", VeryLow),
            ("info", VeryLow),
        ] {
            let p: P = toml::from_str(&format!("fail_on = \"{word}\"")).unwrap();
            assert_eq!(p.fail_on.level(), level, "{word}");
        }
        assert!(toml::from_str::<P>("fail_on = \"severe\"").is_err());
        let old: P = toml::from_str("fail_on = \"medium\"").unwrap();
        assert_eq!(old.fail_on.replacement(), Some(("medium", "moderate")));
        let new: P = toml::from_str("fail_on = \"moderate\"").unwrap();
        assert_eq!(new.fail_on.replacement(), None);
    }
}
