//! The `privstat` command: parse the command line, run it, print any error, return the exit code.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = privstat::cli::Cli::parse();
    match privstat::cli::execute(cli) {
        Ok(()) => ExitCode::from(privstat::error::EXIT_OK),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
