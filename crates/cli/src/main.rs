//! `crosslock`: one command for Crosslock's clients, services and tools.
#![forbid(unsafe_code)]

use clap::Parser;

/// End-to-end encrypted RCS messaging on MLS (RFC 9420) and the GSMA RCS
/// End-to-End Encryption Specification.
#[derive(Debug, Parser)]
#[command(name = "crosslock", version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
