//! Where a project's control socket lives, and the checks that make the place private.
//!
//! One socket per canonical project directory, in `$XDG_RUNTIME_DIR/procsnap/` (a per-user
//! directory the login manager made) or, without it, in `<temp>/procsnap-<uid>/`. The
//! directory is made 0700 and refused unless it is a real directory, ours, and closed to
//! everybody else; the socket is made 0600. Beside the socket, `<name>.lock` is held (locked)
//! by the owner for its whole life, and `<name>.json` says who owns it.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The files of one project's control socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The canonical project directory.
    pub project: PathBuf,
    pub socket: PathBuf,
    pub lock: PathBuf,
    pub info: PathBuf,
}

/// This process's user id (the owner of `/proc/self`).
pub fn my_uid() -> io::Result<u32> {
    Ok(fs::metadata("/proc/self")?.uid())
}

/// FNV-1a, 64 bits: a name for a path that every procsnap version computes the same way.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Place {
    /// The place for the project in `dir` (made canonical), in the per-user directory (made
    /// and checked here).
    ///
    /// # Errors
    ///
    /// The directory cannot be made canonical, or the socket directory cannot be made or is
    /// not private (another owner, open to others, a link).
    pub fn for_project(dir: &Path) -> io::Result<Place> {
        let project = fs::canonicalize(dir)?;
        let base = runtime_dir()?;
        Ok(Place::within(&base, project))
    }

    /// The place for `project` (canonical already) in the socket directory `base`.
    pub fn within(base: &Path, project: PathBuf) -> Place {
        use std::os::unix::ffi::OsStrExt;
        let label: String = project
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".to_owned())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(24)
            .collect();
        let stem = format!("{label}-{:016x}", fnv1a(project.as_os_str().as_bytes()));
        Place {
            socket: base.join(format!("{stem}.sock")),
            lock: base.join(format!("{stem}.lock")),
            info: base.join(format!("{stem}.json")),
            project,
        }
    }
}

/// The per-user socket directory, made if needed and checked to be private.
fn runtime_dir() -> io::Result<PathBuf> {
    let uid = my_uid()?;
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) if Path::new(&d).is_dir() => PathBuf::from(d).join("procsnap"),
        _ => std::env::temp_dir().join(format!("procsnap-{uid}")),
    };
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    }
    check_private(&dir, uid)?;
    Ok(dir)
}

/// Refuses `dir` unless it is a directory (not a link), owned by `uid`, and closed to group
/// and others.
pub fn check_private(dir: &Path, uid: u32) -> io::Result<()> {
    let meta = fs::symlink_metadata(dir)?;
    let why = if !meta.file_type().is_dir() {
        Some("is not a directory".to_owned())
    } else if meta.uid() != uid {
        Some(format!("belongs to uid {}, not to us ({uid})", meta.uid()))
    } else if meta.permissions().mode() & 0o077 != 0 {
        Some(format!(
            "is open to others (mode {:o}): make it 0700",
            meta.permissions().mode() & 0o777
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("the socket directory {} {why}", dir.display()),
        )),
        None => Ok(()),
    }
}

/// Makes `path` readable and writable by its owner only.
pub fn owner_only(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_per_project_and_stable() {
        let base = Path::new("/run/user/1000/procsnap");
        let a = Place::within(base, PathBuf::from("/home/me/app"));
        let b = Place::within(base, PathBuf::from("/home/me/other/app"));
        assert_ne!(a.socket, b.socket);
        assert_eq!(a, Place::within(base, PathBuf::from("/home/me/app")));
        let name = a.socket.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("app-") && name.ends_with(".sock"),
            "{name}"
        );
        // FNV-1a's published test vector: the name does not depend on the Rust version.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        // Short enough for sun_path (108 bytes) under the usual runtime directories.
        assert!(a.socket.as_os_str().len() < 80);
    }

    #[test]
    fn a_shared_or_foreign_directory_is_refused() {
        let dir = std::env::temp_dir().join(format!("procsnap-place-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        let uid = my_uid().unwrap();
        check_private(&dir, uid).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let e = check_private(&dir, uid).unwrap_err();
        assert!(e.to_string().contains("open to others"), "{e}");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        let e = check_private(&dir, uid + 1).unwrap_err();
        assert!(e.to_string().contains("belongs to uid"), "{e}");
        let link = dir.with_extension("link");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let e = check_private(&link, uid).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
        let _ = fs::remove_file(&link);
        let _ = fs::remove_dir_all(&dir);
    }
}
