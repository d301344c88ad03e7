//! `cargo xtask test` as a list of named steps: the whole list in order, or
//! `--only STEP` (each step installs, builds and trains what it needs itself),
//! or `--list`. Steps marked per model run for each checked model, model by
//! model, as one group.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Result};

use crate::bundle::{build_site, build_wasm, build_worker};
use crate::checks::{browser_test, http_check, parity, report_test, score_check, soak, stream_through_a_crash};
use crate::cmd::{build_release, cargo, sh, step};
use crate::models::{trained, Checked, Data, Training, KINDS};
use crate::tools::{self, Tool};
use crate::{edge, fuzz};

/// `cargo xtask test`'s options.
#[derive(Clone, Debug, Default, clap::Args)]
pub(crate) struct TestOptions {
    /// Print the steps, in the order the whole test runs them, and exit.
    #[arg(long)]
    pub(crate) list: bool,
    /// Run only these steps (comma-separated or repeated; see --list). Each
    /// installs and builds what it needs, and trains its models or reuses ones
    /// newer than the trainer.
    #[arg(long, value_delimiter = ',', value_name = "STEP", value_parser = step_names())]
    pub(crate) only: Vec<String>,
    /// Run the per-model steps for this model only (default: every one).
    #[arg(long, value_name = "MODEL", value_parser = model_names())]
    pub(crate) model: Option<String>,
}

/// What a step does.
#[derive(Clone, Copy)]
enum Run {
    Once(fn(&mut Ctx) -> Result<()>),
    /// Once for each checked model, with its trained folder.
    PerModel(fn(&mut Ctx, &Checked, &std::path::Path) -> Result<()>),
}

/// One step of the test.
pub(crate) struct Step {
    name: &'static str,
    about: &'static str,
    run: Run,
}

/// Every step, in the order the whole test runs them.
const STEPS: &[Step] = &[
    Step {
        name: "tools",
        about: "install every tool the steps use (skipping what is present)",
        run: Run::Once(install_tools),
    },
    Step { name: "fmt", about: "cargo fmt --all --check", run: Run::Once(fmt) },
    Step { name: "clippy", about: "cargo clippy on the workspace, warnings are errors", run: Run::Once(clippy) },
    Step { name: "no-std", about: "core builds for wasm32-unknown-unknown without std", run: Run::Once(no_std) },
    Step {
        name: "cargo-test",
        about: "unit, integration and end-to-end tests (the real-data gate runs or says it skipped)",
        run: Run::Once(cargo_test),
    },
    Step {
        name: "wasm-test",
        about: "wasm-pack test --node: the bindings' every error path",
        run: Run::Once(wasm_test),
    },
    Step { name: "wasm", about: "build the wasm package (web and Node) within its size budget", run: Run::Once(wasm) },
    Step {
        name: "js-unit",
        about: "node --test: the page's CSV reader and the parity harness on the format-5 fixture",
        run: Run::Once(js_unit),
    },
    Step {
        name: "parity",
        about: "per model: wasm in Node vs the native golden file, bit for bit",
        run: Run::PerModel(parity_step),
    },
    Step { name: "score", about: "per model: the file scorer vs the golden file", run: Run::PerModel(score_step) },
    Step {
        name: "http",
        about: "per model: the native server vs the golden file and the contract cases",
        run: Run::PerModel(http_step),
    },
    Step {
        name: "api-fuzz",
        about: "per model: schemathesis against the native server, every check",
        run: Run::PerModel(api_fuzz_step),
    },
    Step {
        name: "browser",
        about: "per model: the replay page in headless Chromium",
        run: Run::PerModel(browser_step),
    },
    Step {
        name: "report",
        about: "per model: the training report's layout in headless Chromium",
        run: Run::PerModel(report_step),
    },
    Step {
        name: "edge",
        about: "per model: the Worker under wrangler dev vs the golden file, the contract cases and the streamer",
        run: Run::PerModel(edge_step),
    },
    Step {
        name: "edge-fuzz",
        about: "per model: schemathesis against the Worker under wrangler dev; proxy drops told from Worker failures",
        run: Run::PerModel(edge_fuzz_step),
    },
    Step {
        name: "python",
        about: "per model: the Python package's wheel and pytest (golden bits, the server's answers; scikit-learn's checks once)",
        run: Run::PerModel(python_step),
    },
    Step {
        name: "soak",
        about: "20 s soak of the native server (Kaggle-schema trees model)",
        run: Run::Once(soak_step),
    },
    Step {
        name: "fleet",
        about: "20 swaps under the streamer; a server and two consumers on one NATS bucket switched by one publish",
        run: Run::Once(fleet_step),
    },
    Step {
        name: "faults",
        about: "kill -9 the server mid-stream: the streamer accounts for every transaction",
        run: Run::Once(faults_step),
    },
];

