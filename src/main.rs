use clap::Parser;
use nasstrap::cli::{self, Failure};

fn main() {
    let args = cli::Cli::parse();
    let code = match cli::run(args) {
        Ok(code) => code,
        Err(Failure::Layout(report)) => {
            eprint!("{report}");
            cli::EXIT_BAD_INPUT
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            cli::EXIT_BAD_INPUT
        }
        Err(Failure::Stop(s)) => {
            eprintln!("error: {s}");
            cli::EXIT_FAILURE
        }
        Err(Failure::Runtime(e)) => {
            // The whole chain: the root cause is usually at the end.
            eprintln!("error: {e:#}");
            cli::EXIT_FAILURE
        }
    };
    std::process::exit(code);
}
