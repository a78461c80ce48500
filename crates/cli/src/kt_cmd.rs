//! `crosslock kt`: key-transparency tools for providers, witnesses and
//! auditors. Each subcommand lives in its own module.

use std::process::ExitCode;

use crate::{kt_audit, kt_bench, kt_witness};

/// Key transparency: witness a log, audit it, measure it.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum KtCommand {
    /// Run a witness: verify each new epoch of the logs it follows and
    /// co-sign their roots, refusing a second root for any epoch.
    Witness(kt_witness::WitnessArgs),
    /// Verify that each epoch of a log only extends the previous one.
    Audit(kt_audit::AuditArgs),
    /// Fill a fresh directory with N labels and measure publishing, proof
    /// sizes, proof times and peak memory.
    Bench(kt_bench::BenchArgs),
}

pub(crate) fn run(cmd: KtCommand) -> ExitCode {
    match cmd {
        KtCommand::Witness(args) => kt_witness::run(args),
        KtCommand::Audit(args) => kt_audit::run(args),
        KtCommand::Bench(args) => kt_bench::run(args),
    }
}
