//! The checks `test` runs on a trained model's folder (its artifact, replay
//! and golden files): parity of the wasm package, the file scorer and the
//! native server, the page and the report in Chromium, the soak and the crash.
//! The Worker's are in `edge`; the API fuzzer's in `fuzz`. Each builds or
//! starts what it needs except the wasm package and release binaries (`steps`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cmd::{sh, step};
use crate::processes::{fraud_server, free_port, ServerConfig, Signal, Supervised};

/// The wasm package (Node build) against the native golden file of `model_dir`.
pub(crate) fn parity(model_dir: &Path) -> Result<()> {
    step("parity: wasm in Node vs the native core, bit for bit");
    sh(Command::new("node")
        .arg("wasm/tests/parity.mjs")
        .arg("wasm/pkg-node")
        .arg(model_dir.join("model.bin"))
        .arg(model_dir.join("replay.csv"))
        .arg(model_dir.join("golden.csv")))
}

/// Probability bits and decisions, one per row, read from a CSV with the `dataset` reader.
fn probabilities(path: &Path, bits_column: Option<&str>, probability: &str) -> Result<Vec<(u64, u8)>> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    // The golden file opens with a `# model_id …` line before its header.
    let body = match text.strip_prefix(b"#") {
        Some(rest) => rest.iter().position(|&b| b == b'\n').map_or(&[][..], |n| &rest[n + 1..]),
        None => &text[..],
    };
    let spec = dataset::Spec {
        features: dataset::Features::Named(vec![probability.to_string()]),
        label: "is_fraud".to_string(),
        // The bits column holds hex, not a number: read it as the carried id.
        id: bits_column.map(str::to_string),
    };
    let table = dataset::parse_csv(body, &spec).with_context(|| format!("reading {}", path.display()))?;
    let bits: Vec<u64> = match table.ids() {
        Some((column, hex)) => hex
            .iter()
            .enumerate()
            .map(|(i, h)| {
                u64::from_str_radix(h, 16).with_context(|| format!("{}: row {i}: {column} {h:?}", path.display()))
            })
            .collect::<Result<_>>()?,
        None => table.values().iter().map(|p| p.to_bits()).collect(),
    };
    Ok(bits.into_iter().zip(table.labels().iter().copied()).collect())
}

/// The file scorer (`score`) on the replay file against the golden file: every
/// probability's bits and every decision.
pub(crate) fn score_check(dir: &Path) -> Result<()> {
    step("score: the file scorer on the replay file vs the golden file, bit for bit");
    let out = Path::new("target/score-check.csv");
    sh(Command::new("target/release/score")
        .arg("--model")
        .arg(dir.join("model.bin"))
        .arg("--input")
        .arg(dir.join("replay.csv"))
        .arg("--output")
        .arg(out)
        .args(["--reasons", "0", "--quiet"])
        .args(parity_rules_args(dir)))?;
    // golden: row,probability_bits,probability,is_fraud,action,rule;
    // scored: line,[id,]fraud_probability,is_fraud[,action,rule,shadow_rules].
    let golden = dir.join("golden.csv");
    let want = probabilities(&golden, Some("probability_bits"), "probability")?;
    let got = probabilities(out, None, "fraud_probability")?;
    let differ = want.iter().zip(&got).filter(|(w, g)| w != g).count();
    if want.len() != got.len() || differ > 0 {
        bail!("score: {} rows vs {} golden, {differ} differ", got.len(), want.len());
    }
    let (want, got) = (verdicts(&golden)?, verdicts(out)?);
    let differ = want.iter().zip(&got).filter(|(w, g)| w != g).count();
    if want.len() != got.len() || differ > 0 {
        let first = want.iter().zip(&got).position(|(w, g)| w != g);
        bail!(
            "score: actions and rules of {} rows vs {} golden, {differ} differ (first at row {first:?})",
            got.len(),
            want.len()
        );
    }
    eprintln!("score OK: {} rows, bits, decisions, actions and rules equal to the golden file", got.len());
    Ok(())
}

/// Each row's `action` and `rule` columns (the last two of the golden file,
/// by name in the scorer's output). The fields are plain words: no quoting.
fn verdicts(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name);
    let (Some(action), Some(rule)) = (at("action"), at("rule")) else {
        bail!("{}: no action and rule columns", path.display())
    };
    // Ids may hold commas inside quotes, but action and rule sit after them: count from the end.
    let from_end = (header.len() - action, header.len() - rule);
    lines
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            let pick = |back: usize| fields.get(fields.len().wrapping_sub(back)).map(|s| s.to_string());
            match (pick(from_end.0), pick(from_end.1)) {
                (Some(a), Some(r)) => Ok((a, r)),
                _ => bail!("{}: a short line: {l}", path.display()),
            }
        })
        .collect()
}