fn step_names() -> clap::builder::PossibleValuesParser {
    STEPS.iter().map(|s| s.name).collect::<Vec<_>>().into()
}

fn model_names() -> clap::builder::PossibleValuesParser {
    KINDS.iter().map(|m| m.name).collect::<Vec<_>>().into()
}

/// What the steps of one run share: tools and builds done once, models trained once.
struct Ctx {
    training: Training,
    built: HashSet<String>,
    trained: HashSet<&'static str>,
    /// The model the Worker in edge-worker/build has compiled in.
    worker: Option<&'static str>,
}

impl Ctx {
    /// Release binaries, built once per run.
    fn release(&mut self, packages: &[&str]) -> Result<()> {
        if self.built.insert(packages.join(" ")) {
            build_release(packages)?;
        }
        Ok(())
    }

    /// The wasm package (wasm/pkg-web, wasm/pkg-node), built once per run.
    fn wasm(&mut self) -> Result<()> {
        tools::ensure(tools::WASM)?;
        if self.built.insert("wasm".into()) {
            build_wasm()?;
        }
        Ok(())
    }

    /// `model`'s folder: trained once per run (or reused, with `--only`).
    fn model(&mut self, model: &Checked) -> Result<PathBuf> {
        self.release(&["native-train", "score"])?;
        let training = if self.trained.insert(model.name) { self.training } else { Training::Reuse };
        trained(model, training)
    }

    /// The site folder for `dir`'s model (the page, the wasm package, the artifact and replay file).
    fn site(&mut self, dir: &std::path::Path) -> Result<PathBuf> {
        self.wasm()?;
        build_site(dir)
    }

    /// The Worker with `model` compiled in (rebuilt only when another model is in it).
    fn worker(&mut self, model: &Checked, dir: &std::path::Path) -> Result<()> {
        tools::ensure(tools::EDGE)?;
        if self.worker != Some(model.name) {
            build_worker(dir)?;
            self.worker = Some(model.name);
        }
        Ok(())
    }
}

fn install_tools(_: &mut Ctx) -> Result<()> {
    tools::ensure(tools::RUST)?;
    tools::ensure(&[Tool::NatsServer, Tool::Postgres])?;
    tools::ensure(tools::EDGE)?;
    tools::ensure(tools::BROWSER)?;
    tools::ensure(&[Tool::Schemathesis, Tool::PythonPackage])
}

fn fmt(_: &mut Ctx) -> Result<()> {
    tools::ensure(&[Tool::Rustfmt])?;
    step("formatting (cargo fmt --check)");
    sh(cargo().args(["fmt", "--all", "--", "--check"]))
}

fn clippy(_: &mut Ctx) -> Result<()> {
    tools::ensure(&[Tool::Clippy])?;
    step("lints (cargo clippy, warnings are errors)");
    sh(cargo().args(["clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"]))
}

