//! `crosslock`: one command for Crosslock's clients, services and tools.
#![forbid(unsafe_code)]
// Printing is this binary's job.
#![allow(clippy::print_stdout)]

mod attest_cmd;
mod chaos;
mod demo;
mod device;
mod ds_bench;
mod kt_audit;
mod kt_bench;
mod kt_cmd;
mod kt_witness;
mod local_provider;
mod logging;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// End-to-end encrypted RCS messaging between Android and iPhone, on MLS
/// (RFC 9420) and the GSMA RCS End-to-End Encryption Specification.
#[derive(Debug, Parser)]
#[command(name = "crosslock", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a whole provider (carrier proofs, KDS, transparency log,
    /// delivery service, content server) on the embedded SQLite default.
    Serve(serve::ServeArgs),
    /// Drive a device whose state lives in a directory, over a provider's
    /// HTTP API: enrol, send, receive, groups, files, security state.
    Device(device::DeviceArgs),
    /// Play a scripted story between an Android phone and an iPhone and show
    /// what the server relayed beside what the phones decrypted.
    Demo(demo::DemoArgs),
    /// Fault scenarios (provider killed, phones crashing, peers down, slow
    /// or garbled, disk full) with a fixed seed; prints what was
    /// acknowledged, delivered, lost and duplicated.
    Chaos(chaos::ChaosArgs),
    /// Verify a device attestation (Android Key Attestation, Apple App Attest).
    Attest {
        #[command(subcommand)]
        cmd: attest_cmd::AttestCommand,
    },
    /// Key transparency: run a witness, audit a log, benchmark a directory.
    Kt {
        #[command(subcommand)]
        cmd: kt_cmd::KtCommand,
    },
    /// Delivery service: load-test one in-process provider.
    Ds {
        #[command(subcommand)]
        cmd: DsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DsCommand {
    /// Enrol devices into groups on an in-process provider and measure
    /// relayed messages per second and submit-to-decrypted latency.
    Bench(ds_bench::DsBenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Device(args) => device::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Chaos(args) => chaos::run(args),
        Command::Attest { cmd } => attest_cmd::run(cmd),
        Command::Kt { cmd } => kt_cmd::run(cmd),
        Command::Ds {
            cmd: DsCommand::Bench(args),
        } => ds_bench::run(args),
    }
}
