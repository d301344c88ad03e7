//! Loading an artifact from a file (native runtimes and tools only: `std`),
//! with errors that name the file.

use core::fmt;
use std::path::{Path, PathBuf};

use super::{Artifact, ArtifactError, Loaded};

/// Why an artifact file could not be used: it could not be read, or its bytes
/// are not a usable artifact.
///
/// `Display` is the sentence naming the file and `source()` the cause, so
/// `{:#}` (how the binaries print errors) shows
/// `reading model/model.bin: No such file or directory (os error 2)` or
/// `model/model.bin is not a usable model artifact: ` and the
/// [`ArtifactError::full_message`].
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file was read but is not a usable artifact.
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ArtifactError,
    },
}

impl ReadError {
    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. } | ReadError::Invalid { path, .. } => path,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { path, .. } => write!(f, "reading {}", path.display()),
            ReadError::Invalid { path, .. } => write!(f, "{} is not a usable model artifact", path.display()),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            ReadError::Invalid { source, .. } => Some(source),
        }
    }
}

/// Reads and loads an artifact file ([`Artifact::load`]).
pub fn read_file(path: &Path) -> Result<Loaded, ReadError> {
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
    Artifact::load(&bytes).map_err(|source| ReadError::Invalid { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::{String, ToString};
    use std::error::Error;

    /// `{:#}` as anyhow prints it: the error, then each cause.
    fn chain(e: &dyn Error) -> String {
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            text = alloc::format!("{text}: {c}");
            cause = c.source();
        }
        text
    }

    #[test]
    fn a_file_loads_and_every_failure_names_it() {
        let dir = std::env::temp_dir().join(alloc::format!("fraud-core-read-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = Artifact::example();
        let bytes = a.encode().unwrap();
        let good = dir.join("model.bin");
        std::fs::write(&good, &bytes).unwrap();
        let loaded = read_file(&good).unwrap();
        assert_eq!(loaded, Artifact::load(&bytes).unwrap());
        assert_eq!(loaded.artifact, a);

        let absent = dir.join("absent.bin");
        let e = read_file(&absent).unwrap_err();
        assert!(matches!(&e, ReadError::Io { .. }) && e.path() == absent);
        assert_eq!(e.to_string(), alloc::format!("reading {}", absent.display()));
        assert!(chain(&e).starts_with(&alloc::format!("reading {}: ", absent.display())), "{}", chain(&e));

        let corrupt = dir.join("corrupt.bin");
        let mut b = bytes.clone();
        b[40] ^= 0x10;
        std::fs::write(&corrupt, &b).unwrap();
        let e = read_file(&corrupt).unwrap_err();
        let ReadError::Invalid { source, .. } = &e else { panic!("{e:?}") };
        let want = alloc::format!("{} is not a usable model artifact: {}", corrupt.display(), source.full_message());
        assert_eq!(chain(&e), want);

        let mut w = a.to_wire().base.base;
        w.base.base.threshold = f64::NAN;
        let invalid = dir.join("invalid.bin");
        std::fs::write(&invalid, super::super::frame::seal(super::super::VERSION_4, &w).unwrap()).unwrap();
        let e = read_file(&invalid).unwrap_err();
        let ReadError::Invalid { source, .. } = &e else { panic!("{e:?}") };
        assert!(matches!(source, ArtifactError::InvalidModel(_)));
        assert_eq!(
            chain(&e),
            alloc::format!("{} is not a usable model artifact: {}", invalid.display(), source.full_message())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
