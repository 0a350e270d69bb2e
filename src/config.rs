//! Configuration: command-line flags, each with an environment variable
//! (`TRYGG_…`) and a sensible default. Validated once at start-up; a bad
//! value stops the service with a message naming the setting.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::model::{Region, Taxonomy};

/// Where the data lives. Shared by every subcommand that touches data.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Directory of the embedded store (created if missing).
    #[arg(long, env = "TRYGG_DATA_DIR", default_value = "./trygg-data")]
    pub data_dir: PathBuf,

    /// PostgreSQL/PostGIS database to use instead of the embedded store,
    /// e.g. `postgres://trygg@db.example/trygg`. The schema is created on first use.
    #[arg(long, env = "TRYGG_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// What submissions are checked against. Shared by `serve` and `import`.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Category taxonomy file (TOML); the built-in data/taxonomy.toml when unset.
    #[arg(long, env = "TRYGG_TAXONOMY")]
    pub taxonomy: Option<PathBuf>,

    /// Served region as west,south,east,north (WGS 84); points outside are refused.
    #[arg(long, env = "TRYGG_REGION", default_value = "17.30,58.90,17.95,59.32")]
    pub region: String,
}

impl Default for ModelArgs {
    fn default() -> Self {
        ModelArgs {
            taxonomy: None,
            region: "17.30,58.90,17.95,59.32".into(),
        }
    }
}

impl ModelArgs {
    /// The region and taxonomy, checked.
    pub fn finalize(&self) -> Result<(Region, Taxonomy), ConfigError> {
        let region = Region::parse_bbox(&self.region).map_err(ConfigError::Region)?;
        let taxonomy = match &self.taxonomy {
            Some(path) => Taxonomy::load(path)?,
            None => Taxonomy::builtin(),
        };
        Ok((region, taxonomy))
    }
}

/// Settings of the HTTP service.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "TRYGG_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub model: ModelArgs,

    /// Smallest count a public (non-analyst) view shows for a cell; smaller
    /// non-zero counts are suppressed.
    #[arg(long, env = "TRYGG_K_ANONYMITY", default_value_t = 5)]
    pub k_anonymity: u32,

    /// Anonymous submissions allowed per client address per minute.
    #[arg(long, env = "TRYGG_ANONYMOUS_PER_MINUTE", default_value_t = 30)]
    pub anonymous_per_minute: u32,

    /// How many days back an anonymous report's `observed_at` may lie (0: no
    /// limit). Reports made up for any past month would let an outsider pad
    /// a cell there and probe whether others reported in that month.
    #[arg(long, env = "TRYGG_ANONYMOUS_REACH_BACK_DAYS", default_value_t = 31)]
    pub anonymous_reach_back_days: u32,

    /// Largest request body accepted, in bytes (imports excepted).
    #[arg(long, env = "TRYGG_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Largest import body accepted, in bytes.
    #[arg(long, env = "TRYGG_MAX_IMPORT_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub max_import_bytes: usize,

    /// Requests handled at once; beyond this the service answers 503 at once
    /// (with `Retry-After`) instead of queueing without bound.
    #[arg(long, env = "TRYGG_MAX_IN_FLIGHT", default_value_t = 1024)]
    pub max_in_flight: usize,

    /// Address serving only Prometheus `/metrics`, without a token (keep it
    /// private: on the main address `/metrics` needs an admin token).
    #[arg(long, env = "TRYGG_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Seconds a client may take to send a request's headers (and an idle
    /// kept-alive connection stays open); slower connections are closed.
    #[arg(long, env = "TRYGG_HEADER_TIMEOUT_SECS", default_value_t = 30)]
    pub header_timeout_secs: u64,

    /// Seconds a request body may take before it must keep arriving at 64 KiB/s
    /// or faster; a slower body is cut off and the request refused.
    #[arg(long, env = "TRYGG_BODY_TIMEOUT_SECS", default_value_t = 15)]
    pub body_timeout_secs: u64,

    /// How often to pick up writes made by other processes, in milliseconds.
    #[arg(long, env = "TRYGG_CATCH_UP_MS", default_value_t = 1000)]
    pub catch_up_ms: u64,

    /// Directory of the web front end (`index.html`, `app.js`, `node_modules`).
    #[arg(long, env = "TRYGG_WEB_DIR", default_value_os_t = default_web_dir())]
    pub web_dir: PathBuf,

    /// Base-map raster tiles for the web map (an XYZ URL template), or
    /// `none` for a plain background.
    #[arg(
        long,
        env = "TRYGG_BASEMAP",
        default_value = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    )]
    pub basemap: String,

    /// Attribution shown for the base map.
    #[arg(
        long,
        env = "TRYGG_BASEMAP_ATTRIBUTION",
        default_value = "© OpenStreetMap contributors"
    )]
    pub basemap_attribution: String,

    /// Area analyses generated on a schedule: after each `month` or
    /// `quarter` ends, every area gets its analysis of that period stored;
    /// `off` makes them on demand only.
    #[arg(long, env = "TRYGG_ANALYSIS_SCHEDULE", default_value = "quarter",
          value_parser = ["month", "quarter", "off"])]
    pub analysis_schedule: String,

    /// Serve `GET /bench/ceiling`, a static 1 KiB answer: the ceiling the
    /// tile benchmark (`benches/tiles.sh`) measures against.
    #[arg(long, env = "TRYGG_BENCH_CEILING", hide = true)]
    pub bench_ceiling: bool,

    /// Memory for encoded tiles (plain and gzip), in MiB; 0 turns the cache off.
    #[arg(long, env = "TRYGG_TILE_CACHE_MB", default_value_t = 256)]
    pub tile_cache_mb: usize,

    /// Public base URL for absolute links (TileJSON, OGC API), e.g.
    /// `https://trygg.example.se`. When unset, the request's Host header if
    /// it names this server (a loopback name or address, or the address
    /// listened on), else the address listened on.
    #[arg(long, env = "TRYGG_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Reverse proxies whose `X-Forwarded-For` is believed, as IP addresses
    /// or CIDR networks, comma-separated (e.g. `127.0.0.1,10.0.0.0/8`).
    /// Rate limits then key on the rightmost forwarded address that is not
    /// itself a trusted proxy; with none, on the connecting address.
    #[arg(long, env = "TRYGG_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Vec<String>,
}

