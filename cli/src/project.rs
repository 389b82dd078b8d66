//! Script discovery: what a project declares it can run.
//!
//! Two sources, read in this order: `package.json` `scripts` (run as `<pm> run <name>`, the
//! package manager chosen from the `packageManager` field, then the lockfile, then npm) and a
//! `Procfile` (`name: command`, run with `/bin/sh -c`). A script declared by both keeps the
//! package.json entry and records a warning. A malformed file is an error that names the file
//! and the line:column; nothing here panics on input.
//!
//! Both files may start with a UTF-8 byte order mark (npm accepts one); positions are counted
//! after it, as an editor shows them. Either file is read only up to [`MAX_FILE_BYTES`], and
//! parsing is linear in its size (a package.json of 100,000 scripts is no problem). Either
//! must be a regular file or a symlink to one: a FIFO, socket, device or directory in its place
//! is an error naming it (`…/package.json: is a FIFO, not a regular file`), never a hang.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use procsnap::CommandSpec;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::safe::clip;

/// The package managers `package.json` scripts can be run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageManager {
    Npm,
    Yarn,
    Pnpm,
    Bun,
}

impl PackageManager {
    /// The executable name.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageManager::Npm => "npm",
            PackageManager::Yarn => "yarn",
            PackageManager::Pnpm => "pnpm",
            PackageManager::Bun => "bun",
        }
    }

    fn from_name(name: &str) -> Option<PackageManager> {
        match name {
            "npm" => Some(PackageManager::Npm),
            "yarn" => Some(PackageManager::Yarn),
            "pnpm" => Some(PackageManager::Pnpm),
            "bun" => Some(PackageManager::Bun),
            _ => None,
        }
    }
}

/// The largest package.json or Procfile read; a bigger one is an error naming the file.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The UTF-8 byte order mark, skipped at the start of a file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How many script names [`Project::names`] lists.
const MAX_NAMES: usize = 50;

/// Lockfiles in priority order, each naming the manager that wrote it.
const LOCKFILES: &[(&str, PackageManager)] = &[
    ("bun.lock", PackageManager::Bun),
    ("bun.lockb", PackageManager::Bun),
    ("pnpm-lock.yaml", PackageManager::Pnpm),
    ("yarn.lock", PackageManager::Yarn),
    ("package-lock.json", PackageManager::Npm),
];

/// Where a script was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    PackageJson,
    Procfile,
}

/// One runnable script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// The name a user or a client asks for.
    pub name: String,
    /// The command text as declared (shown by `list` and `scripts_list`).
    pub command: String,
    /// Where it was declared.
    pub source: Source,
}

/// The scripts of one project directory.
#[derive(Clone, Debug)]
pub struct Project {
    /// The project directory (children run here).
    pub dir: PathBuf,
    /// The package manager for package.json scripts.
    pub package_manager: PackageManager,
    /// Scripts in declaration order: package.json first, then the Procfile.
    pub scripts: Vec<Script>,
    /// Non-fatal oddities worth telling the user about (on stderr).
    pub warnings: Vec<String>,
}

/// Why a project could not be read.
#[derive(Debug)]
pub enum ProjectError {
    /// The file exists but could not be read.
    Read { path: PathBuf, source: io::Error },
    /// The file is malformed at `line:column` (1-based).
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The directory itself is unusable.
    Dir { path: PathBuf, source: io::Error },
    /// The file is larger than `limit` bytes ([`MAX_FILE_BYTES`]).
    TooLarge { path: PathBuf, limit: u64 },
    /// The path is not a regular file (or a symlink to one): `kind` says what it is, e.g.
    /// `"a FIFO"`. It is refused rather than read: a FIFO would block until a writer came.
    NotAFile { path: PathBuf, kind: &'static str },
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ProjectError::Syntax {
                path,
                line,
                column,
                message,
            } => write!(f, "{}:{line}:{column}: {message}", path.display()),
            ProjectError::Dir { path, source } => {
                write!(
                    f,
                    "cannot use project directory {}: {source}",
                    path.display()
                )
            }
            ProjectError::NotAFile { path, kind } => {
                write!(f, "{}: is {kind}, not a regular file", path.display())
            }
            ProjectError::TooLarge { path, limit } => write!(
                f,
                "{}: too large (over {} MiB, the most procsnap reads)",
                path.display(),
                limit / (1024 * 1024)
            ),
        }
    }
}

