//! `ecl_reader`: the original project's reader, same arguments and output,
//! so Munin plugins written for it keep working (see `ecl_cli::seed_tools`).

fn main() {
    ecl_cli::seed_tools::ecl_reader(std::env::args().collect());
}
