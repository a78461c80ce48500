//! Token support lives in `crosslock_hsm::testing` (shared with the KDS tests).
#![allow(unused_imports)]

pub(crate) use crosslock_hsm::testing::*;