impl Default for ServerArgs {
    fn default() -> Self {
        ServerArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            model: ModelArgs::default(),
            k_anonymity: 5,
            anonymous_per_minute: 30,
            anonymous_reach_back_days: 31,
            max_body_bytes: 64 * 1024,
            max_import_bytes: 1024 * 1024 * 1024,
            catch_up_ms: 1000,
            max_in_flight: 1024,
            metrics_listen: None,
            header_timeout_secs: 30,
            body_timeout_secs: 15,
            public_url: None,
            trusted_proxy: Vec::new(),
            web_dir: default_web_dir(),
            basemap: "none".into(),
            basemap_attribution: String::new(),
            analysis_schedule: "off".into(),
            tile_cache_mb: 64,
            bench_ceiling: false,
        }
    }
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--region / TRYGG_REGION: {0}")]
    Region(String),
    #[error("--k-anonymity / TRYGG_K_ANONYMITY must be at least 1")]
    KAnonymity,
    #[error("--anonymous-per-minute / TRYGG_ANONYMOUS_PER_MINUTE must be at least 1")]
    AnonymousRate,
    #[error("--trusted-proxy / TRYGG_TRUSTED_PROXY: {0:?} is not an IP address or CIDR network")]
    TrustedProxy(String),
    #[error("--taxonomy / TRYGG_TAXONOMY")]
    Taxonomy(#[from] crate::model::taxonomy::TaxonomyError),
}

