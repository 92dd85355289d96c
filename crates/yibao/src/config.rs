//! Configuration: built-in defaults, then an optional TOML file, then `YIBAO_*` environment
//! variables; validated before anything starts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub secure_cookies: bool,
    pub log: String,
}

/// The file's shape: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    secure_cookies: Option<bool>,
    log: Option<String>,
}

impl Config {
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let from_file: FileConfig = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let listen = env("YIBAO_LISTEN").or(from_file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen
            .parse()
            .map_err(|_| format!("YIBAO_LISTEN / listen = \"{listen}\" is not an address like 127.0.0.1:8080"))?;
        let data_dir =
            env("YIBAO_DATA_DIR").map(PathBuf::from).or(from_file.data_dir).unwrap_or_else(|| "./yibao-data".into());
        let database_url = match env("YIBAO_DATABASE_URL").or(from_file.database_url) {
            Some(url) => url,
            None => {
                std::fs::create_dir_all(&data_dir)
                    .map_err(|e| format!("cannot create data directory {}: {e}", data_dir.display()))?;
                format!("sqlite://{}", data_dir.join("yibao.db").display())
            }
        };
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err(format!(
                "YIBAO_DATABASE_URL = \"{}\" must start with sqlite:// or postgres://",
                yibao_store::redact(&database_url)
            ));
        }
        let secure_cookies = match env("YIBAO_SECURE_COOKIES") {
            Some(v) => matches!(v.as_str(), "1" | "true" | "yes"),
            None => from_file.secure_cookies.unwrap_or(false),
        };
        let log = env("YIBAO_LOG").or(from_file.log).unwrap_or_else(|| "info".into());
        Ok(Config { listen, data_dir, database_url, secure_cookies, log })
    }
}
