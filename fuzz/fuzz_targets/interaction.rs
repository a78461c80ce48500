//! Two real client cores (`crosslock_client::Device`, in-memory stores, a
//! manual clock) and an ordering server, driven by the input as a program
//! of ops: sends from either side, commits the server accepts or refuses,
//! remove and re-add, device reloads, replays. See
//! `crosslock_fuzz::interaction` for the ops and the invariants checked
//! after every step and at the end.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    crosslock_fuzz::interaction::run(data);
});
