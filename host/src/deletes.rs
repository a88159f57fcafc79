//! After a complete `all` pass: delete from AIoD the assets whose source is
//! gone. Never after an incomplete pass (the caller only calls this with a
//! completed pass), never more than a share of the platform without consent.

use crate::aiod::client::Aiod;
use crate::state::State;
use anyhow::Result;

#[derive(Debug, Clone, Copy)]
pub struct DeletePolicy {
    pub enabled: bool,
    pub max_share: f64,
    pub allow_mass: bool,
}

/// Whether deleting `gone` of `total` assets is within the policy (pure).
pub fn permitted(policy: &DeletePolicy, gone: usize, total: u64) -> Result<(), String> {
    if !policy.enabled || gone == 0 || policy.allow_mass {
        return Ok(());
    }
    let share = gone as f64 / total.max(1) as f64;
    if share > policy.max_share {
        return Err(format!(
            "refusing to delete {gone} of {total} assets ({:.1}%, more than the {:.1}% allowed): \
             a listing that lost that much is more likely broken than true. Check the source, then \
             run again with --allow-mass-delete (or --max-delete-share) to delete them",
            share * 100.0,
            policy.max_share * 100.0
        ));
    }
    Ok(())
}

/// Deletes the assets not seen in `pass_id`; returns how many were deleted.
pub async fn delete_gone(
    aiod: &Aiod,
    state: &mut State,
    pass_id: i64,
    policy: &DeletePolicy,
) -> Result<u64> {
    if !policy.enabled {
        return Ok(0);
    }
    let gone = state.unseen_assets(pass_id)?;
    if let Err(refusal) = permitted(policy, gone.len(), state.asset_count()?) {
        tracing::warn!("{refusal}");
        return Ok(0);
    }
    let mut deleted = 0;
    for asset in gone {
        match aiod.delete(&asset.asset_type, &asset.identifier).await {
            Ok(()) => {
                tracing::info!(
                    platform_resource_identifier = %asset.platform_resource_identifier,
                    identifier = %asset.identifier,
                    "deleted from AIoD: its source no longer exists"
                );
                state.forget_asset(&asset)?;
                deleted += 1;
            }
            Err(e) => tracing::error!(
                platform_resource_identifier = %asset.platform_resource_identifier,
                "could not delete: {e}"
            ),
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: DeletePolicy = DeletePolicy {
        enabled: true,
        max_share: 0.05,
        allow_mass: false,
    };

    #[test]
    fn a_small_share_is_deleted_a_large_one_needs_consent() {
        assert!(permitted(&P, 5, 100).is_ok());
        let err = permitted(&P, 6, 100).unwrap_err();
        assert!(
            err.contains("refusing to delete 6 of 100 assets (6.0%"),
            "{err}"
        );
        assert!(
            permitted(
                &DeletePolicy {
                    allow_mass: true,
                    ..P
                },
                100,
                100
            )
            .is_ok()
        );
        assert!(
            permitted(
                &DeletePolicy {
                    enabled: false,
                    ..P
                },
                100,
                100
            )
            .is_ok()
        );
        assert!(permitted(&P, 0, 0).is_ok());
    }
}
