//! List paging: `?limit=` (default 100, at most 1000) and an opaque `cursor`; responses are
//! `{"items": [...], "next_cursor": "..." | null}`. Lists kept in the order things were recorded
//! also take `?order=oldest_first` (the default) or `newest_first`.

use ledger_store::Seek;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{AppError, FieldError};

/// Items per page when the client does not say.
pub const DEFAULT_PAGE_LIMIT: u32 = 100;
/// The most items one page may carry: bounds the work and size of one response.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// Paging parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// Where the previous page ended (its `next_cursor`).
    pub cursor: Option<String>,
}

/// Which end of a list kept in recording order its first page starts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// As recorded: what a system reading everything in turn wants (the default).
    #[default]
    OldestFirst,
    /// The latest first: what a person looking at the list wants.
    NewestFirst,
}

/// Paging parameters of a list kept in recording order.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderedPageQuery {
    /// Items per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// Where the previous page ended (its `next_cursor`, given with the same `order`).
    pub cursor: Option<String>,
    /// `oldest_first` (default) or `newest_first`.
    pub order: Option<ListOrder>,
}

impl OrderedPageQuery {
    /// The validated limit and where the page starts.
    pub fn parse(&self) -> Result<(u32, Seek), AppError> {
        PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
        .seek(self.order)
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl PageQuery {
    /// The validated limit and the id the page starts after.
    pub fn parse(&self) -> Result<(u32, Option<Uuid>), AppError> {
        let mut errors = Vec::new();
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                format!("must be between 1 and {MAX_PAGE_LIMIT}"),
            ));
        }
        let after = match &self.cursor {
            None => None,
            Some(cursor) => match decode_cursor(cursor) {
                Some(id) => Some(id),
                None => {
                    errors.push(FieldError::new(
                        "cursor",
                        "is not a cursor this API gave out",
                    ));
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok((limit, after))
        } else {
            Err(AppError::validation(errors))
        }
    }
}

impl PageQuery {
    /// The validated limit and where the page starts, the list running in `order` (oldest first
    /// when `None`): after the cursor's id, or before it.
    pub fn seek(&self, order: Option<ListOrder>) -> Result<(u32, Seek), AppError> {
        let (limit, from) = self.parse()?;
        let seek = match order.unwrap_or_default() {
            ListOrder::OldestFirst => Seek::After(from),
            ListOrder::NewestFirst => Seek::Before(from),
        };
        Ok((limit, seek))
    }
}

/// Cursors are opaque to clients: today the hex of the last id, prefixed with a version.
fn encode_cursor(id: Uuid) -> String {
    format!("c1{}", hex::encode(id.as_bytes()))
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = hex::decode(cursor.strip_prefix("c1")?).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// A page from `limit + 1` fetched rows: the extra row only says whether there is a next page.
pub fn page<T, R>(
    mut rows: Vec<R>,
    limit: u32,
    id_of: impl Fn(&R) -> Uuid,
    view: impl Fn(R) -> T,
) -> Page<T> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|row| encode_cursor(id_of(row)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors_are_checked() {
        // Proves paging bounds and that only our own cursors are accepted.
        let id = Uuid::from_u128(99);
        let query = PageQuery {
            limit: Some(5),
            cursor: Some(encode_cursor(id)),
        };
        assert_eq!(query.parse().unwrap(), (5, Some(id)));
        assert_eq!(PageQuery::default().parse().unwrap(), (100, None));
        assert!(
            PageQuery {
                limit: Some(0),
                cursor: None
            }
            .parse()
            .is_err()
        );
        assert!(
            PageQuery {
                limit: Some(1001),
                cursor: None
            }
            .parse()
            .is_err()
        );
        assert!(
            PageQuery {
                limit: None,
                cursor: Some("zz".into())
            }
            .parse()
            .is_err()
        );
    }

    #[test]
    fn the_extra_row_makes_a_next_cursor() {
        // Proves next_cursor is set only when more rows exist.
        let rows: Vec<u128> = (1..=3).collect();
        let full = page(rows.clone(), 2, |&n| Uuid::from_u128(n), |n| n);
        assert_eq!(full.items, [1, 2]);
        assert_eq!(full.next_cursor, Some(encode_cursor(Uuid::from_u128(2))));
        let last = page(rows, 3, |&n| Uuid::from_u128(n), |n| n);
        assert_eq!(last.next_cursor, None);
    }
}
