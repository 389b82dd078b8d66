//! What to run: the immutable command a [`Process`](crate::Process) was started with.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

/// A command to spawn: program, arguments, extra environment and working directory.
///
/// The child inherits the supervisor's environment plus `env` (later entries win). A
/// `CommandSpec` never changes once a process is registered, so it is shared, not copied,
/// by every reader.
///
/// ```
/// use procsnap::CommandSpec;
/// let spec = CommandSpec::shell("echo hi && sleep 1").cwd("/tmp").env("PORT", "3000");
/// assert_eq!(spec.program(), "/bin/sh");
/// assert_eq!(spec.to_string(), "echo hi && sleep 1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommandSpec {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    display: Option<String>,
}

impl CommandSpec {
    /// Runs `program` (looked up in `PATH` when it has no `/`) with no arguments.
    ///
    /// ```
    /// let spec = procsnap::CommandSpec::new("cargo");
    /// assert_eq!(spec.program(), "cargo");
    /// assert!(spec.get_args().is_empty());
    /// ```
    pub fn new(program: impl Into<OsString>) -> CommandSpec {
        CommandSpec {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            display: None,
        }
    }

    /// Runs `script` with `/bin/sh -c`, as package managers and Procfiles do.
    ///
    /// ```
    /// let spec = procsnap::CommandSpec::shell("echo hi && sleep 1");
    /// assert_eq!(spec.program(), "/bin/sh");
    /// assert_eq!(spec.get_args(), ["-c", "echo hi && sleep 1"]);
    /// ```
    pub fn shell(script: impl Into<String>) -> CommandSpec {
        let script = script.into();
        let mut spec = CommandSpec::new("/bin/sh").arg("-c").arg(&script);
        spec.display = Some(script);
        spec
    }

    /// Adds one argument.
    ///
    /// ```
    /// let spec = procsnap::CommandSpec::new("ls").arg("-l");
    /// assert_eq!(spec.get_args(), ["-l"]);
    /// ```
    ///
    /// It returns the changed spec: a call whose result is dropped changes nothing, and is
    /// flagged (`unused_must_use`):
    ///
    /// ```compile_fail
    /// #![deny(unused_must_use)]
    /// let spec = procsnap::CommandSpec::new("ls");
    /// spec.clone().arg("-l"); // `spec` has no argument
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> CommandSpec {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds several arguments.
    ///
    /// ```
    /// let spec = procsnap::CommandSpec::new("git").args(["log", "-1"]);
    /// assert_eq!(spec.get_args(), ["log", "-1"]);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn args<I, S>(mut self, args: I) -> CommandSpec
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets one environment variable for the child, on top of the inherited environment.
    ///
    /// ```
    /// let spec = procsnap::CommandSpec::new("node").env("PORT", "3000");
    /// assert_eq!(spec.get_env().len(), 1);
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> CommandSpec {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Sets the child's working directory.
    ///
    /// ```
    /// let spec = procsnap::CommandSpec::new("make").cwd("/tmp");
    /// assert_eq!(spec.get_cwd(), Some(std::path::Path::new("/tmp")));
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> CommandSpec {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Sets the text shown for this command (by default the program and its arguments).
    ///
    /// ```
    /// let spec = procsnap::CommandSpec::shell("exec vite").display_as("npm run dev");
    /// assert_eq!(spec.to_string(), "npm run dev");
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn display_as(mut self, text: impl Into<String>) -> CommandSpec {
        self.display = Some(text.into());
        self
    }

    /// The program to run.
    ///
    /// ```
    /// assert_eq!(procsnap::CommandSpec::new("true").program(), "true");
    /// ```
    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The arguments after the program.
    ///
    /// ```
    /// assert_eq!(procsnap::CommandSpec::new("echo").arg("x").get_args(), ["x"]);
    /// ```
    pub fn get_args(&self) -> &[OsString] {
        &self.args
    }

    /// The extra environment, in the order it was set.
    ///
    /// ```
    /// let spec = procsnap::CommandSpec::new("env").env("A", "1").env("B", "2");
    /// let names: Vec<_> = spec.get_env().iter().map(|(k, _)| k.clone()).collect();
    /// assert_eq!(names, ["A", "B"]);
    /// ```
    pub fn get_env(&self) -> &[(OsString, OsString)] {
        &self.env
    }

    /// The working directory, if one was set.
    ///
    /// ```
    /// assert_eq!(procsnap::CommandSpec::new("true").get_cwd(), None);
    /// ```
    pub fn get_cwd(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }
}

impl fmt::Display for CommandSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            return f.write_str(d);
        }
        write!(f, "{}", self.program.to_string_lossy())?;
        for a in &self.args {
            write!(f, " {}", a.to_string_lossy())?;
        }
        Ok(())
    }
}
