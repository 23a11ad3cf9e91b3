//! `report.html`: a release for people to read, made from the release's own files (its manifest,
//! tables, data dictionary and code lists) so that `privstat report RELEASE_DIR` rebuilds it byte
//! for byte. One self-contained page that opens offline: no script, no remote font or style, a
//! font stack that renders Chinese; per table a cross-tabulation of its first two dimensions per
//! measure (the others at their totals) with withheld and noisy cells marked, a bar chart of its
//! first dimension (with error bars for noisy values), the protection summary, a legend in plain
//! words and the data dictionary.

mod chart;
mod model;

use std::path::Path;

use minijinja::Environment;

pub use model::Page;

/// The report's file name inside a release.
pub const FILE: &str = "report.html";

const TEMPLATE: &str = include_str!("report.html");

/// Errors while making a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {message}", file.display())]
    Read {
        file: std::path::PathBuf,
        message: String,
    },
    #[error(
        "internal error while rendering the report: {0}; this is a bug in privstat, please report it"
    )]
    Render(String),
}

/// Renders the report of the release in `dir` from its files.
///
/// # Errors
/// [`ReportError::Read`] when the manifest, a table, the dictionary or the code lists cannot be
/// read.
pub fn render(dir: &Path) -> Result<String, ReportError> {
    let page = model::page(dir)?;
    render_page(&page)
}

/// Renders a page model.
///
/// # Errors
/// [`ReportError::Render`] when the template fails (a bug).
pub fn render_page(page: &Page) -> Result<String, ReportError> {
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| ReportError::Render(e.to_string()))?;
    let template = env
        .get_template("report.html")
        .map_err(|e| ReportError::Render(e.to_string()))?;
    template
        .render(minijinja::value::Serde(page))
        .map_err(|e| ReportError::Render(e.to_string()))
}