fn no_std(_: &mut Ctx) -> Result<()> {
    tools::ensure(&[Tool::WasmTarget])?;
    step("core builds for wasm32 without std");
    sh(cargo().args([
        "build",
        "--quiet",
        "-p",
        "fraud-core",
        "--target",
        "wasm32-unknown-unknown",
        "--no-default-features",
    ]))
}

fn cargo_test(_: &mut Ctx) -> Result<()> {
    // consumer/tests/e2e.rs starts nats-server on a free loopback port and stops it by its PID;
    // the decision log's tests do the same with PostgreSQL (required here, not skipped).
    tools::ensure(&[Tool::NatsServer, Tool::Postgres])?;
    step("unit, integration and end-to-end tests (includes the real-data gate, or says it skipped)");
    sh(cargo()
        .args(["test", "--workspace", "--", "--show-output"])
        .env("RUST_LOG", "warn")
        .env("FRAUD_REQUIRE_POSTGRES", "1"))
}

fn wasm_test(_: &mut Ctx) -> Result<()> {
    tools::ensure(tools::WASM)?;
    step("wasm bindings: wasm-pack test --node (every error path)");
    sh(Command::new("wasm-pack").args(["test", "--node", "wasm"]).env("PATH", tools::tools_path()))
}

fn wasm(ctx: &mut Ctx) -> Result<()> {
    ctx.wasm()
}

fn js_unit(ctx: &mut Ctx) -> Result<()> {
    ctx.wasm()?;
    step("JS unit tests: node --test web/tests/*.unit.mjs");
    sh(Command::new("node").args(["--test", "web/tests/tabular.unit.mjs"]))
}

fn parity_step(ctx: &mut Ctx, _: &Checked, dir: &std::path::Path) -> Result<()> {
    ctx.wasm()?;
    parity(dir)
}

fn score_step(_: &mut Ctx, _: &Checked, dir: &std::path::Path) -> Result<()> {
    score_check(dir)
}

fn http_step(ctx: &mut Ctx, _: &Checked, dir: &std::path::Path) -> Result<()> {
    ctx.release(&["server", "streamer"])?;
    let site = ctx.site(dir)?;
    http_check(dir, &site)
}

fn api_fuzz_step(ctx: &mut Ctx, _: &Checked, dir: &std::path::Path) -> Result<()> {
    ctx.release(&["server", "streamer"])?;
    let site = ctx.site(dir)?;
    fuzz::native(dir, &site)
}

fn browser_step(ctx: &mut Ctx, _: &Checked, dir: &std::path::Path) -> Result<()> {
    tools::ensure(tools::BROWSER)?;
    ctx.release(&["server", "streamer"])?;
    let site = ctx.site(dir)?;
    browser_test(dir, &site)?;
    crate::checks::review_test(dir, &site)
}

fn report_step(_: &mut Ctx, _: &Checked, dir: &std::path::Path) -> Result<()> {
    tools::ensure(tools::BROWSER)?;
    report_test(dir)
}

fn edge_step(ctx: &mut Ctx, model: &Checked, dir: &std::path::Path) -> Result<()> {
    ctx.release(&["server", "streamer"])?;
    ctx.worker(model, dir)?;
    edge::check(dir)
}

fn python_step(ctx: &mut Ctx, model: &Checked, dir: &std::path::Path) -> Result<()> {
    ctx.release(&["server"])?;
    if ctx.built.insert("wheel".into()) {
        crate::python::build_wheel()?;
    }
    // The estimator checks and the training tests do not depend on the model: once, with trees.
    crate::python::check(&crate::python::Suite { dir, estimator_checks: model.name == "trees" })
}

fn edge_fuzz_step(ctx: &mut Ctx, model: &Checked, dir: &std::path::Path) -> Result<()> {
    ctx.worker(model, dir)?;
    fuzz::worker(dir)
}

