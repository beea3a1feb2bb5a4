//! Reads of the organisations' publication choices (`publication_choices`, append-only): the
//! choice in force is each organisation's latest.

use std::collections::HashMap;

use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::store::Store;

impl Store {
    /// Each organisation's choice in force (its latest); organisations that never chose are absent.
    pub async fn publication_choices(&self) -> Result<HashMap<Uuid, bool>, StoreError> {
        let rows: Vec<(Uuid, bool)> = on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT organisation_id, published FROM publication_choices ORDER BY chosen_at, id",
            )
            .fetch_all(pool)
            .await?
        });
        // In time order, so a later choice overwrites an earlier one.
        Ok(rows.into_iter().collect())
    }
}
