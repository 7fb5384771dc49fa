//! Subcommands (design.md "External contract"): `serve` (default),
//! `migrate`, `check-config [PATH]`, `classify`, `simulate`.

use crate::config::Settings;
use clap::{Parser, Subcommand};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ringback",
    version,
    about = "Wins back the calls a trade business misses: missed call -> one instant text."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Validate ringback.toml and prompts/ without starting; non-zero exit on errors.
    CheckConfig {
        /// Config file (default: $RINGBACK_CONFIG or ./ringback.toml).
        path: Option<PathBuf>,
    },
    /// Read one message per line on stdin; write `intent<TAB>message` per line.
    Classify,
    /// Post signed webhooks for a missed call (and a reply) to a running instance.
    Simulate(crate::simulate::SimulateArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig { path } => check_config(&path.unwrap_or(settings.config_path)),
        Command::Classify => classify(&settings.config_path),
        command => {
            crate::startup::init_tracing();
            let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
            let result = rt.block_on(async move {
                match command {
                    Command::Serve => crate::startup::serve(settings).await,
                    Command::Migrate => {
                        // Migrations need no pool tuning (and run without
                        // a statement timeout), so the config is not read.
                        crate::startup::open_store(
                            &settings,
                            &crate::config::DatabaseConfig::default(),
                        )
                        .await?;
                        println!(
                            "migrations applied to {}",
                            crate::config::redact_url(&settings.database_url)
                        );
                        Ok(())
                    }
                    Command::Simulate(args) => crate::simulate::run(settings, args).await,
                    Command::CheckConfig { .. } | Command::Classify => unreachable!(),
                }
            });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match crate::startup::load_config(path) {
        Ok((c, p)) => {
            for w in &p.warnings {
                println!("warning: {w}");
            }
            println!(
                "{}: OK ({} business{}: {})",
                path.display(),
                c.businesses.len(),
                if c.businesses.len() == 1 { "" } else { "es" },
                c.businesses
                    .iter()
                    .map(|b| b.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Classifies stdin with the owner's rules file (from the config's
/// prompts dir), so a rule change can be tried before it goes live.
fn classify(config_path: &std::path::Path) -> ExitCode {
    let classifier = match crate::startup::load_config(config_path) {
        Ok((_, p)) => p.classifier,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let c = classifier.classify(&line);
        if writeln!(out, "{}\t{line}", c.intent.as_str()).is_err() {
            break;
        }
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}