/// The model the soak and the crash run with: the last Kaggle-schema kind (trees).
fn soak_model(ctx: &mut Ctx) -> Result<PathBuf> {
    let Some(model) = KINDS.iter().rev().find(|m| m.data == Data::Creditcard) else {
        bail!("KINDS lists no model of the Kaggle schema");
    };
    ctx.release(&["server", "streamer"])?;
    ctx.model(model)
}

fn soak_step(ctx: &mut Ctx) -> Result<()> {
    let dir = soak_model(ctx)?;
    soak(&dir, 20)
}

fn fleet_step(ctx: &mut Ctx) -> Result<()> {
    tools::ensure(&[Tool::NatsServer])?;
    let kind = |name: &str| KINDS.iter().find(|m| m.name == name).ok_or_else(|| anyhow::anyhow!("no model {name}"));
    let (old, new) = (kind("logistic")?, kind("trees")?);
    ctx.release(&["server", "streamer", "consumer"])?;
    let (old, new) = (ctx.model(old)?, ctx.model(new)?);
    crate::fleet::swaps_under_the_streamer(&old, &new)?;
    crate::fleet::check(&old, &new)
}

fn faults_step(ctx: &mut Ctx) -> Result<()> {
    let dir = soak_model(ctx)?;
    stream_through_a_crash(&dir)
}

/// How long each step took (the CI budget is read off these).
#[derive(Default)]
struct Timings(Vec<(String, f64)>);

impl Timings {
    fn time<T>(&mut self, name: String, run: impl FnOnce() -> Result<T>) -> Result<T> {
        let t = Instant::now();
        let value = run()?;
        self.0.push((name, t.elapsed().as_secs_f64()));
        Ok(value)
    }
}

/// Prints the steps.
fn list() {
    let width = STEPS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in STEPS {
        println!("{:width$}  {}", s.name, s.about);
    }
    let models: Vec<&str> = KINDS.iter().map(|m| m.name).collect();
    println!("\nper-model steps run for each of: {} (choose one with --model)", models.join(", "));
}

/// `cargo xtask test`.
pub(crate) fn test(options: &TestOptions) -> Result<()> {
    if options.list {
        list();
        return Ok(());
    }
    let t = Instant::now();
    let chosen: Vec<&Step> =
        STEPS.iter().filter(|s| options.only.is_empty() || options.only.iter().any(|o| o == s.name)).collect();
    let models: Vec<&Checked> = KINDS.iter().filter(|m| options.model.as_ref().is_none_or(|n| n == m.name)).collect();
    let training = if options.only.is_empty() { Training::Fresh } else { Training::Reuse };
    let mut ctx = Ctx { training, built: HashSet::new(), trained: HashSet::new(), worker: None };
    let mut timings = Timings::default();
    let mut i = 0;
    while i < chosen.len() {
        match chosen[i].run {
            Run::Once(run) => {
                timings.time(chosen[i].name.to_string(), || run(&mut ctx))?;
                i += 1;
            }
            Run::PerModel(_) => {
                // A run of per-model steps goes model by model: each model's checks together.
                let group: Vec<&Step> =
                    chosen[i..].iter().take_while(|s| matches!(s.run, Run::PerModel(_))).copied().collect();
                for model in &models {
                    let dir = timings.time(format!("model ({})", model.name), || ctx.model(model))?;
                    for s in group.iter().filter(|s| !model.skips.contains(&s.name)) {
                        if let Run::PerModel(run) = s.run {
                            timings.time(format!("{} ({})", s.name, model.name), || run(&mut ctx, model, &dir))?;
                        }
                    }
                }
                i += group.len();
            }
        }
    }
    step("timings");
    for (name, seconds) in &timings.0 {
        eprintln!("{seconds:7.1} s  {name}");
    }
    let what = if options.only.is_empty() { "all tests".to_string() } else { "the chosen steps".to_string() };
    eprintln!("\n{what} passed in {:.0} s", t.elapsed().as_secs_f64());
    Ok(())
}
