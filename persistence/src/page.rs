/// One page of a keyset-paginated list: the rows, and whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Build a page from `limit + 1` fetched rows: the extra row only says "more".
    pub(crate) fn from_overfetch(mut rows: Vec<T>, limit: u64) -> Self {
        let has_more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Page {
            items: rows,
            has_more,
        }
    }
}
