//! The `pvc-resize` command line: parses the arguments and dispatches to `run::<command>`, where
//! each command reads, calls the library, writes and picks the exit status. Nothing else.
//!
//! Exit status, the same for every command: 0 done / nothing wrong; 1 a check found something;
//! 2 the tool could not do what was asked. stdout carries only the product.

use clap::Parser;
use std::process::ExitCode;

mod cli;
mod helm4_run;
mod install;
mod run;

use cli::{Cli, Command};
use run::{Diag, argument_error};

/// The stack of the thread that runs a command: YAML nests up to 10,000 levels (Helm's limit,
/// `yaml::MAX_DEPTH`), and reading, converting and dropping such a tree recurses once per level.
/// Only what is used is committed.
const STACK_BYTES: usize = 512 << 20;

fn main() -> ExitCode {
    let worker = std::thread::Builder::new()
        .name("main".to_owned())
        .stack_size(STACK_BYTES)
        .spawn(run);
    match worker.map(|w| w.join()) {
        Ok(Ok(code)) => code,
        // The panic message is out already (the default hook); 101 as for a panic in main.
        Ok(Err(_)) => ExitCode::from(101),
        Err(_) => run(),
    }
}

fn run() -> ExitCode {
    let mut diag = Diag::for_run();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if diag.plugin.is_some() => {
            let text = if e.use_stderr() {
                argument_error(&e)
            } else {
                e.render().to_string()
            };
            return diag.fail(&text);
        }
        Err(e) if !e.use_stderr() => {
            // --help, --version: the product, on stdout.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprint!("{}", argument_error(&e));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Values(a) => run::values::run_values(a, &mut diag),
        Command::PostRender(a) => run::post_render::run_post_render(a, &mut diag),
        Command::Validate(a) => run::validate::run_validate(a, &mut diag),
        Command::Check(a) => run::check::run_check(a, &mut diag),
        Command::Plan(a) => run::plan::run_plan(a, &mut diag),
        Command::Advise(a) => run::advise::run_advise(a, &mut diag),
        Command::HelmPlugin(a) => run::plugin::run_helm_plugin(a, &mut diag),
        Command::Completions(a) => {
            let script =
                String::from_utf8(install::completions(a.shell)).expect("clap writes UTF-8");
            run::deliver(a.output.as_deref(), &script).map(|_| ExitCode::SUCCESS)
        }
        Command::Man(a) => run::plugin::run_man(a, &mut diag),
        Command::QuotaCheck(a) => run::script::run_quota_check(a, &mut diag),
        Command::UpdateRules(a) => run::script::run_update_rules(a, &mut diag),
        Command::VerifyRender(a) => run::plan::run_verify_render(a, &mut diag),
    };
    match result {
        Ok(code) => code,
        Err(e) => diag.fail(&format!("pvc-resize: error: {e:#}")),
    }
}
