//! connectors-csi: the CSI node driver binary and its offline tools.

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(name = "connectors-csi", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the CSI Identity, Controller and Node services on a unix socket.
    Serve(Box<cli::serve::Args>),
    /// Render offline the files a pod would get, from manifests and volume attributes.
    Render(cli::render::Args),
    /// Render a raw Go template with JSON data (or a batch of cases).
    Template(cli::template::Args),
    /// Check ConnectorClass files: templates, file names, params, a sample render.
    Lint(cli::lint::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => cli::serve::run(*args),
        Command::Render(args) => cli::render::run(args),
        Command::Template(args) => cli::template::run(args),
        Command::Lint(args) => cli::lint::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
