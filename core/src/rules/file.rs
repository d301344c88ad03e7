//! Reading a rules file and its lists folder from disk (std only): the one
//! reader the server, the file scorer, the consumer and the trainer's
//! backtest share, so a rule means the same on each.

use std::format;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{fmt, fs, io};

use super::{RuleSet, RulesError, MAX_LISTS};
use crate::schema::Schema;

/// Largest list file read, in bytes.
pub const MAX_LIST_FILE_BYTES: u64 = 64 << 20;

/// Where a rule set comes from: the rules file and the folder of its lists
/// (`NAME.txt` is the list `@NAME`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesFiles {
    /// The rules file.
    pub rules: PathBuf,
    /// The lists folder; `None`: `lists/` beside the rules file, if there is one.
    pub lists: Option<PathBuf>,
}

/// Why a rule set could not be read; the path says which file.
#[derive(Debug)]
pub enum RulesFileError {
    /// A file or folder could not be read.
    Io {
        /// Which one.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file is not UTF-8, too large, or a list folder holds too many lists.
    Bad {
        /// Which one.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The rules do not compile.
    Rules {
        /// The rules file.
        path: PathBuf,
        /// Where and why.
        error: RulesError,
    },
}

impl fmt::Display for RulesFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RulesFileError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            RulesFileError::Bad { path, why } => write!(f, "{}: {why}", path.display()),
            RulesFileError::Rules { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for RulesFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RulesFileError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn read_text(path: &Path, limit: u64) -> Result<String, RulesFileError> {
    let io = |source| RulesFileError::Io { path: path.to_path_buf(), source };
    let len = fs::metadata(path).map_err(io)?.len();
    if len > limit {
        return Err(RulesFileError::Bad { path: path.to_path_buf(), why: format!("{len} bytes, at most {limit}") });
    }
    let bytes = fs::read(path).map_err(io)?;
    String::from_utf8(bytes)
        .map_err(|e| RulesFileError::Bad { path: path.to_path_buf(), why: format!("not UTF-8 text ({e})") })
}

impl RulesFiles {
    /// The rules file, with `lists/` beside it.
    pub fn new(rules: impl Into<PathBuf>) -> RulesFiles {
        RulesFiles { rules: rules.into(), lists: None }
    }

    /// The lists folder read: the one given, else `lists/` beside the rules file when it exists.
    pub fn lists_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.lists {
            return Some(dir.clone());
        }
        let beside = self.rules.parent().unwrap_or(Path::new(".")).join("lists");
        beside.is_dir().then_some(beside)
    }

    /// Every file a change of which changes the rule set (the rules file, then the lists), sorted.
    pub fn paths(&self) -> Result<Vec<PathBuf>, RulesFileError> {
        let mut out = std::vec![self.rules.clone()];
        if let Some(dir) = self.lists_dir() {
            let io = |source| RulesFileError::Io { path: dir.clone(), source };
            let mut lists = Vec::new();
            for entry in fs::read_dir(&dir).map_err(io)? {
                let path = entry.map_err(io)?.path();
                if path.extension().is_some_and(|e| e == "txt") && path.is_file() {
                    lists.push(path);
                }
            }
            lists.sort();
            if lists.len() > MAX_LISTS {
                return Err(RulesFileError::Bad {
                    path: dir.clone(),
                    why: format!("{} lists (.txt files), at most {MAX_LISTS}", lists.len()),
                });
            }
            out.extend(lists);
        }
        Ok(out)
    }

    /// Reads and compiles the rule set against `schema`: all of it or an error.
    pub fn load(&self, schema: &Schema) -> Result<RuleSet, RulesFileError> {
        let paths = self.paths()?;
        let text = read_text(&self.rules, super::MAX_RULES_BYTES as u64)?;
        let mut lists = Vec::with_capacity(paths.len() - 1);
        for path in &paths[1..] {
            let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            lists.push((name, read_text(path, MAX_LIST_FILE_BYTES)?));
        }
        let named: Vec<(&str, &str)> = lists.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        RuleSet::compile(&text, &named, schema).map_err(|error| {
            // A list's own error names the list; show its folder.
            let path = match (error.line, self.lists_dir()) {
                (0, Some(dir)) if error.message.starts_with("list") => dir,
                _ => self.rules.clone(),
            };
            RulesFileError::Rules { path, error }
        })
    }
}