/// The release server with `dir`'s model, deciding by its parity rules,
/// serving `site` at `/` (the contract cases and the fuzzer see the server as
/// `run` starts it, with rules).
pub(crate) fn server_with_site(dir: &Path, site: &Path) -> Result<Supervised> {
    let args = parity_rules_args(dir);
    fraud_server(&ServerConfig { site: Some(site.to_path_buf()), args, ..ServerConfig::new(&dir.join("model.bin")) })
}

/// The rules a model folder's golden file is decided by, with their lists
/// folder: the parity rules (`models::write_parity_rules`), else the rules the
/// trainer proposed (`rules.txt`, lists in `lists/`), else none.
pub(crate) fn decision_rules(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    [("parity-rules.txt", "parity-lists"), ("rules.txt", "lists")]
        .into_iter()
        .map(|(rules, lists)| (dir.join(rules), dir.join(lists)))
        .find(|(rules, _)| rules.exists())
}

/// `--rules FILE --lists DIR` for [`decision_rules`], when `dir` has them.
pub(crate) fn parity_rules_args(dir: &Path) -> Vec<String> {
    match decision_rules(dir) {
        Some((rules, lists)) => {
            let mut args = vec!["--rules".to_string(), rules.display().to_string()];
            if lists.is_dir() {
                args.extend(["--lists".to_string(), lists.display().to_string()]);
            }
            args
        }
        None => Vec::new(),
    }
}

/// The native server vs the golden file (every row, one by one and in batches) and the contract cases.
pub(crate) fn http_check(dir: &Path, site: &Path) -> Result<()> {
    step("HTTP: the native server vs the golden file (every row, one by one and in batches) and the contract cases");
    let server = server_with_site(dir, site)?;
    sh(Command::new("node").arg("parity/http-check.mjs").arg(server.url()).args(golden_files(dir)))?;
    server.stop()
}

/// The files `parity/http-check.mjs` compares a runtime against.
pub(crate) fn golden_files(dir: &Path) -> [std::path::PathBuf; 3] {
    [dir.join("model.bin"), dir.join("replay.csv"), dir.join("golden.csv")]
}

/// The page in headless Chromium, served by the native server with `dir`'s
/// model, against its golden file.
pub(crate) fn browser_test(dir: &Path, site: &Path) -> Result<()> {
    step("browser: the replay page in headless Chromium (screenshot in target/web-test/page.png)");
    let server = server_with_site(dir, site)?;
    let out = Path::new("target/web-test");
    std::fs::create_dir_all(out)?;
    sh(Command::new("node")
        .arg("web/tests/page.test.mjs")
        .arg(format!("{}/", server.url()))
        .arg(dir.join("golden.csv"))
        .arg(dir.join("replay.csv"))
        .arg(out))?;
    server.stop()
}

/// Writes an admin token file (`NAME sha256:HEX`) for `token` into `dir`; returns its path.
pub(crate) fn admin_token_file(dir: &Path, name: &str, token: &str) -> Result<PathBuf> {
    let digest: String =
        <sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join("tokens.txt");
    std::fs::write(&path, format!("{name} sha256:{digest}\n"))?;
    Ok(path)
}

/// The review queue page in headless Chromium against a server with a fresh SQLite decision log:
/// `REVIEWED` replay transactions sent to review by a rule every schema has (`:probability: >= 0`).
pub(crate) fn review_test(dir: &Path, site: &Path) -> Result<()> {
    const REVIEWED: usize = 30;
    const TOKEN: &str = "browser-review-token";
    step("browser: the review queue in headless Chromium against a server with a SQLite decision log");
    let work = crate::cmd::workspace_root().join("target/web-test/review");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("lists"))?;
    let rules = work.join("rules.txt");
    std::fs::write(&rules, "version review-test\nreview everything if :probability: >= 0\n")?;
    let tokens = admin_token_file(&work, "analyst", TOKEN)?;
    let args = [
        "--rules".to_string(),
        rules.display().to_string(),
        "--lists".to_string(),
        work.join("lists").display().to_string(),
        "--decision-log".to_string(),
        work.join("decisions.db").display().to_string(),
        "--decision-log-sync".to_string(),
        "normal".to_string(),
        "--admin-token-file".to_string(),
        tokens.display().to_string(),
    ];
    let server = fraud_server(&ServerConfig {
        site: Some(site.to_path_buf()),
        args: args.to_vec(),
        ..ServerConfig::new(&dir.join("model.bin"))
    })?;
    let url = server.url().to_string();
    let port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).context("the server's port")?;
    for body in crate::load::replay_transactions(&dir.join("replay.csv"), &dir.join("model.bin"), REVIEWED)? {
        let probe = crate::http::Probe {
            method: "POST".into(),
            target: "/predict".into(),
            content_type: Some("application/json".into()),
            body: body.into_bytes(),
        };
        match crate::http::send(port, &probe) {
            Some((200, _)) => {}
            other => bail!("POST /predict to the review server answered {other:?}"),
        }
    }
    sh(Command::new("node")
        .arg("web/tests/review.test.mjs")
        .arg(format!("{url}/"))
        .arg(TOKEN)
        .arg(REVIEWED.to_string()))?;
    server.stop()
}