impl std::error::Error for ProjectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProjectError::Read { source, .. } | ProjectError::Dir { source, .. } => Some(source),
            ProjectError::Syntax { .. }
            | ProjectError::TooLarge { .. }
            | ProjectError::NotAFile { .. } => None,
        }
    }
}

impl Project {
    /// Reads `package.json` and `Procfile` in `dir` (either may be missing).
    pub fn discover(dir: &Path) -> Result<Project, ProjectError> {
        let dir = fs::canonicalize(dir).map_err(|source| ProjectError::Dir {
            path: dir.to_owned(),
            source,
        })?;
        if !dir.is_dir() {
            return Err(ProjectError::Dir {
                path: dir,
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let mut warnings = Vec::new();
        let mut scripts = Vec::new();
        let mut declared_pm = None;

        let pkg_path = dir.join("package.json");
        if let Some(text) = read_optional(&pkg_path)? {
            let pkg = parse_package_json(&pkg_path, &text)?;
            if let Some(field) = pkg.package_manager {
                let name = field.split('@').next().unwrap_or("").trim();
                match PackageManager::from_name(name) {
                    Some(pm) => declared_pm = Some(pm),
                    None => warnings.push(format!(
                        "{}: packageManager {field:?} is not npm, yarn, pnpm or bun; \
                         choosing from the lockfile instead",
                        pkg_path.display()
                    )),
                }
            }
            scripts.extend(pkg.scripts.0.into_iter().map(|(name, command)| Script {
                name,
                command,
                source: Source::PackageJson,
            }));
        }

        let procfile_path = dir.join("Procfile");
        if let Some(text) = read_optional(&procfile_path)? {
            let entries = parse_procfile(&procfile_path, &text)?;
            let mut added = Vec::with_capacity(entries.len());
            {
                let declared: HashSet<&str> = scripts.iter().map(|s| s.name.as_str()).collect();
                for (name, command) in entries {
                    if declared.contains(name.as_str()) {
                        warnings.push(format!(
                            "{}: {:?} is also a package.json script; using package.json's",
                            procfile_path.display(),
                            clip(&name)
                        ));
                        continue;
                    }
                    added.push(Script {
                        name,
                        command,
                        source: Source::Procfile,
                    });
                }
            }
            scripts.extend(added);
        }

        let package_manager = declared_pm.unwrap_or_else(|| lockfile_manager(&dir));
        let mut project = Project {
            dir,
            package_manager,
            scripts,
            warnings,
        };
        let refused: Vec<String> = project
            .scripts
            .iter()
            .filter_map(|s| project.refusal(s))
            .map(|why| format!("{}: {why}", pkg_path.display()))
            .collect();
        project.warnings.extend(refused);
        Ok(project)
    }

    /// The declared script called `name`.
    pub fn script(&self, name: &str) -> Option<&Script> {
        self.scripts.iter().find(|s| s.name == name)
    }

    /// The names of the declared scripts, comma-separated (for error messages): the first
    /// 50, then how many more, so a huge project does not make a huge message.
    pub fn names(&self) -> String {
        if self.scripts.is_empty() {
            return "(none: no package.json scripts or Procfile entries)".to_owned();
        }
        let mut names: Vec<Cow<'_, str>> = self
            .scripts
            .iter()
            .take(MAX_NAMES)
            .map(|s| clip(&s.name))
            .collect();
        if self.scripts.len() > MAX_NAMES {
            names.push(format!("and {} more", self.scripts.len() - MAX_NAMES).into());
        }
        names.join(", ")
    }

    /// Why `script` cannot be run, if it cannot: a package.json script whose name starts with
    /// `-` would reach the package manager as an option (`npm run -v` prints npm's version),
    /// not as a script name. (`npm run -- -v` does run it, but that is not checked for yarn,
    /// pnpm and bun.) Procfile entries run through `/bin/sh -c <command>`, so their names
    /// never reach an argument list and any name is fine.
    pub fn refusal(&self, script: &Script) -> Option<String> {
        (script.source == Source::PackageJson && script.name.starts_with('-')).then(|| {
            format!(
                "script {:?} cannot be run: a name starting with '-' would be read as an \
                 option by the package manager ({} run {}), not as the script's name; rename it",
                clip(&script.name),
                self.package_manager.as_str(),
                clip(&script.name)
            )
        })
    }

    /// How to run a declared script: `<pm> run <name>` or `/bin/sh -c <command>`, in the
    /// project directory; or why it cannot be run ([`Project::refusal`]).
    pub fn spec(&self, script: &Script) -> Result<CommandSpec, String> {
        if let Some(why) = self.refusal(script) {
            return Err(why);
        }
        Ok(match script.source {
            Source::PackageJson => CommandSpec::new(self.package_manager.as_str())
                .args(["run", script.name.as_str()])
                .cwd(&self.dir)
                .display_as(format!(
                    "{} run {}",
                    self.package_manager.as_str(),
                    script.name
                )),
            Source::Procfile => CommandSpec::shell(script.command.clone()).cwd(&self.dir),
        })
    }

    /// An ad-hoc command (CLI only): `/bin/sh -c <command>` in the project directory.
    pub fn adhoc_spec(&self, command: &str) -> CommandSpec {
        CommandSpec::shell(command).cwd(&self.dir)
    }
}

/// The text of `path` (`None` if it does not exist), without a leading UTF-8 BOM, at most
/// [`MAX_FILE_BYTES`] long.
fn read_optional(path: &Path) -> Result<Option<String>, ProjectError> {
    read_capped(path, MAX_FILE_BYTES)
}

/// The text of the project file `path` (a configuration, a `.env`): `None` if it does not
/// exist; an error naming it if it is not a regular file, is larger than [`MAX_FILE_BYTES`]
/// or is not UTF-8 (a leading BOM is skipped).
pub fn read_file(path: &Path) -> Result<Option<String>, ProjectError> {
    read_optional(path)
}

fn read_capped(path: &Path, limit: u64) -> Result<Option<String>, ProjectError> {
    let read_error = |source| ProjectError::Read {
        path: path.to_owned(),
        source,
    };
    let file = match open_regular(path) {
        Ok(f) => f,
        Err(OpenError::Io(e)) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(OpenError::Io(source)) => return Err(read_error(source)),
        Err(OpenError::NotAFile(kind)) => {
            return Err(ProjectError::NotAFile {
                path: path.to_owned(),
                kind,
            });
        }
    };
    // One byte past the limit tells "too large" from "exactly the limit", without reading
    // (or allocating for) the rest of a huge file.
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(ProjectError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    // npm accepts a BOM (many Windows editors write one); positions below are counted after
    // it, as an editor shows them.
    if bytes.starts_with(UTF8_BOM) {
        bytes.drain(..UTF8_BOM.len());
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(e) => {
            let (line, column) = line_col(e.as_bytes(), e.utf8_error().valid_up_to());
            Err(ProjectError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: "not valid UTF-8".to_owned(),
            })
        }
    }
}

/// Why [`open_regular`] gave no file.
enum OpenError {
    Io(io::Error),
    /// What the path is instead of a regular file (`"a FIFO"`).
    NotAFile(&'static str),
}

/// `path` opened for reading if it is a regular file (symlinks followed).
///
/// Opened with `O_NONBLOCK`, so that a FIFO does not block the open until a writer comes (a
/// plain `open` of a FIFO waits forever); the type is then checked on the opened file, so it
/// cannot change between the check and the read. `O_NONBLOCK` changes nothing for a regular
/// file. A socket cannot be opened at all (`ENXIO`), so it is named from its metadata.
fn open_regular(path: &Path) -> Result<fs::File, OpenError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let meta = match &file {
        Ok(f) => f.metadata(),
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => fs::metadata(path),
        Err(_) => return file.map_err(OpenError::Io),
    };
    match meta {
        Ok(m) if !m.file_type().is_file() => Err(OpenError::NotAFile(kind_of(m.file_type()))),
        Ok(_) => file.map_err(OpenError::Io),
        Err(e) => Err(OpenError::Io(e)),
    }
}

/// `"a FIFO"`, `"a socket"`, ... for a file type that is not a regular file.
fn kind_of(t: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

/// 1-based line and column of byte `offset`.
fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

fn lockfile_manager(dir: &Path) -> PackageManager {
    LOCKFILES
        .iter()
        .find(|(file, _)| dir.join(file).exists())
        .map_or(PackageManager::Npm, |&(_, pm)| pm)
}

#[derive(Deserialize)]
struct PackageJson {
    #[serde(default)]
    scripts: OrderedScripts,
    #[serde(default, rename = "packageManager")]
    package_manager: Option<String>,
}

/// `scripts` in file order (a later duplicate key replaces the earlier value in place; an index
/// by name keeps that linear).
#[derive(Default)]
struct OrderedScripts(Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedScripts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedScripts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of script names to command strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedScripts, A::Error> {
                let mut out: Vec<(String, String)> = Vec::new();
                let mut index: HashMap<String, usize> = HashMap::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if k.is_empty() {
                        return Err(de::Error::custom("a script name cannot be empty"));
                    }
                    match index.get(&k) {
                        Some(&i) => out[i].1 = v,
                        None => {
                            index.insert(k.clone(), out.len());
                            out.push((k, v));
                        }
                    }
                }
                Ok(OrderedScripts(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn parse_package_json(path: &Path, text: &str) -> Result<PackageJson, ProjectError> {
    // serde's derive would also accept a top-level array as a struct: insist on an object.
    let body = text.trim_start();
    if let Some(c) = body.chars().next().filter(|&c| c != '{') {
        let (line, column) = line_col(text.as_bytes(), text.len() - body.len());
        return Err(ProjectError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: format!("expected a JSON object, found {c:?}"),
        });
    }
    serde_json::from_str(text).map_err(|e| ProjectError::Syntax {
        path: path.to_owned(),
        line: e.line().max(1),
        column: e.column().max(1),
        message: strip_position(&e.to_string()),
    })
}

/// serde_json appends " at line L column C"; we print the position up front instead.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// A Procfile name: letters, digits, `_`, `-` and `.`.
fn valid_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Parses `name: command` lines; blank lines and `#` comments are skipped.
fn parse_procfile(path: &Path, text: &str) -> Result<Vec<(String, String)>, ProjectError> {
    let err = |line: usize, column: usize, message: String| ProjectError::Syntax {
        path: path.to_owned(),
        line,
        column,
        message,
    };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let Some(colon) = trimmed.find(':') else {
            return Err(err(
                lineno,
                indent + 1,
                "expected `name: command`".to_owned(),
            ));
        };
        let name = trimmed[..colon].trim_end();
        if name.is_empty() {
            return Err(err(
                lineno,
                indent + 1,
                "missing process name before `:`".to_owned(),
            ));
        }
        if let Some((off, c)) = name.char_indices().find(|&(_, c)| !valid_name_char(c)) {
            return Err(err(
                lineno,
                indent + line[indent..indent + off].chars().count() + 1,
                format!("invalid character {c:?} in process name (use letters, digits, _ - .)"),
            ));
        }
        let command = trimmed[colon + 1..].trim();
        if command.is_empty() {
            let col = line[..indent + colon + 1].chars().count() + 1;
            return Err(err(lineno, col, format!("missing command for {name:?}")));
        }
        if !seen.insert(name) {
            return Err(err(
                lineno,
                indent + 1,
                format!("duplicate process name {:?}", clip(name)),
            ));
        }
        out.push((name.to_owned(), command.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!(
                "procsnap-project-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn write(&self, name: &str, text: &str) -> &Self {
            fs::write(self.0.join(name), text).unwrap();
            self
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn scripts_keep_file_order_and_default_to_npm() {
        let d = TempDir::new("order");
        d.write(
            "package.json",
            r#"{"name":"x","scripts":{"dev":"vite","build":"tsc","a":"echo a"}}"#,
        );
        let p = Project::discover(&d.0).unwrap();
        let names: Vec<_> = p.scripts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["dev", "build", "a"]);
        assert_eq!(p.package_manager, PackageManager::Npm);
        let spec = p.spec(p.script("dev").unwrap()).unwrap();
        assert_eq!(spec.program(), "npm");
        assert_eq!(spec.get_args(), ["run", "dev"]);
        assert_eq!(spec.get_cwd(), Some(p.dir.as_path()));
    }

    #[test]
    fn package_manager_field_beats_lockfiles() {
        let d = TempDir::new("pmfield");
        d.write(
            "package.json",
            r#"{"packageManager":"pnpm@9.1.0","scripts":{"x":"y"}}"#,
        )
        .write("yarn.lock", "")
        .write("bun.lockb", "");
        assert_eq!(
            Project::discover(&d.0).unwrap().package_manager,
            PackageManager::Pnpm
        );
    }

    #[test]
    fn lockfile_priority_is_bun_pnpm_yarn_npm() {
        let d = TempDir::new("locks");
        d.write("package.json", r#"{"scripts":{"x":"y"}}"#);
        d.write("package-lock.json", "{}");
        assert_eq!(
            Project::discover(&d.0).unwrap().package_manager,
            PackageManager::Npm
        );
        d.write("yarn.lock", "");
        assert_eq!(
            Project::discover(&d.0).unwrap().package_manager,
            PackageManager::Yarn
        );
        d.write("pnpm-lock.yaml", "");
        assert_eq!(
            Project::discover(&d.0).unwrap().package_manager,
            PackageManager::Pnpm
        );
        d.write("bun.lock", "");
        assert_eq!(
            Project::discover(&d.0).unwrap().package_manager,
            PackageManager::Bun
        );
    }

    #[test]
    fn unknown_package_manager_warns_and_falls_back() {
        let d = TempDir::new("pmunknown");
        d.write(
            "package.json",
            r#"{"packageManager":"deno@2","scripts":{}}"#,
        )
        .write("yarn.lock", "");
        let p = Project::discover(&d.0).unwrap();
        assert_eq!(p.package_manager, PackageManager::Yarn);
        assert!(p.warnings[0].contains("deno@2"), "{:?}", p.warnings);
    }

    #[test]
    fn malformed_package_json_names_file_line_and_column() {
        let d = TempDir::new("badjson");
        d.write(
            "package.json",
            "{\n  \"scripts\": {\n    \"dev\": \"vite\",\n  }\n}\n",
        );
        let e = Project::discover(&d.0).unwrap_err().to_string();
        assert!(e.contains("package.json:4:3:"), "{e}");
        assert!(!e.contains(" at line "), "{e}");
    }

    #[test]
    fn non_string_script_is_a_positioned_error() {
        let d = TempDir::new("nonstring");
        d.write("package.json", "{\"scripts\": {\"dev\": 42}}");
        let e = Project::discover(&d.0).unwrap_err().to_string();
        assert!(e.contains("package.json:1:22:"), "{e}");
        assert!(e.contains("expected a string"), "{e}");
    }

    #[test]
    fn scripts_not_an_object_and_top_level_array_are_errors() {
        let d = TempDir::new("shape");
        d.write("package.json", "{\"scripts\": [\"a\"]}");
        let e = Project::discover(&d.0).unwrap_err().to_string();
        assert!(
            e.contains("package.json:1:12: invalid type: sequence"),
            "{e}"
        );
        d.write("package.json", "\n  []");
        let e = Project::discover(&d.0).unwrap_err().to_string();
        assert!(
            e.ends_with("package.json:2:3: expected a JSON object, found '['"),
            "{e}"
        );
        d.write("package.json", "");
        assert!(
            Project::discover(&d.0)
                .unwrap_err()
                .to_string()
                .contains("package.json:1:")
        );
    }

    #[test]
    fn invalid_utf8_is_a_positioned_error() {
        let d = TempDir::new("utf8");
        fs::write(d.0.join("package.json"), b"{\n \"a\xff\": 1}").unwrap();
        let e = Project::discover(&d.0).unwrap_err().to_string();
        assert!(e.contains("package.json:2:4: not valid UTF-8"), "{e}");
    }

    #[test]
    fn procfile_entries_follow_package_json_and_duplicates_warn() {
        let d = TempDir::new("procfile");
        d.write("package.json", r#"{"scripts":{"web":"node s.js"}}"#)
            .write(
                "Procfile",
                "# comment\n\nweb: other\nworker: sh -c 'echo hi'\r\n  clock.1 :  date  \n",
            );
        let p = Project::discover(&d.0).unwrap();
        let got: Vec<_> = p
            .scripts
            .iter()
            .map(|s| (s.name.as_str(), s.command.as_str(), s.source))
            .collect();
        assert_eq!(
            got,
            [
                ("web", "node s.js", Source::PackageJson),
                ("worker", "sh -c 'echo hi'", Source::Procfile),
                ("clock.1", "date", Source::Procfile),
            ]
        );
        assert_eq!(p.warnings.len(), 1);
        let spec = p.spec(p.script("worker").unwrap()).unwrap();
        assert_eq!(spec.program(), "/bin/sh");
        assert_eq!(spec.to_string(), "sh -c 'echo hi'");
    }

    #[test]
    fn procfile_errors_are_positioned() {
        let p = Path::new("Procfile");
        let e = |t: &str| parse_procfile(p, t).unwrap_err().to_string();
        assert_eq!(
            e("web: a\nnocolon\n"),
            "Procfile:2:1: expected `name: command`"
        );
        assert_eq!(
            e("  we b: x"),
            "Procfile:1:5: invalid character ' ' in process name (use letters, digits, _ - .)"
        );
        assert_eq!(e("web:   "), "Procfile:1:5: missing command for \"web\"");
        assert_eq!(e(": x"), "Procfile:1:1: missing process name before `:`");
        assert_eq!(
            e("a: x\na: y"),
            "Procfile:2:1: duplicate process name \"a\""
        );
        assert_eq!(
            e("é€: x"),
            "Procfile:1:1: invalid character 'é' in process name (use letters, digits, _ - .)"
        );
    }

    /// npm accepts a package.json that starts with a UTF-8 BOM (Windows editors write one);
    /// we rejected it with `1:1: expected a JSON object, found '\u{feff}'`.
    #[test]
    fn a_leading_bom_is_skipped_and_positions_stay_right() {
        let d = TempDir::new("bom");
        let bom = |text: &str| format!("\u{feff}{text}");
        d.write("package.json", &bom(r#"{"scripts":{"dev":"vite"}}"#))
            .write("Procfile", &bom("web: node s.js\n"));
        let p = Project::discover(&d.0).unwrap();
        let names: Vec<_> = p.scripts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["dev", "web"]);
        // Positions as an editor shows them, the same as without the BOM.
        for text in ["{\"scripts\": {\"dev\": 42}}", "\n  []"] {
            d.write("package.json", text);
            let plain = Project::discover(&d.0).unwrap_err().to_string();
            d.write("package.json", &bom(text));
            assert_eq!(Project::discover(&d.0).unwrap_err().to_string(), plain);
        }
        fs::write(d.0.join("package.json"), b"\xEF\xBB\xBF{\n \"a\xff\": 1}").unwrap();
        let e = Project::discover(&d.0).unwrap_err().to_string();
        assert!(e.contains("package.json:2:4: not valid UTF-8"), "{e}");
        fs::remove_file(d.0.join("package.json")).unwrap();
        d.write("Procfile", &bom("  we b: x"));
        let e = Project::discover(&d.0).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "Procfile:1:5: invalid character ' ' in process name (use letters, digits, _ - .)"
            ),
            "{e}"
        );
        // Only a leading BOM: one inside a name is still an error.
        d.write("Procfile", "web: x\n\u{feff}w: y\n");
        let e = Project::discover(&d.0).unwrap_err().to_string();
        assert!(
            e.contains("Procfile:2:1: invalid character '\\u{feff}'"),
            "{e}"
        );
    }

    /// `{"scripts":{"-v":"echo hi"}}` ran `npm run -v`: npm's version, not the script.
    #[test]
    fn a_script_named_like_an_option_is_refused_not_given_to_the_package_manager() {
        let d = TempDir::new("dash");
        d.write(
            "package.json",
            r#"{"scripts":{"-v":"echo hi","--help":"echo help","a-b":"echo ok"}}"#,
        )
        .write("Procfile", "-w: echo from procfile\n");
        let p = Project::discover(&d.0).unwrap();
        for name in ["-v", "--help"] {
            let script = p.script(name).unwrap();
            let why = p.spec(script).unwrap_err();
            assert!(
                why.contains(&format!("script {name:?} cannot be run"))
                    && why.contains("read as an option by the package manager"),
                "{why}"
            );
            assert!(
                p.warnings.iter().any(|w| w.contains(&why)),
                "{:?}",
                p.warnings
            );
        }
        // A '-' elsewhere is fine, and so is a Procfile name: it never reaches an argv.
        assert_eq!(
            p.spec(p.script("a-b").unwrap()).unwrap().get_args(),
            ["run", "a-b"]
        );
        let w = p.spec(p.script("-w").unwrap()).unwrap();
        assert_eq!(w.get_args(), ["-c", "echo from procfile"]);
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    }

    /// 100,000 scripts took 12 s (a linear search per key); a 200,000-script file would have
    /// taken ~50 s.
    #[test]
    fn many_scripts_parse_in_linear_time_and_names_stay_short() {
        let d = TempDir::new("many");
        let n = 200_000;
        let mut json = String::from("{\"scripts\":{");
        for i in 0..n {
            json.push_str(&format!("\"s{i}\":\"echo {i}\","));
        }
        json.push_str("\"s7\":\"echo again\"}}");
        d.write("package.json", &json);
        // Every 1000th Procfile entry repeats a package.json name (kept from package.json).
        let procfile: String = (0..n)
            .map(|i| match i % 1000 {
                0 => format!("p{i}: echo {i}\ns{i}x: x\ns{i}: dup\n"),
                _ => format!("p{i}: echo {i}\ns{i}x: x\n"),
            })
            .collect();
        d.write("Procfile", &procfile);
        let t = std::time::Instant::now();
        let p = Project::discover(&d.0).unwrap();
        let took = t.elapsed();
        assert_eq!(p.scripts.len(), 3 * n);
        assert_eq!(
            p.scripts[7].command, "echo again",
            "a later duplicate wins in place"
        );
        assert_eq!(p.scripts[8].name, "s8");
        assert_eq!(p.scripts[n].name, "p0");
        assert_eq!(p.warnings.len(), n / 1000);
        // A guard against quadratic work (hours at this size), not a measurement: ~3 s in a
        // debug build on a busy 2-core machine.
        assert!(
            took < std::time::Duration::from_secs(120),
            "discovery of {} scripts took {took:?}",
            3 * n
        );
        let names = p.names();
        assert!(names.len() < 1000, "{names}");
        assert!(
            names.starts_with("s0, s1, s2") && names.ends_with(", and 599950 more"),
            "{names}"
        );
    }

    #[test]
    fn a_file_over_the_limit_is_an_error_naming_it() {
        let d = TempDir::new("big");
        d.write("Procfile", &"x".repeat(101));
        let e = read_capped(&d.0.join("Procfile"), 100)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("Procfile: too large (over 0 MiB, the most procsnap reads)"),
            "{e}"
        );
        d.write("Procfile", &"x".repeat(100));
        assert_eq!(
            read_capped(&d.0.join("Procfile"), 100)
                .unwrap()
                .unwrap()
                .len(),
            100
        );
        // The real limit, through discovery (a sparse file: nothing is written to disk).
        let f = fs::File::create(d.0.join("package.json")).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let e = Project::discover(&d.0).unwrap_err().to_string();
        assert!(
            e.ends_with("package.json: too large (over 16 MiB, the most procsnap reads)"),
            "{e}"
        );
        f.set_len(MAX_FILE_BYTES).unwrap();
        let e = Project::discover(&d.0).unwrap_err().to_string();
        assert!(
            e.contains("package.json:1:1: expected a JSON object"),
            "{e}"
        );
    }

    #[test]
    fn empty_directory_has_no_scripts() {
        let d = TempDir::new("empty");
        let p = Project::discover(&d.0).unwrap();
        assert!(p.scripts.is_empty());
        assert!(p.names().contains("none"));
    }

    #[test]
    fn missing_directory_is_an_error() {
        let e = Project::discover(Path::new("/nonexistent/procsnap/x")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/procsnap/x"));
    }

    /// `discover`, or a panic if it has not answered within 5 s (it used to block forever in
    /// `open` on a FIFO; the stuck thread is left behind).
    fn discover_within_5s(dir: &Path) -> Result<Project, ProjectError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let dir = dir.to_owned();
        std::thread::spawn(move || {
            let _ = tx.send(Project::discover(&dir));
        });
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("discovery hung")
    }

    fn mkfifo(path: &Path) {
        let ok = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mkfifo {}", path.display());
    }

    /// `mkfifo package.json` (or Procfile) made every command hang in `open`, waiting for a
    /// writer; `procsnap mcp` never answered `initialize`.
    #[test]
    fn a_fifo_project_file_is_an_error_not_a_hang() {
        for name in ["package.json", "Procfile"] {
            let d = TempDir::new(&format!("fifo-{name}"));
            mkfifo(&d.0.join(name));
            let e = discover_within_5s(&d.0).unwrap_err().to_string();
            assert!(
                e.ends_with(&format!("{name}: is a FIFO, not a regular file")),
                "{e}"
            );
            assert!(e.contains(&*d.0.to_string_lossy()), "names the path: {e}");
        }
    }

    #[test]
    fn a_socket_device_or_directory_project_file_is_an_error() {
        let d = TempDir::new("special");
        let _socket = std::os::unix::net::UnixListener::bind(d.0.join("package.json")).unwrap();
        let e = discover_within_5s(&d.0).unwrap_err().to_string();
        assert!(
            e.ends_with("package.json: is a socket, not a regular file"),
            "{e}"
        );
        fs::remove_file(d.0.join("package.json")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.0.join("Procfile")).unwrap();
        let e = discover_within_5s(&d.0).unwrap_err().to_string();
        assert!(
            e.ends_with("Procfile: is a character device, not a regular file"),
            "{e}"
        );
        fs::remove_file(d.0.join("Procfile")).unwrap();
        fs::create_dir(d.0.join("Procfile")).unwrap();
        let e = discover_within_5s(&d.0).unwrap_err().to_string();
        assert!(
            e.ends_with("Procfile: is a directory, not a regular file"),
            "{e}"
        );
    }

    #[test]
    fn a_symlink_to_a_regular_file_is_read() {
        let d = TempDir::new("symlink");
        d.write("real-procfile", "web: echo hi\n");
        std::os::unix::fs::symlink(d.0.join("real-procfile"), d.0.join("Procfile")).unwrap();
        let p = discover_within_5s(&d.0).unwrap();
        assert_eq!(p.scripts.len(), 1);
        assert_eq!(p.scripts[0].command, "echo hi");
    }
}
