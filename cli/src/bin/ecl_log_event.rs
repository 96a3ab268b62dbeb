//! `ecl_log_event`: the original project's event logger, same arguments
//! (see `ecl_cli::seed_tools`).

fn main() {
    ecl_cli::seed_tools::ecl_log_event(std::env::args().collect());
}
