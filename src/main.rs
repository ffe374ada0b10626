use clap::Parser;
use nasstrap::cli::{self, Failure};
// Errors carry text from layouts, disks (labels) and tools (stderr): never
// let it drive the terminal.
use nasstrap::layout::diag::escape_lines as shown;

fn main() {
    let args = cli::Cli::parse();
    let code = match cli::run(args) {
        Ok(code) => code,
        Err(Failure::Layout(report)) => {
            eprint!("{report}");
            cli::EXIT_BAD_INPUT
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {}", shown(&msg));
            cli::EXIT_BAD_INPUT
        }
        Err(Failure::Stop(s)) => {
            eprintln!("error: {}", shown(&s.to_string()));
            cli::EXIT_FAILURE
        }
        Err(Failure::Runtime(e)) => {
            // The whole chain: the root cause is usually at the end.
            eprintln!("error: {}", shown(&format!("{e:#}")));
            cli::EXIT_FAILURE
        }
    };
    std::process::exit(code);
}
