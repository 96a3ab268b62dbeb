//! `ecl`: read and log ECL counts from the command line (see `ecl_cli::app`).

fn main() {
    ecl_cli::app::run(std::env::args().collect());
}
