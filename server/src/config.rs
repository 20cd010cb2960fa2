//! Reading server.json strictly: the file holds every token, so a config that
//! is ambiguous (a key given twice), weak (an empty or shared token), unsafe
//! (a camera name that is a path, a file other users can read) or that would
//! let a viewer see cameras nobody gave it is refused before the server starts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hubcore::is_safe_name;
use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// `camhub-config new` writes 64 hex digits; shorter than this is guessable.
const MIN_TOKEN_CHARS: usize = 16;

/// The server's settings, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    /// Resolved against the config file's folder.
    pub data_dir: PathBuf,
    pub max_upload_bytes: u64,
    /// Camera name → upload token.
    pub cameras: BTreeMap<String, String>,
    /// Viewing token → the cameras it may list and download.
    pub viewers: Vec<Viewer>,
}

#[derive(Debug, Clone)]
pub struct Viewer {
    pub token: String,
    pub cameras: BTreeSet<String>,
}

/// The file as written: `camhub-config new` writes `hubcore::config::ServerConfig`,
/// whose clients are plain tokens; a client may also be
/// `{"token": "...", "cameras": ["porch", ...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    #[serde(default = "default_listen")]
    listen: String,
    data_dir: PathBuf,
    #[serde(default = "default_max_upload")]
    max_upload_bytes: u64,
    cameras: BTreeMap<String, String>,
    clients: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopedClient {
    token: String,
    cameras: Vec<String>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_max_upload() -> u64 {
    64 << 20
}

/// Config errors are unusable input (exit 2); everything else is exit 1.
#[derive(Debug)]
pub struct ConfigError(pub anyhow::Error);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for ConfigError {}

pub fn load(path: &Path) -> Result<Settings, ConfigError> {
    read_settings(path).map_err(ConfigError)
}

fn read_settings(path: &Path) -> Result<Settings> {
    let shown = path.display();
    let text = read_private_text(path)?;
    let value: StrictValue =
        serde_json::from_str(&text).with_context(|| format!("{shown}: not a valid config file"))?;
    let file: ServerFile = serde_json::from_value(value.0)
        .with_context(|| format!("{shown}: not a valid config file"))?;
    check(file, path).with_context(|| format!("{shown}: refused"))
}

/// Opens the file once and checks type, size and mode on that handle.
fn read_private_text(path: &Path) -> Result<String> {
    let shown = path.display();
    let (text, meta) = hubcore::config::read_text(path)?;
    let mode = meta.permissions().mode() & 0o777;
    // Group read is allowed (a service group); anyone else reading or anyone
    // but the owner writing means the tokens are not secret or not ours.
    if mode & 0o027 != 0 {
        bail!(
            "{shown}: other users can read or change it (mode {mode:o}) and it holds every token; \
             fix: chmod 600 {shown}"
        );
    }
    Ok(text)
}

fn check(file: ServerFile, path: &Path) -> Result<Settings> {
    if file.max_upload_bytes == 0 {
        bail!(
            "`max_upload_bytes` is 0, so no clip could be stored; fix: remove it (64 MiB) or raise it"
        );
    }
    let mut owners_tokens = Vec::new();
    for (name, token) in &file.cameras {
        if !is_safe_name(name) {
            bail!(
                "camera name {:?} is not a plain name; fix: use letters, digits, '-', '_' and '.', not starting with '.'",
                name
            );
        }
        owners_tokens.push((token.clone(), format!("camera `{name}`")));
    }
    let mut viewers = Vec::new();
    for (name, entry) in &file.clients {
        if !is_safe_name(name) {
            bail!(
                "client name {:?} is not a plain name; fix: use letters, digits, '-', '_' and '.'",
                name
            );
        }
        let viewer = viewer(name, entry, &file.cameras, path)?;
        owners_tokens.push((viewer.token.clone(), format!("client `{name}`")));
        viewers.push(viewer);
    }
    // Every token names one role: two entries sharing one could act as each other.
    let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
    for (token, who) in &owners_tokens {
        check_token(token, who)?;
        if let Some(first) = owners.insert(token, who) {
            bail!(
                "{first} and {who} have the same token; fix: give each its own (`camhub-config new` makes them)"
            );
        }
    }
    Ok(Settings {
        listen: file.listen,
        data_dir: hubcore::config::relative_to(path, &file.data_dir),
        max_upload_bytes: file.max_upload_bytes,
        cameras: file.cameras,
        viewers,
    })
}

fn check_token(token: &str, who: &str) -> Result<()> {
    if token.is_empty() {
        bail!("{who} has an empty token; fix: use `camhub-config new`, or 64 random hex digits");
    }
    if token.chars().count() < MIN_TOKEN_CHARS || !token.bytes().all(|b| b.is_ascii_graphic()) {
        bail!(
            "{who} has a weak token (fewer than {MIN_TOKEN_CHARS} characters, or not printable ASCII); \
             fix: use `camhub-config new`, or 64 random hex digits"
        );
    }
    Ok(())
}

fn viewer(
    name: &str,
    entry: &Value,
    cameras: &BTreeMap<String, String>,
    path: &Path,
) -> Result<Viewer> {
    match entry {
        // The form `camhub-config new` writes: one camera and the client paired with it.
        Value::String(token) => {
            let mut only = cameras.keys();
            match (only.next(), only.next()) {
                (Some(camera), None) => Ok(Viewer {
                    token: token.clone(),
                    cameras: BTreeSet::from([camera.clone()]),
                }),
                _ => bail!(
                    "client `{name}` does not say which cameras it may view, and there is not exactly one camera; \
                     fix: in {}, write it as \"{name}\": {{\"token\": \"...\", \"cameras\": [\"<camera>\", ...]}}",
                    path.display()
                ),
            }
        }
        Value::Object(_) => {
            let scoped: ScopedClient = serde_json::from_value(entry.clone())
                .with_context(|| format!("client `{name}`"))?;
            if scoped.cameras.is_empty() {
                bail!(
                    "client `{name}` lists no camera; fix: name the cameras it may view, or remove it"
                );
            }
            for camera in &scoped.cameras {
                if !cameras.contains_key(camera) {
                    bail!(
                        "client `{name}` names camera {camera:?}, which is not under `cameras`; fix: add the camera or remove it from the client"
                    );
                }
            }
            Ok(Viewer {
                token: scoped.token,
                cameras: scoped.cameras.into_iter().collect(),
            })
        }
        _ => bail!("client `{name}` must be a token or {{\"token\": \"...\", \"cameras\": [...]}}"),
    }
}

/// A JSON value that refuses an object with a key given twice: serde_json
/// keeps the last, so `{"token": "a", "token": ""}` would silently mean "".
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{key}`; fix: remove one of the two `{key}` keys"
                )));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMERA: &str = "camera-token-0123456789";

    fn parse(text: &str) -> Result<Settings> {
        let value: StrictValue = serde_json::from_str(text)?;
        check(
            serde_json::from_value(value.0)?,
            Path::new("/etc/camhub/server.json"),
        )
    }

    #[test]
    fn what_config_tool_writes_is_accepted_and_scoped_to_its_camera() {
        let written = hubcore::config::ServerConfig {
            listen: "127.0.0.1:8080".into(),
            data_dir: "data".into(),
            max_upload_bytes: 64 << 20,
            cameras: BTreeMap::from([("porch".into(), CAMERA.into())]),
            clients: BTreeMap::from([("viewer".into(), "viewer-token-0123456789".into())]),
        };
        let text = String::from_utf8(hubcore::config::to_json(&written)).unwrap();
        let settings = parse(&text).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:8080");
        assert_eq!(settings.data_dir, PathBuf::from("/etc/camhub/data"));
        assert_eq!(settings.viewers.len(), 1);
        assert_eq!(settings.viewers[0].token, "viewer-token-0123456789");
        assert_eq!(
            settings.viewers[0].cameras,
            BTreeSet::from(["porch".to_owned()])
        );
    }

    #[test]
    fn binds_to_loopback_unless_told_otherwise() {
        let settings = parse(&format!(
            r#"{{"data_dir":"d","cameras":{{"porch":"{CAMERA}"}},"clients":{{}}}}"#
        ))
        .unwrap();
        assert_eq!(settings.listen, "127.0.0.1:8080");
        assert_eq!(settings.max_upload_bytes, 64 << 20);
    }

    #[test]
    fn nested_duplicate_keys_and_unknown_client_fields_are_refused() {
        let dup = parse(&format!(
            r#"{{"data_dir":"d","cameras":{{"porch":"{CAMERA}","porch":"{CAMERA}x"}},"clients":{{}}}}"#
        ))
        .unwrap_err();
        assert!(
            format!("{dup:#}").contains("duplicate key `porch`; fix: remove one"),
            "{dup:#}"
        );
        let unknown = parse(&format!(
            r#"{{"data_dir":"d","cameras":{{"porch":"{CAMERA}"}},"clients":{{"v":{{"token":"viewer-token-0123456789","cameras":["porch"],"admin":true}}}}}}"#
        ))
        .unwrap_err();
        assert!(
            format!("{unknown:#}").contains("unknown field `admin`"),
            "{unknown:#}"
        );
    }
}
