//! Incident notices (item ⑩ of the disclosure): severity and status.

use crate::error::ValidationError;

crate::board::values::simple_enum!(
    /// How serious the incident is.
    Severity, "severity", { Info = "info", Minor = "minor", Major = "major", Critical = "critical" }
);

crate::board::values::simple_enum!(
    /// Where the incident stands; `resolved` notices are no longer active.
    NoticeStatus, "status", { Investigating = "investigating", Identified = "identified", Monitoring = "monitoring", Resolved = "resolved" }
);

impl NoticeStatus {
    pub fn is_active(self) -> bool {
        self != NoticeStatus::Resolved
    }

    /// The status as a clinic reads it in a notice posted to its thread.
    pub fn label_ja(self) -> &'static str {
        match self {
            NoticeStatus::Investigating => "調査中",
            NoticeStatus::Identified => "原因特定",
            NoticeStatus::Monitoring => "復旧作業後の経過観察中",
            NoticeStatus::Resolved => "復旧",
        }
    }
}

/// A notice's audience: everyone, or the listed organizations (at least one).
pub fn check_audience(all: bool, listed: usize) -> Result<(), ValidationError> {
    if !all && listed == 0 {
        return Err(ValidationError::new(
            "organization_ids",
            "name at least one organization, or leave it out to address all",
        ));
    }
    if listed > 1000 {
        return Err(ValidationError::new(
            "organization_ids",
            "at most 1000 organizations",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_own_japanese_label() {
        let all = [
            NoticeStatus::Investigating,
            NoticeStatus::Identified,
            NoticeStatus::Monitoring,
            NoticeStatus::Resolved,
        ];
        let labels: std::collections::HashSet<_> = all.iter().map(|s| s.label_ja()).collect();
        assert_eq!(labels.len(), all.len());
        assert!(labels.iter().all(|l| !l.is_ascii()));
        assert_eq!(NoticeStatus::Resolved.label_ja(), "復旧");
    }

    #[test]
    fn statuses_and_audiences() {
        assert!(NoticeStatus::parse("monitoring").unwrap().is_active());
        assert!(!NoticeStatus::Resolved.is_active());
        assert!(Severity::parse("fatal").is_err());
        assert!(check_audience(true, 0).is_ok());
        assert!(check_audience(false, 0).is_err());
        assert!(check_audience(false, 2).is_ok());
    }
}
