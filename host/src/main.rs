//! `aiod-host`: parses the command line and dispatches to a command.

use aiod_host::{cli, commands, logging, secret};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut cli = cli::parse();
    if let Some(common) = cli.command.common_mut() {
        aiod_host::plugin::use_compiled_cache(!common.limits.no_plugin_cache);
    }
    let result = match cli.command {
        cli::Command::Run(args) => {
            logging::init(&args.common.logs);
            commands::run::run(args)
        }
        cli::Command::Serve(args) => {
            logging::init(&args.common.logs);
            commands::serve::serve(args)
        }
        cli::Command::Retry(args) => {
            logging::init(&args.logs);
            commands::retry::retry(args)
        }
        cli::Command::Check(args) => {
            logging::init(&args.logs);
            Ok(commands::check::check(args))
        }
        cli::Command::Failures(args) => commands::failures::failures(args),
        cli::Command::Remap(args) => {
            logging::init(&args.common.logs);
            commands::remap::remap(args)
        }
        cli::Command::Status(args) => commands::status::status(args),
        cli::Command::ResetPass(args) => commands::reset_pass::reset_pass(args),
        cli::Command::Config(cli::ConfigCommand::Show(args)) => {
            logging::init(&args.logs);
            commands::config_show::show(&args)
        }
        cli::Command::Plugin(cli::PluginCommand::New { name, lang, dir }) => {
            commands::plugin::new(&name, lang, &dir)
        }
        cli::Command::Plugin(cli::PluginCommand::Inspect { file, json }) => {
            commands::plugin::inspect(&file, json)
        }
        cli::Command::Plugin(cli::PluginCommand::Test { file, fixtures }) => {
            commands::plugin::test(&file, &fixtures)
        }
        cli::Command::Plugin(cli::PluginCommand::Diff {
            old,
            new,
            fixtures,
            state,
        }) => commands::plugin::diff(&old, &new, fixtures.as_deref(), state.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", secret::redact(&format!("{e:#}")));
            e.exit_code()
        }
    }
}
