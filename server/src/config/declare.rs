//! The `settings!` macro: from one declaration per setting, the clap struct
//! of flags and environment variables, the config file's reader, the layering
//! of one over the other, the defaults and checks, and the [`SETTINGS`](super::SETTINGS)
//! table.

/// What the README and `--help` say about one setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingInfo {
    /// The field, and with `-` for `_` the flag: `data_dir`, `--data-dir`.
    pub name: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The key in the config file; a `.` names a key in a table (`storage.kind`).
    pub file_key: &'static str,
    /// The default value, or `None` when the setting may stay unset.
    pub default: Option<&'static str>,
    /// What an unset setting means (the default value, or what happens instead).
    pub when_unset: &'static str,
}

impl SettingInfo {
    /// The long flag, e.g. `--data-dir`.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }
}

/// Declares every setting. Each entry: doc comment (the `--help` text), the
/// field and its type, then `env`, an optional `value_name`, the `file` key,
/// either a `default` (parsed like a flag's value) or `unset` (what leaving it
/// unset means), and an optional `check` (`fn(&T) -> Result<(), String>`),
/// applied to the default too.
macro_rules! settings {
    (@type $ty:ty; $default:literal) => { $ty };
    (@type $ty:ty;) => { Option<$ty> };
    (@some $default:literal) => { Some($default) };
    (@some) => { None };
    (@resolve $given:expr, $file:literal, $ty:ty; $default:literal; $($check:path)?) => {{
        let value: $ty = match $given {
            Some(value) => value,
            None => declare::default_value($file, $default),
        };
        $($check(&value).map_err(|message| ConfigError::Invalid { name: $file, message })?;)?
        value
    }};
    (@resolve $given:expr, $file:literal, $ty:ty; ; $($check:path)?) => {{
        let value: Option<$ty> = $given;
        $(if let Some(value) = &value {
            $check(value).map_err(|message| ConfigError::Invalid { name: $file, message })?;
        })?
        value
    }};
    ($(
        $(#[doc = $doc:literal])+
        $name:ident: $ty:ty {
            env: $env:literal,
            $(value_name: $value_name:literal,)?
            file: $file:literal,
            $(default: $default:literal,)?
            $(unset: $unset:literal,)?
            $(check: $check:path,)?
        }
    )+) => {
        /// Every setting, as given on the command line or in the environment
        /// (or, read from the config file, as given there). Each is optional
        /// here; [`Settings::load`] layers them and fills in the defaults.
        #[derive(Debug, Clone, Default, clap::Args)]
        pub struct SettingsArgs {
            /// Config file (TOML) with any of the settings below, by their long names with `_`.
            #[arg(long, global = true, env = "BERTH_CONFIG", value_name = "FILE")]
            pub config: Option<PathBuf>,
            $(
                $(#[doc = $doc])+
                #[arg(
                    long,
                    global = true,
                    env = $env,
                    $(value_name = $value_name,)?
                    help = declare::help(&[$($doc),+], concat!($($default)? $($unset)?)),
                )]
                pub $name: Option<$ty>,
            )+
        }

        /// Every setting and where it is given, in declaration order.
        pub const SETTINGS: &[SettingInfo] = &[$(
            SettingInfo {
                name: stringify!($name),
                env: $env,
                file_key: $file,
                default: settings!(@some $($default)?),
                when_unset: concat!($($default)? $($unset)?),
            },
        )+];

        /// Every setting once flags, file and defaults are layered and each
        /// is checked: those with a default are certain, the others optional.
        #[derive(Debug)]
        struct Layered {
            $($name: settings!(@type $ty; $($default)?),)+
        }

        impl SettingsArgs {
            /// These settings (flags and environment) over `file`'s.
            fn over(&self, file: Self) -> Self {
                Self {
                    config: self.config.clone(),
                    $($name: self.$name.clone().or(file.$name),)+
                }
            }

            /// The settings of a config file: each at its key; any other key is refused.
            fn from_file(mut table: toml::Table) -> Result<Self, String> {
                let settings = Self {
                    config: None,
                    $($name: declare::take(&mut table, $file)?,)+
                };
                match declare::leftover_key(&table) {
                    Some(key) => Err(format!("unknown setting `{key}`")),
                    None => Ok(settings),
                }
            }

            /// The defaults filled in, and each setting checked on its own.
            fn with_defaults(self) -> Result<Layered, ConfigError> {
                Ok(Layered {
                    $($name: settings!(@resolve self.$name, $file, $ty; $($default)?; $($check)?),)+
                })
            }
        }
    };
}

/// The `--help` text: the doc comment's lines joined, and the default.
pub(super) fn help(lines: &[&str], when_unset: &str) -> String {
    let text: Vec<&str> = lines.iter().map(|line| line.trim()).collect();
    format!("{} [default: {when_unset}]", text.join(" "))
}

/// A declared default, parsed as the flag's value would be.
pub(super) fn default_value<T: std::str::FromStr>(key: &str, text: &str) -> T
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .unwrap_or_else(|e| panic!("the default of {key}, {text:?}, does not parse: {e}"))
}

/// Removes the value at `key` (`a.b` for key `b` of table `a`) from `table`
/// and reads it as a `T`.
pub(super) fn take<T: serde::de::DeserializeOwned>(
    table: &mut toml::Table,
    key: &str,
) -> Result<Option<T>, String> {
    let (tables, leaf) = match key.rsplit_once('.') {
        Some((tables, leaf)) => (Some(tables), leaf),
        None => (None, key),
    };
    let mut at = table;
    for (i, name) in tables.into_iter().flat_map(|t| t.split('.')).enumerate() {
        at = match at.get_mut(name) {
            Some(toml::Value::Table(inner)) => inner,
            Some(_) => {
                let path: Vec<&str> = key.split('.').take(i + 1).collect();
                return Err(format!("`{}` must be a table", path.join(".")));
            }
            None => return Ok(None),
        };
    }
    match at.remove(leaf) {
        Some(value) => value
            .try_into()
            .map(Some)
            .map_err(|e| format!("`{key}`: {e}")),
        None => Ok(None),
    }
}

/// The first key [`take`] left behind (empty tables aside), in `a.b` form.
pub(super) fn leftover_key(table: &toml::Table) -> Option<String> {
    table.iter().find_map(|(key, value)| match value {
        toml::Value::Table(inner) if inner.is_empty() => None,
        toml::Value::Table(inner) => leftover_key(inner).map(|rest| format!("{key}.{rest}")),
        _ => Some(key.clone()),
    })
}
