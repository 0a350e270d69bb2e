//! The `trygg` command: run the service, import and export data, create
//! demo data, tokens and users. Every data command works on the same data
//! directory as a running server.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use time::{Date, OffsetDateTime};
use tokio::net::TcpListener;

use trygg::config::{DataArgs, ModelArgs, ServerArgs};

/// jemalloc rather than glibc's malloc: request handling and import parsing
/// make many small, short-lived allocations, often freed on another thread,
/// which glibc serves through its slower shared bins. Its settings (pages
/// returned within a second, by a background thread) are in
/// `.cargo/config.toml`.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
use trygg::demo;
use trygg::export::ObservationWriter;
use trygg::http::{AppState, serve};
use trygg::ingest::Format;
use trygg::model::{Principal, Role, Taxonomy};
use trygg::service::{Imported, Refused, Service, credentials, export, import_into};
use trygg::store::{BatchPolicy, PgStore, SqliteStore, Store};

/// Trygg maps perceived insecurity, safety-walk findings and place
/// observations for Swedish municipalities, and serves hexagon analyses of them.
#[derive(Debug, Parser)]
#[command(name = "trygg", version, about, long_about = None)]
struct Cli {
    /// Log filter, e.g. `info` or `trygg=debug`.
    #[arg(long, global = true, env = "TRYGG_LOG", default_value = "info")]
    log: String,

    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "TRYGG_LOG_JSON")]
    log_json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once at start; serve's settings are the large variant"
)]
enum Command {
    /// Run the HTTP service.
    Serve {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        server: ServerArgs,
        /// Fill an empty store with synthetic Södertälje demo data first.
        #[arg(long)]
        demo: bool,
        /// Observations to generate with --demo.
        #[arg(long, default_value_t = demo::DEFAULT_DEMO_COUNT)]
        demo_count: usize,
        /// Random seed for --demo.
        #[arg(long, default_value_t = 1)]
        demo_seed: u64,
    },
    /// Import observations from a GeoJSON FeatureCollection, CSV or NDJSON file.
    Import {
        /// The file; its extension (.geojson, .json, .csv, .ndjson) gives the format.
        file: PathBuf,
        /// Override the format guessed from the extension.
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// Store the valid records even if some are invalid (default: all or nothing).
        #[arg(long)]
        partial: bool,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Export every observation as GeoJSON or CSV.
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Write synthetic Södertälje demo observations to a file.
    DemoData {
        /// Number of observations.
        #[arg(long, default_value_t = demo::DEFAULT_DEMO_COUNT)]
        count: usize,
        /// Random seed; the same seed, count and end date give the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file; .csv, .geojson or .ndjson.
        #[arg(long, short)]
        out: PathBuf,
        /// The data covers the two years before this date (default: today).
        #[arg(long)]
        end: Option<String>,
    },
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it (alone) on standard output.
    Create {
        /// partner, analyst or admin.
        #[arg(long)]
        role: Role,
        /// Organisation (required for partners).
        #[arg(long)]
        org: Option<String>,
        /// What the token is for.
        #[arg(long, default_value = "")]
        label: String,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input (one line).
    Add {
        #[arg(long)]
        username: String,
        /// partner, analyst or admin.
        #[arg(long)]
        role: Role,
        /// Organisation (required for partners).
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FileFormat {
    Geojson,
    Csv,
    Ndjson,
}

impl From<FileFormat> for Format {
    fn from(f: FileFormat) -> Self {
        match f {
            FileFormat::Geojson => Format::GeoJson,
            FileFormat::Csv => Format::Csv,
            FileFormat::Ndjson => Format::NdJson,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Geojson,
    Csv,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log, cli.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(format!("refinery_core=warn,{filter}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve {
            data,
            server,
            demo,
            demo_count,
            demo_seed,
        } => run_server(&data, &server, demo.then_some((demo_count, demo_seed))).await,
        Command::Import {
            file,
            format,
            partial,
            data,
            model,
        } => import(&file, format.map(Format::from), partial, &data, &model).await,
        Command::Export { format, out, data } => export_all(format, out.as_deref(), &data).await,
        Command::DemoData {
            count,
            seed,
            out,
            end,
        } => demo_data(count, seed, &out, end.as_deref()),
        Command::Token(TokenCommand::Create {
            role,
            org,
            label,
            expires_in_days,
            data,
        }) => {
            let store = open_store(&data).await?;
            let asked = credentials::TokenRequest {
                role,
                organisation: org,
                label,
                expires_in_days,
            };
            let issued =
                credentials::issue_token(store.as_ref(), &Principal::command_line(), asked)
                    .await
                    .map_err(refusal)?;
            println!("{}", issued.secret);
            Ok(())
        }
        Command::User(UserCommand::Add {
            username,
            role,
            org,
            data,
        }) => add_user(&username, role, org, &data).await,
    }
}

/// The PostgreSQL store when a database URL is given, else the embedded one.
async fn open_store(data: &DataArgs) -> Result<Arc<dyn Store>> {
    Ok(match &data.database_url {
        Some(url) => Arc::new(
            PgStore::open(url)
                .await
                .context("opening the PostgreSQL store")?,
        ),
        None => Arc::new(
            SqliteStore::open(&data.data_dir)
                .with_context(|| format!("opening the store in {}", data.data_dir.display()))?,
        ),
    })
}

async fn run_server(
    data: &DataArgs,
    server: &ServerArgs,
    demo: Option<(usize, u64)>,
) -> Result<()> {
    let settings = server.finalize().context("invalid configuration")?;
    ensure_web_assets(&settings.web_dir);
    let store = open_store(data).await?;
    if let Some((count, seed)) = demo {
        seed_demo(store.as_ref(), &settings.taxonomy, count, seed).await?;
    }
    let started = std::time::Instant::now();
    let service = Service::open(
        Arc::clone(&store),
        settings.taxonomy.clone(),
        settings.region,
    )
    .await
    .context("loading observations into the index")?
    .with_tile_cache(settings.tile_cache_bytes())
    .with_anonymous_reach_back(settings.anonymous_reach_back);
    tracing::info!(
        observations = service.observation_count(),
        seconds = started.elapsed().as_secs_f64(),
        "index loaded"
    );
    let listener = TcpListener::bind(server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", server.listen))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this line to find the port.
    println!("listening on http://{addr}");
    std::io::stdout().flush()?;
    serve(
        listener,
        AppState::new(Arc::new(service), settings),
        shutdown_signal(),
    )
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Installs the front end's npm packages (MapLibre GL JS) on first run, so
/// that the run command alone serves a working map.
fn ensure_web_assets(web_dir: &Path) {
    if web_dir
        .join("node_modules/maplibre-gl/dist/maplibre-gl.mjs")
        .exists()
    {
        return;
    }
    if !web_dir.join("package.json").exists() {
        tracing::warn!(dir = %web_dir.display(), "no web front end found; serving the API only");
        return;
    }
    tracing::info!(dir = %web_dir.display(), "installing the web front end's packages (npm ci)");
    let status = std::process::Command::new("npm")
        .args(["ci", "--omit=dev", "--no-audit", "--no-fund"])
        .current_dir(web_dir)
        .stdout(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => tracing::warn!(%s, "npm ci failed; the map page will not work until it succeeds"),
        Err(e) => {
            tracing::warn!(error = %e, "npm not found; install Node.js and run `npm ci` in web/ for the map page");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn seed_demo(store: &dyn Store, taxonomy: &Taxonomy, count: usize, seed: u64) -> Result<()> {
    for area in demo::areas() {
        store.put_area(&area).await.context("storing demo areas")?;
    }
    let known: Vec<String> = store
        .list_actions()
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let new: Vec<_> = demo::action_plan()
        .into_iter()
        .filter(|a| !known.contains(&a.id))
        .collect();
    for action in &new {
        store
            .put_action(action)
            .await
            .context("storing the demo action plan")?;
    }
    let today = OffsetDateTime::now_utc().date();
    for value in demo::indicator_values(&new, today) {
        store
            .put_indicator_value(&value)
            .await
            .context("storing the demo plan's entered values")?;
    }
    if store.count().await? > 0 {
        tracing::info!("the store has data already; not adding demo observations");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let data = demo::generate(seed, count, today, taxonomy);
    for walk in &data.walks {
        store
            .create_walk(walk)
            .await
            .context("storing demo walks")?;
    }
    let n = data.observations.len();
    store
        .insert_batch(data.observations, BatchPolicy::AllOrNothing)
        .await
        .context("storing demo observations")?;
    tracing::info!(
        observations = n,
        walks = data.walks.len(),
        seconds = started.elapsed().as_secs_f64(),
        "demo data stored"
    );
    Ok(())
}

fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(what.to_owned());
    pb
}

async fn import(
    file: &Path,
    format: Option<Format>,
    partial: bool,
    data: &DataArgs,
    model: &ModelArgs,
) -> Result<()> {
    let (region, taxonomy) = model.finalize().context("invalid configuration")?;
    let format = format
        .or_else(|| Format::from_path(file))
        .with_context(|| format!("cannot tell the format of {}; use --format", file.display()))?;
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let len = f.metadata().map_or(0, |m| m.len());
    let started = std::time::Instant::now();
    let pb = progress_bar(len, "importing");
    let reader = BufReader::with_capacity(1 << 16, pb.wrap_read(f));
    let store = open_store(data).await?;
    // Parsing and storing overlap; the writer commits once, at the end.
    let Imported {
        checked,
        outcome: out,
    } = import_into(
        store.as_ref(),
        &Principal::command_line(),
        (taxonomy, region),
        format,
        reader,
        partial,
        20,
    )
    .await
    .with_context(|| format!("importing {}", file.display()))?;
    pb.finish_and_clear();
    for r in &checked.rejections {
        let pos = r.position;
        let at = pos
            .line
            .map_or(format!("record {}", pos.record), |l| format!("line {l}"));
        let why = r
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        eprintln!("{at}: {why}");
    }
    let rejected = checked.rejected;
    if rejected > 20 {
        eprintln!("… and {} more invalid records", rejected - 20);
    }
    if rejected > 0 && !partial {
        bail!(
            "{rejected} invalid records; nothing imported (use --partial to import the valid ones)"
        );
    }
    if !out.conflicts.is_empty() && !partial {
        bail!(
            "{} records reuse ids stored with other content; nothing imported",
            out.conflicts.len()
        );
    }
    eprintln!(
        "read, checked and stored {} records in {:.1} s",
        checked.accepted_ids.len() + rejected,
        started.elapsed().as_secs_f64()
    );
    println!(
        "imported {} observations ({} already present, {} conflicting, {} invalid)",
        out.stored,
        out.duplicates.len(),
        out.conflicts.len(),
        rejected
    );
    Ok(())
}

async fn export_all(format: ExportFormat, out: Option<&Path>, data: &DataArgs) -> Result<()> {
    let store = open_store(data).await?;
    let sink: Box<dyn Write> = match out {
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let format = match format {
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Geojson => Format::GeoJson,
    };
    let writer = ObservationWriter::new(format, BufWriter::new(sink))?;
    let written =
        export::export_observations(store.as_ref(), &Principal::command_line(), writer).await?;
    eprintln!("exported {written} observations");
    Ok(())
}

fn demo_data(count: usize, seed: u64, out: &Path, end: Option<&str>) -> Result<()> {
    let format =
        Format::from_path(out).context("the output file must end in .csv, .geojson or .ndjson")?;
    let end = match end {
        Some(s) => Date::parse(s, &time::format_description::well_known::Iso8601::DATE)
            .with_context(|| format!("--end {s:?} is not a date YYYY-MM-DD"))?,
        None => OffsetDateTime::now_utc().date(),
    };
    let data = demo::generate(seed, count, end, &Taxonomy::builtin());
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut w = ObservationWriter::new(format, BufWriter::new(file))?;
    for o in &data.observations {
        w.write(o)?;
    }
    w.finish()?;
    eprintln!(
        "wrote {} demo observations to {}",
        data.observations.len(),
        out.display()
    );
    Ok(())
}

/// A refusal as the command line says it: every invalid field at once.
fn refusal(e: Refused) -> anyhow::Error {
    match e {
        Refused::Invalid(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::Error::new(other),
    }
}

async fn add_user(username: &str, role: Role, org: Option<String>, data: &DataArgs) -> Result<()> {
    eprintln!("password (one line on standard input):");
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password")?;
    let asked = credentials::UserRequest {
        username: username.to_owned(),
        role,
        organisation: org,
        password: password.trim_end_matches(['\r', '\n']).to_owned(),
    };
    let store = open_store(data).await?;
    let user = credentials::add_user(store.as_ref(), &Principal::command_line(), asked)
        .await
        .map_err(refusal)?;
    let username = user.username;
    eprintln!("added {role} {username}");
    Ok(())
}