/// The training report at 1280 px in headless Chromium: no text outside its
/// chart or over another; the money and calibration figures present.
pub(crate) fn report_test(dir: &Path) -> Result<()> {
    let shot = Path::new("target/web-test")
        .join(format!("report-{}.png", dir.file_name().and_then(|n| n.to_str()).unwrap_or("model")));
    step(&format!(
        "report: {} in headless Chromium at 1280 px (screenshot {})",
        dir.join("report.html").display(),
        shot.display()
    ));
    std::fs::create_dir_all("target/web-test")?;
    sh(Command::new("node").arg("web/tests/report.test.mjs").arg(dir.join("report.html")).arg(shot))
}

/// A bounded soak of the release server with `model_dir`'s model and replay file.
pub(crate) fn soak(model_dir: &Path, seconds: u64) -> Result<()> {
    step(&format!("soak: {seconds} s of valid, invalid, batch, slow, stalled, trickling and disconnecting clients"));
    let args = ["--timeout-ms", "2000", "--header-timeout-ms", "2000"].map(String::from).to_vec();
    let server = fraud_server(&ServerConfig { args, ..ServerConfig::new(&model_dir.join("model.bin")) })?;
    let addr = server.url().trim_start_matches("http://").to_string();
    sh(Command::new("target/release/soak")
        .args(["--addr", &addr, "--pid", &server.pid().to_string(), "--seconds", &seconds.to_string()])
        .args(["--server-timeout-ms", "2000", "--model"])
        .arg(model_dir.join("model.bin"))
        .arg("--data")
        .arg(model_dir.join("replay.csv")))?;
    server.stop()
}

/// The counts of the streamer's `--summary-json` this check reads (other fields ignored).
#[derive(serde::Deserialize)]
struct StreamCounts {
    sent: u64,
    ok: u64,
    failed: u64,
    retries: u64,
}

/// The streamer keeps going through a server that is killed (SIGKILL) and
/// restarted mid-stream: every transaction must end up accounted for and scored.
pub(crate) fn stream_through_a_crash(model_dir: &Path) -> Result<()> {
    step("faults: kill -9 the server mid-stream, restart it; the streamer must account for every transaction");
    let config = ServerConfig { port: free_port()?, ..ServerConfig::new(&model_dir.join("model.bin")) };
    let server = fraud_server(&config)?;
    let out = Path::new("target/faults");
    std::fs::create_dir_all(out)?;
    let summary_path = out.join("summary.json");
    let _ = std::fs::remove_file(&summary_path);
    let planned = 3000;
    let mut streamer = Command::new("target/release/streamer")
        .args(["--url", &format!("{}/predict", server.url()), "--data"])
        .arg(model_dir.join("replay.csv"))
        .args(["--limit", &planned.to_string(), "--rate", "1000", "--concurrency", "8"])
        .args(["--retries", "10", "--backoff-ms", "100", "--quiet", "--summary-json"])
        .arg(&summary_path)
        .spawn()
        .context("starting the streamer")?;
    std::thread::sleep(Duration::from_millis(1000));
    server.signal(Signal::Kill)?;
    drop(server);
    eprintln!("server killed (SIGKILL) after 1 s; restarting it in 1.5 s");
    std::thread::sleep(Duration::from_millis(1500));
    let server = fraud_server(&config)?;
    let status = streamer.wait()?;
    server.stop()?;
    let summary = std::fs::read_to_string(&summary_path).context("the streamer wrote no summary")?;
    let counts: StreamCounts = serde_json::from_str(&summary)
        .with_context(|| format!("{} is not the streamer's summary", summary_path.display()))?;
    let StreamCounts { sent, ok, failed, retries } = counts;
    eprintln!("faults: planned {planned}, sent {sent}, ok {ok}, failed {failed}, retries {retries}");
    if !status.success() || sent != planned || ok + failed != sent || ok != planned || retries == 0 {
        bail!("the streamer lost track through the crash (exit {status}): {summary}");
    }
    eprintln!(
        "faults OK: nothing lost — every one of {planned} transactions scored, {retries} retries rode out the outage"
    );
    Ok(())
}
