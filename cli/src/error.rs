//! What can go wrong in a command, and the one place that turns it into
//! the exit status SPEC §6 gives (0 success, 1 runtime failure, 2 usage or
//! config error; the original scripts' statuses for `ecl_reader` and
//! `ecl_log_event`) and one clear line on stderr.

use ecl_client::ClientError;

/// A failure, with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments or config: exit code 2.
    Usage(String),
    /// Redis unreachable or a server error: exit code 1.
    Runtime(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Runtime(_) => 1,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            CliError::Usage(m) | CliError::Runtime(m) => m,
        }
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Redis(_) | ClientError::Flush(_) => CliError::Runtime(e.to_string()),
            _ => CliError::Usage(e.to_string()),
        }
    }
}

/// The original scripts' exit statuses: they exited 1 for an unknown group,
/// a missing `-i`, an unknown interval and every other failure they met
/// after parsing their arguments (argparse's own errors, 2, stay clap's).
pub fn with_seed_status(result: Result<String, CliError>) -> Result<String, CliError> {
    result.map_err(|e| match e {
        CliError::Usage(message) => CliError::Runtime(message),
        other => other,
    })
}

/// Prints a command's outcome and exits with the code SPEC §6 gives:
/// 0 success, 1 runtime failure, 2 usage or config error.
pub fn finish(program: &str, result: Result<String, CliError>) -> ! {
    match result {
        Ok(out) => {
            print!("{out}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{program}: {}", e.message().replace('\n', " "));
            std::process::exit(e.exit_code())
        }
    }
}
