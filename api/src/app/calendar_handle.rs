//! The calendar every request computes with: built from the configured weekly
//! schedule plus the overrides in the database, swapped whole when the stored
//! revision changes (on this instance at once, on the others at the next poll).

use std::sync::{Arc, RwLock};

use madoguchi_domain::calendar::{BusinessCalendar, CalendarRules};
use madoguchi_persistence::{calendar, Db, StoreError};

pub struct CalendarHandle {
    base: CalendarRules,
    current: RwLock<(String, Arc<BusinessCalendar>)>,
}

impl CalendarHandle {
    /// A handle with no overrides yet; call [`CalendarHandle::refresh`] before serving.
    pub fn new(base: CalendarRules) -> Self {
        let cal = Arc::new(BusinessCalendar::build(base.clone()));
        CalendarHandle {
            base,
            current: RwLock::new((String::from("unloaded"), cal)),
        }
    }

    pub fn get(&self) -> Arc<BusinessCalendar> {
        match self.current.read() {
            Ok(g) => g.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    fn revision(&self) -> String {
        match self.current.read() {
            Ok(g) => g.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        }
    }

    /// Rebuild if the stored revision differs from the one in use. Returns whether
    /// it rebuilt.
    pub async fn refresh(&self, db: &Db) -> Result<bool, StoreError> {
        let rev = calendar::revision(db).await?;
        if rev == self.revision() {
            return Ok(false);
        }
        let overrides = calendar::all(db).await?;
        let mut rules = self.base.clone();
        rules.overrides = overrides.into_iter().map(|o| (o.date, o.rule)).collect();
        let built = Arc::new(BusinessCalendar::build(rules));
        match self.current.write() {
            Ok(mut g) => *g = (rev, built),
            Err(poisoned) => *poisoned.into_inner() = (rev, built),
        }
        Ok(true)
    }
}
