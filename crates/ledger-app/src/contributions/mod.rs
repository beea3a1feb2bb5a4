//! Contribution batches: a contributor submits its members' solidarity euros for a period (a
//! pledge); the network records the bank receipts that bring the money into the pool, and may
//! reverse a batch whose money has not been allocated.

mod reads;
mod receipts;
mod reversal;
mod submit;
mod views;

pub use reads::{BatchListQuery, ListBatches, ReadBatch};
pub use receipts::{
    CreateReceipt, MAX_BANK_REFERENCE_LENGTH, MAX_RATE_SCALE, OriginalAmountBody, RecordReceipt,
};
pub use reversal::{CreateReversal, ReversalView, ReverseBatch};
pub use submit::{CreateBatch, LineBody, LineKindBody, SubmitBatch};
pub use views::{
    BatchDetail, BatchTotalsView, BatchView, LineView, OriginalAmountView, ReceiptView,
    RecordedReceiptView,
};