/// The validated settings the service runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: Region,
    pub taxonomy: Taxonomy,
    pub k_anonymity: u32,
    pub anonymous_per_minute: u32,
    /// How far back an anonymous report may lie; `None`: no limit.
    pub anonymous_reach_back: Option<time::Duration>,
    pub max_body_bytes: usize,
    pub max_import_bytes: usize,
    pub catch_up_interval: std::time::Duration,
    pub max_in_flight: usize,
    /// A second address serving only `/metrics`, without a token.
    pub metrics_listen: Option<SocketAddr>,
    /// How long a client may take to send a request's headers.
    pub header_timeout: std::time::Duration,
    /// How long a request body may take before it must keep up a minimum rate.
    pub body_timeout: std::time::Duration,
    pub public_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub web_dir: PathBuf,
    /// Base-map tile URL template; `None` for a plain background.
    pub basemap: Option<String>,
    pub basemap_attribution: String,
    /// Period after which area analyses are stored automatically.
    pub analysis_schedule: Option<crate::model::PeriodKind>,
    pub tile_cache_mb: usize,
    pub bench_ceiling: bool,
}

impl Settings {
    /// Memory for encoded tiles, in bytes ([`Settings::tile_cache_mb`] MiB).
    pub fn tile_cache_bytes(&self) -> usize {
        self.tile_cache_mb.saturating_mul(1024 * 1024)
    }
}

/// `./web` when run from a checkout, else the source tree's `web/`.
fn default_web_dir() -> PathBuf {
    let local = PathBuf::from("web");
    if local.join("index.html").exists() {
        local
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web")
    }
}

impl ServerArgs {
    /// Checks every value and loads the taxonomy.
    pub fn finalize(&self) -> Result<Settings, ConfigError> {
        let (region, taxonomy) = self.model.finalize()?;
        if self.k_anonymity == 0 {
            return Err(ConfigError::KAnonymity);
        }
        if self.anonymous_per_minute == 0 {
            return Err(ConfigError::AnonymousRate);
        }
        let trusted_proxies = self
            .trusted_proxy
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| ConfigError::TrustedProxy(p.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Settings {
            region,
            taxonomy,
            k_anonymity: self.k_anonymity,
            anonymous_per_minute: self.anonymous_per_minute,
            anonymous_reach_back: (self.anonymous_reach_back_days > 0)
                .then(|| time::Duration::days(i64::from(self.anonymous_reach_back_days))),
            max_body_bytes: self.max_body_bytes,
            max_import_bytes: self.max_import_bytes,
            catch_up_interval: std::time::Duration::from_millis(self.catch_up_ms.max(50)),
            max_in_flight: self.max_in_flight.max(1),
            metrics_listen: self.metrics_listen,
            header_timeout: std::time::Duration::from_secs(self.header_timeout_secs.max(1)),
            body_timeout: std::time::Duration::from_secs(self.body_timeout_secs.max(1)),
            public_url: self
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
            trusted_proxies,
            web_dir: self.web_dir.clone(),
            basemap: Some(self.basemap.clone()).filter(|b| !b.is_empty() && b != "none"),
            basemap_attribution: self.basemap_attribution.clone(),
            analysis_schedule: crate::model::PeriodKind::parse(&self.analysis_schedule),
            tile_cache_mb: self.tile_cache_mb,
            bench_ceiling: self.bench_ceiling,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_setting() {
        let args = ServerArgs {
            model: ModelArgs {
                region: "1,2,3".into(),
                taxonomy: None,
            },
            ..ServerArgs::default()
        };
        assert!(
            args.finalize()
                .unwrap_err()
                .to_string()
                .contains("TRYGG_REGION")
        );
        let args = ServerArgs {
            k_anonymity: 0,
            ..ServerArgs::default()
        };
        assert!(
            args.finalize()
                .unwrap_err()
                .to_string()
                .contains("K_ANONYMITY")
        );
        assert_eq!(
            ServerArgs::default().finalize().unwrap().region,
            Region::sodertalje()
        );
        let args = ServerArgs {
            trusted_proxy: vec!["10.0.0.0/8".into(), "proxy.example".into()],
            ..ServerArgs::default()
        };
        assert!(
            args.finalize()
                .unwrap_err()
                .to_string()
                .contains("TRYGG_TRUSTED_PROXY")
        );
        let args = ServerArgs {
            trusted_proxy: vec!["10.0.0.0/8".into(), " ::1".into()],
            ..ServerArgs::default()
        };
        assert_eq!(args.finalize().unwrap().trusted_proxies.len(), 2);
    }
}
