//! Subcommands (design.md "External contract"): `serve` (default),
//! `migrate`, `check-config [PATH]`, `classify`, `simulate`, `user`.

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
    /// Read one message per line on stdin; write `intent<TAB>message` per line
    /// (the primary intent).
    Classify {
        /// Per message, also show every intent found, the hazard, a possible
        /// emergency, the language and the rules (file:line [section]) that
        /// matched.
        #[arg(long)]
        explain: bool,
        /// Instead of stdin, read a labelled `intent<TAB>message` file and
        /// print the confusion matrix, accuracy, per-intent recall and
        /// precision, and the misread lines.
        #[arg(long, value_name = "FILE.tsv")]
        eval: Option<PathBuf>,
    },
    /// Post signed webhooks for a missed call (and a reply) to a running instance.
    Simulate(crate::simulate::SimulateArgs),
    /// Measure the office queue page (/app) with many open leads on a
    /// fresh SQLite database; prints its latency percentiles.
    BenchQueue(crate::bench_queue::BenchQueueArgs),
    /// The office's people (the web app at /app).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a person; prints a one-time sign-in link (good for 72 hours).
    Add {
        /// Sign-in name: letters, digits, '.', '-', '_'.
        name: String,
        /// owner, manager or dispatcher.
        #[arg(long)]
        role: String,
        /// A business they see (repeat for several); all when left out.
        #[arg(long = "business", value_name = "ID")]
        businesses: Vec<String>,
    },
    /// Print a new one-time sign-in link for someone (a forgotten password).
    Link { name: String },
    /// List the people.
    List,
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
        Command::CheckConfig { path } => check_config(
            &path.clone().unwrap_or(settings.config_path.clone()),
            &settings,
        ),
        Command::Classify { explain, eval } => match eval {
            Some(file) => classify_eval(&settings.config_path, &file),
            None => classify(&settings.config_path, explain),
        },
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
                    Command::User(u) => user(&settings, u).await,
                    Command::BenchQueue(args) => crate::bench_queue::run(settings, args).await,
                    Command::CheckConfig { .. } | Command::Classify { .. } => unreachable!(),
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

/// `ringback user ...`.
async fn user(settings: &Settings, command: UserCommand) -> anyhow::Result<()> {
    use crate::core::people::{Businesses, Role};
    let shell = crate::startup::office_shell(settings).await?;
    let base = crate::startup::base_url(settings);
    match command {
        UserCommand::Add {
            name,
            role,
            businesses,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("role {role:?} is not one of owner, manager, dispatcher")
            })?;
            let businesses = if businesses.is_empty() {
                Businesses::All
            } else {
                Businesses::Only(businesses)
            };
            let (_, token) = shell.add_person(&name, role, &businesses).await?;
            println!(
                "added {name} ({}); their one-time sign-in link (72 hours):\n{base}/app/welcome/{token}",
                role.as_str()
            );
        }
        UserCommand::Link { name } => {
            let token = shell.new_sign_in_link(&name).await?;
            println!(
                "a new one-time sign-in link for {name} (72 hours):\n{base}/app/welcome/{token}"
            );
        }
        UserCommand::List => {
            for u in shell.store.users().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    u.name,
                    u.role,
                    u.businesses,
                    if u.disabled {
                        "disabled"
                    } else if u.password_hash.is_none() {
                        "link not used"
                    } else {
                        "active"
                    }
                );
            }
        }
    }
    shell.store.close().await;
    Ok(())
}

fn check_config(path: &std::path::Path, settings: &Settings) -> ExitCode {
    match crate::startup::load_config(path) {
        Ok((c, p)) => {
            // A business whose carrier has no credentials could not text
            // anyone, nor trust a webhook: refused, naming the variables.
            let missing = crate::config::carrier::missing_credentials(&c, settings);
            if !missing.is_empty() {
                eprintln!("{} problem(s) with the environment:", missing.len());
                for m in &missing {
                    eprintln!("- {m}");
                }
                return ExitCode::FAILURE;
            }
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

/// The owner's rules file (from the config's prompts dir), so a rule change
/// can be tried before it goes live.
fn load_classifier(
    config_path: &std::path::Path,
) -> Result<crate::core::classify::Classifier, ExitCode> {
    match crate::startup::load_config(config_path) {
        Ok((_, p)) => Ok(p.classifier),
        Err(e) => {
            eprint!("{e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// Classifies stdin, one message per line.
fn classify(config_path: &std::path::Path, explain: bool) -> ExitCode {
    let classifier = match load_classifier(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let c = classifier.classify(&line);
        let mut text = format!("{}\t{line}\n", c.intent.as_str());
        if explain {
            text.push_str(&explain_lines(&classifier, &line, &c));
        }
        if out.write_all(text.as_bytes()).is_err() {
            break;
        }
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// The `--explain` lines under a message.
fn explain_lines(
    classifier: &crate::core::classify::Classifier,
    message: &str,
    c: &crate::core::classify::Classification,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let intents: Vec<&str> = c.intents.iter().map(|i| i.as_str()).collect();
    let _ = writeln!(
        s,
        "    intents: {} | hazard: {} | possible emergency: {} | language: {}",
        intents.join(", "),
        c.hazard.map_or("-", |h| h.as_str()),
        match (c.possible_emergency, c.possible_hazard) {
            (true, Some(h)) => h.as_str(),
            (true, None) => "yes",
            _ => "no",
        },
        c.language
    );
    let _ = writeln!(
        s,
        "    read as: {}",
        classifier.clauses(message).join(" | ")
    );
    match &c.rule {
        Some(rule) if c.matches.is_empty() => {
            let _ = writeln!(s, "    decided by {rule}");
        }
        None => {
            let _ = writeln!(s, "    no rule matched");
        }
        Some(_) => {}
    }
    for m in &c.matches {
        let _ = writeln!(s, "    {:8} {}  {:?}", m.effect.as_str(), m.rule, m.text);
    }
    s
}

/// `classify --eval FILE.tsv`: how well the rules read a labelled file.
fn classify_eval(config_path: &std::path::Path, file: &std::path::Path) -> ExitCode {
    let classifier = match load_classifier(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let e = match crate::core::classify::eval::Evaluation::run(&classifier, &text) {
        Ok(e) => e,
        Err(m) => {
            eprintln!("error: {}: {m}", file.display());
            return ExitCode::FAILURE;
        }
    };
    println!("{}: {}", file.display(), e.report());
    if !e.mistakes.is_empty() {
        println!("misread:");
        for (line, expected, got, message) in &e.mistakes {
            let rule = classifier.classify(message).rule;
            println!(
                "  line {line}: expected {expected}, got {got} ({}) :: {message}",
                rule.as_deref().unwrap_or("no rule")
            );
        }
    }
    ExitCode::SUCCESS
}
