//! Pages of the lists kept in creation order. Ids are UUIDv7, so the order of ids is the order in
//! which things were recorded: a page starts after an id (oldest first) or before one (newest
//! first), and the next page starts from the last id of this one.

use uuid::Uuid;

/// Where a page of a list starts and which way it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seek {
    /// Oldest first, from just after this id (from the oldest when `None`).
    After(Option<Uuid>),
    /// Newest first, from just before this id (from the newest when `None`).
    Before(Option<Uuid>),
}

impl Seek {
    /// The id the page starts from, if any.
    pub fn id(self) -> Option<Uuid> {
        match self {
            Seek::After(id) | Seek::Before(id) => id,
        }
    }

    /// The query of `queries` ([`seek_sql`]) that runs this way.
    pub(crate) fn pick(self, queries: &[&'static str; 2]) -> &'static str {
        match self {
            Seek::After(_) => queries[0],
            Seek::Before(_) => queries[1],
        }
    }
}

/// A list's two queries, oldest first and newest first, as static strings: the `head` parts (its
/// SELECT and WHERE conditions, as `concat!` takes them), then the page's bound on `column` (the
/// id parameter `id`: none, or after or before it), its order, and `LIMIT limit`. Pick one with
/// [`Seek::pick`].
macro_rules! seek_sql {
    ($column:literal, $id:literal, $limit:literal, $($head:expr),+ $(,)?) => {
        [
            concat!($($head),+, " AND (", $id, " IS NULL OR ", $column, " > ", $id, ") ORDER BY ",
                $column, " LIMIT ", $limit),
            concat!($($head),+, " AND (", $id, " IS NULL OR ", $column, " < ", $id, ") ORDER BY ",
                $column, " DESC LIMIT ", $limit),
        ]
    };
}
pub(crate) use seek_sql;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_has_its_bound_and_order() {
        // Proves the two queries differ only in the page's bound and order, and which one a seek picks.
        const QUERIES: [&str; 2] =
            seek_sql!("t.id", "$2", "$3", "SELECT t.id FROM t WHERE ", "t.x = $1");
        assert_eq!(
            QUERIES[0],
            "SELECT t.id FROM t WHERE t.x = $1 AND ($2 IS NULL OR t.id > $2) ORDER BY t.id LIMIT $3"
        );
        assert_eq!(
            QUERIES[1],
            "SELECT t.id FROM t WHERE t.x = $1 AND ($2 IS NULL OR t.id < $2) ORDER BY t.id DESC LIMIT $3"
        );
        assert_eq!(Seek::After(None).pick(&QUERIES), QUERIES[0]);
        assert_eq!(Seek::Before(Some(Uuid::nil())).pick(&QUERIES), QUERIES[1]);
        assert_eq!(Seek::Before(Some(Uuid::nil())).id(), Some(Uuid::nil()));
    }
}
