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
    /// The file holding the audit chain's key, outside the database (made on first start).
    pub audit_key_file: PathBuf,
    /// WeChat Pay for paying contributions online, when configured (`[wechat_pay]`).
    pub wechat_pay: Option<WechatPayConfig>,
}

/// `[wechat_pay]`: the merchant's settings; the secrets in files of their own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatPayConfig {
    pub mchid: String,
    pub appid: String,
    /// A file holding the API v3 key (32 characters).
    pub api_v3_key_file: PathBuf,
    /// The platform certificate's (or WeChat Pay public key's) serial number.
    pub serial: String,
    /// The platform public key, PEM.
    pub public_key_file: PathBuf,
    /// Where the payer goes to pay, `{order}` replaced by the order number.
    pub pay_url: String,
    #[serde(default = "default_skew")]
    pub max_skew_secs: i64,
}

fn default_skew() -> i64 {
    300
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
    audit_key_file: Option<PathBuf>,
    wechat_pay: Option<WechatPayConfig>,
}

impl Config {
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        Config::load_with(file, |k| std::env::var(k).ok())
    }

    /// `load`, with the environment passed in (so tests need not change the process's).
    fn load_with(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let from_file: FileConfig = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
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
        let audit_key_file = env("YIBAO_AUDIT_KEY_FILE")
            .map(PathBuf::from)
            .or(from_file.audit_key_file)
            .unwrap_or_else(|| data_dir.join("audit.key"));
        let wechat_pay = from_file.wechat_pay;
        Ok(Config { listen, data_dir, database_url, secure_cookies, log, audit_key_file, wechat_pay })
    }
}

/// The audit chain's key from an existing `file`.
pub fn read_audit_key(file: &Path) -> Result<yibao_core::audit::AuditKey, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    yibao_core::audit::AuditKey::parse(&text).map_err(|e| format!("{}: {e}", file.display()))
}

/// The audit chain's key from `file`; a new random one is written there (readable by the
/// owner only) when the file does not exist. The new file appears whole or not at all (written
/// aside, then linked into place), so a process reading it meanwhile never sees half a key.
pub fn audit_key(file: &Path) -> Result<yibao_core::audit::AuditKey, String> {
    match std::fs::metadata(file) {
        Ok(_) => return read_audit_key(file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    }
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
    let text = secret.iter().map(|b| format!("{b:02x}")).collect::<String>();
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let aside = file.with_extension(format!("new-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&aside).and_then(|mut f| {
        std::io::Write::write_all(&mut f, format!("{text}\n").as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&aside);
        return Err(format!("cannot write {}: {e}", aside.display()));
    }
    let linked = std::fs::hard_link(&aside, file);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => yibao_core::audit::AuditKey::parse(&text),
        // Another process made it meanwhile: theirs is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_audit_key(file),
        Err(e) => Err(format!("cannot create {}: {e}", file.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// A fresh scratch directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("yibao-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("yibao.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let dir = scratch("layers");
        let data = dir.join("data");
        let c = Config::load_with(None, |k| (k == "YIBAO_DATA_DIR").then(|| data.display().to_string())).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, format!("sqlite://{}", data.join("yibao.db").display()));
        assert!(data.is_dir(), "the data directory is created");
        assert!(!c.secure_cookies);
        assert_eq!(c.log, "info");

        let file = write(
            &dir,
            "listen = \"0.0.0.0:9000\"\ndatabase_url = \"postgres://postgres@127.0.0.1/test\"\nsecure_cookies = true\nlog = \"debug\"\n",
        );
        let c = Config::load_with(Some(&file), no_env).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.database_url, "postgres://postgres@127.0.0.1/test");
        assert!(c.secure_cookies);
        assert_eq!(c.log, "debug");

        let env = |k: &str| match k {
            "YIBAO_LISTEN" => Some("127.0.0.1:7000".to_string()),
            "YIBAO_SECURE_COOKIES" => Some("0".to_string()),
            "YIBAO_LOG" => Some(String::new()), // empty means unset
            _ => None,
        };
        let c = Config::load_with(Some(&file), env).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        assert!(!c.secure_cookies);
        assert_eq!(c.log, "debug");
    }

    #[test]
    fn bad_configuration_is_refused_with_a_message_naming_it() {
        let dir = scratch("bad");
        let file = write(&dir, "listen = \"127.0.0.1:8080\"\nport = 80\n");
        let e = Config::load_with(Some(&file), no_env).unwrap_err();
        assert!(e.contains("yibao.toml") && e.contains("port"), "{e}");

        let e = Config::load_with(None, |k| (k == "YIBAO_LISTEN").then(|| "localhost".to_string())).unwrap_err();
        assert!(e.contains("YIBAO_LISTEN") && e.contains("localhost"), "{e}");

        let url = |k: &str| (k == "YIBAO_DATABASE_URL").then(|| "mysql://root:secret@db/yibao".to_string());
        let e = Config::load_with(None, url).unwrap_err();
        assert!(e.contains("sqlite://") && !e.contains("secret"), "the password is not echoed: {e}");

        let missing = dir.join("missing.toml");
        let e = Config::load_with(Some(&missing), no_env).unwrap_err();
        assert!(e.contains("missing.toml"), "{e}");
    }

    #[test]
    fn the_audit_key_is_made_once_readable_by_its_owner_only() {
        let dir = std::env::temp_dir().join(format!("yibao-key-{}", std::process::id()));
        let file = dir.join("keys").join("audit.key");
        let first = audit_key(&file).unwrap();
        let again = audit_key(&file).unwrap();
        assert_eq!(first.id(), again.id(), "the same key the second time");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(file.parent().unwrap()).unwrap().count(), 1, "nothing left aside");
        assert!(read_audit_key(&dir.join("missing.key")).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
