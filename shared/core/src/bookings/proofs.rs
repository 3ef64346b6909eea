//! Payment screenshots: uploaded straight from the browser with a presigned URL (no image passes
//! through a handler), checked when the payment is submitted, and shown to the two parties
//! through a short-lived link.

use super::{BookingError, Bookings, Caller};
use crate::domain::{Action, SessionId};
use crate::ports::{Presigned, StoredObject};
use chrono::Duration;

const MAX_PROOF_BYTES: u64 = 5 * 1024 * 1024;
const UPLOAD_TTL_MINUTES: i64 = 10;
const DOWNLOAD_TTL_MINUTES: i64 = 5;

/// The image types a phone makes, with the extension their key gets.
const IMAGE_TYPES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("image/heic", "heic"),
];

/// Where and how the browser uploads one screenshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofUpload {
    pub key: String,
    pub content_type: String,
    pub signed: Presigned,
}

/// Where a booking's screenshots are kept: everything under it is that booking's.
pub(super) fn prefix(id: SessionId) -> String {
    format!("proofs/{id}/")
}

impl Bookings {
    /// A URL for the client of an approved booking to upload one image of at most 5 MB.
    pub async fn proof_upload(
        &self,
        caller: &Caller,
        id: SessionId,
        expected: Option<u64>,
        content_type: String,
        size_bytes: u64,
    ) -> Result<ProofUpload, BookingError> {
        self.session_for_action(caller, id, expected, Action::SubmitPayment)
            .await?;
        let ext = IMAGE_TYPES
            .iter()
            .find(|(t, _)| *t == content_type)
            .map(|(_, e)| *e)
            .ok_or_else(|| {
                BookingError::invalid(
                    "content_type",
                    "the screenshot must be a JPEG, PNG, WebP or HEIC image",
                )
            })?;
        if size_bytes == 0 {
            return Err(BookingError::invalid(
                "size_bytes",
                "the screenshot is empty",
            ));
        }
        if size_bytes > MAX_PROOF_BYTES {
            return Err(BookingError::TooLarge(
                "The screenshot is larger than 5 MB; crop it or send a smaller one.",
            ));
        }
        let key = format!("{}{}.{ext}", prefix(id), uuid::Uuid::new_v4().simple());
        let signed = self
            .proofs
            .presign_upload(
                &key,
                &content_type,
                size_bytes,
                Duration::minutes(UPLOAD_TTL_MINUTES),
            )
            .await?;
        Ok(ProofUpload {
            key,
            content_type,
            signed,
        })
    }

    /// Whether `key` names an image of at most 5 MB uploaded for booking `id`, whatever the
    /// browser claimed when it asked for the upload URL; the version it is now, to pin.
    pub(super) async fn checked_proof(
        &self,
        id: SessionId,
        key: &str,
    ) -> Result<StoredObject, BookingError> {
        if !key.starts_with(&prefix(id)) {
            return Err(BookingError::invalid(
                "proof_key",
                "is not an upload for this booking",
            ));
        }
        let obj = self.proofs.head(key).await?.ok_or_else(|| {
            BookingError::invalid(
                "proof_key",
                "no screenshot was uploaded under this key; upload it first",
            )
        })?;
        if !IMAGE_TYPES.iter().any(|(t, _)| *t == obj.content_type) {
            return Err(BookingError::invalid(
                "proof_key",
                "the uploaded file is not an image",
            ));
        }
        if obj.size_bytes > MAX_PROOF_BYTES {
            return Err(BookingError::TooLarge(
                "The uploaded screenshot is larger than 5 MB.",
            ));
        }
        Ok(obj)
    }

    /// A five-minute link to the booking's screenshot, for either party; each one is in the
    /// audit trail.
    pub async fn proof_link(
        &self,
        caller: &Caller,
        id: SessionId,
    ) -> Result<Presigned, BookingError> {
        let s = self.session_for(caller, id).await?;
        let p = s.payment.as_ref().ok_or(BookingError::NoProof)?;
        let key = p.proof_key.as_deref().ok_or(BookingError::NoProof)?;
        // the screenshot is the client's: who opened it is theirs to know
        self.audit(
            crate::domain::AuditAction::ProofViewed,
            &caller.id,
            &s.client.id,
            Some(id),
        )
        .await?;
        Ok(self
            .proofs
            .presign_download(
                key,
                p.proof_version.as_deref(),
                Duration::minutes(DOWNLOAD_TTL_MINUTES),
            )
            .await?)
    }
}
