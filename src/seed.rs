//! Seeds. Training uses the lab's own seeded generator so that runs reproduce on every target; the operating
//! system's (or the browser's) entropy is only asked for when the visitor wants a fresh random seed.

use crate::error::{LabError, Result};

/// A fresh random 64-bit seed from the OS (natively) or `crypto.getRandomValues` (in the browser).
pub fn random_seed() -> Result<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| LabError::InvalidArgument(format!("could not read a random seed: {e}")))?;
    Ok(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_seeds_differ() {
        // Two 64-bit draws colliding would mean the entropy source is broken (chance 2^-64).
        assert_ne!(random_seed().unwrap(), random_seed().unwrap());
    }
}
