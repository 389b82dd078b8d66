//! Script discovery: what a project declares it can run.
//!
//! Two sources, read in this order: `package.json` `scripts` (run as `<pm> run <name>`, the
//! package manager chosen from the `packageManager` field, then the lockfile, then npm) and a
//! `Procfile` (`name: command`, run with `/bin/sh -c`). A script declared by both keeps the
//! package.json entry and records a warning. A malformed file is an error that names the file
//! and the line:column; nothing here panics on input.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use procsnap::CommandSpec;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

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
        }
    }
}

impl std::error::Error for ProjectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProjectError::Read { source, .. } | ProjectError::Dir { source, .. } => Some(source),
            ProjectError::Syntax { .. } => None,
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
            for (name, command) in parse_procfile(&procfile_path, &text)? {
                if scripts.iter().any(|s| s.name == name) {
                    warnings.push(format!(
                        "{}: {name:?} is also a package.json script; using package.json's",
                        procfile_path.display()
                    ));
                    continue;
                }
                scripts.push(Script {
                    name,
                    command,
                    source: Source::Procfile,
                });
            }
        }

        let package_manager = declared_pm.unwrap_or_else(|| lockfile_manager(&dir));
        Ok(Project {
            dir,
            package_manager,
            scripts,
            warnings,
        })
    }

    /// The declared script called `name`.
    pub fn script(&self, name: &str) -> Option<&Script> {
        self.scripts.iter().find(|s| s.name == name)
    }

    /// The names of all declared scripts, comma-separated (for error messages).
    pub fn names(&self) -> String {
        if self.scripts.is_empty() {
            return "(none: no package.json scripts or Procfile entries)".to_owned();
        }
        let names: Vec<&str> = self.scripts.iter().map(|s| s.name.as_str()).collect();
        names.join(", ")
    }

    /// How to run a declared script: `<pm> run <name>` or `/bin/sh -c <command>`, in the
    /// project directory.
    pub fn spec(&self, script: &Script) -> CommandSpec {
        match script.source {
            Source::PackageJson => CommandSpec::new(self.package_manager.as_str())
                .args(["run", script.name.as_str()])
                .cwd(&self.dir)
                .display_as(format!(
                    "{} run {}",
                    self.package_manager.as_str(),
                    script.name
                )),
            Source::Procfile => CommandSpec::shell(script.command.clone()).cwd(&self.dir),
        }
    }

    /// An ad-hoc command (CLI only): `/bin/sh -c <command>` in the project directory.
    pub fn adhoc_spec(&self, command: &str) -> CommandSpec {
        CommandSpec::shell(command).cwd(&self.dir)
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, ProjectError> {
    match fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
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
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ProjectError::Read {
            path: path.to_owned(),
            source,
        }),
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

/// `scripts` in file order (a later duplicate key replaces the earlier value in place).
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
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if k.is_empty() {
                        return Err(de::Error::custom("a script name cannot be empty"));
                    }
                    match out.iter_mut().find(|(name, _)| *name == k) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k, v)),
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
        if out.iter().any(|(n, _)| n == name) {
            return Err(err(
                lineno,
                indent + 1,
                format!("duplicate process name {name:?}"),
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
        let spec = p.spec(p.script("dev").unwrap());
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
        let spec = p.spec(p.script("worker").unwrap());
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
}
