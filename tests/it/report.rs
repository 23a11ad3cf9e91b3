//! Every seed release's `report.html`, as a person sees it: rendered in headless Chromium, every
//! table and chart visible, nothing wider than the page or its chart, Chinese drawn with real
//! glyphs (no tofu); `privstat report` rebuilds it byte for byte; a screenshot of each is left
//! in the test's output directory.
//!
//! The browser is `PRIVSTAT_CHROMIUM` or `chromium` on the path (`.ci/run` installs Debian's
//! `chromium` and `fonts-noto-cjk`). Without one the rendering is not checked and the test says
//! so, except under CI (`CI` set), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{TestResult, privstat, publish, stderr};

/// Measures the rendered page and writes the findings as JSON into `#privstat-check`.
const CHECK_SCRIPT: &str = r#"<script>
window.addEventListener("load", () => {
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const out = { sections: 0, crosstabs: 0, charts: 0, hidden: [], page_overflow: 0, svg_overflow: [],
                cell_overflow: [], tofu: false, glyphs_checked: 0 };
  for (const s of document.querySelectorAll("section.report-table")) {
    out.sections += 1;
    for (const t of s.querySelectorAll("table.crosstab")) {
      out.crosstabs += 1;
      if (!visible(t)) out.hidden.push(s.id + " table");
    }
    for (const svg of s.querySelectorAll("svg")) {
      out.charts += 1;
      if (!visible(svg)) out.hidden.push(s.id + " chart");
      const width = svg.viewBox.baseVal.width;
      for (const text of svg.querySelectorAll("text")) {
        const b = text.getBBox();
        if (b.x < -0.5 || b.x + b.width > width + 0.5) out.svg_overflow.push(s.id + ": " + text.textContent);
      }
    }
  }
  out.page_overflow = document.documentElement.scrollWidth - window.innerWidth;
  for (const el of document.querySelectorAll("th, td, dd, dt, h1, h2, h3, p, li")) {
    if (el.closest(".scroll")) continue;
    if (el.scrollWidth > el.clientWidth + 1) out.cell_overflow.push(el.tagName + ": " + el.textContent.slice(0, 40));
  }
  // A missing glyph is drawn as the same box whatever the character: draw three characters of
  // the page in its font and require their pixels to differ.
  const font = getComputedStyle(document.body).fontFamily;
  const draw = (ch) => {
    const c = document.createElement("canvas"); c.width = 48; c.height = 48;
    const g = c.getContext("2d"); g.font = "40px " + font; g.fillText(ch, 2, 40);
    return Array.from(g.getImageData(0, 0, 48, 48).data).join(",");
  };
  const glyphs = ["總", "計", "區"].map(draw);
  out.glyphs_checked = glyphs.length;
  out.tofu = glyphs[0] === glyphs[1] || glyphs[1] === glyphs[2];
  const pre = document.createElement("pre"); pre.id = "privstat-check";
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>"#;

fn chromium() -> Option<PathBuf> {
    let candidate = std::env::var_os("PRIVSTAT_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["chromium", "chromium-browser", "google-chrome"]
                .into_iter()
                .find_map(|name| {
                    std::env::var_os("PATH").and_then(|paths| {
                        std::env::split_paths(&paths)
                            .map(|d| d.join(name))
                            .find(|p| p.is_file())
                    })
                })
        });
    if candidate.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no chromium: .ci/run installs Debian's chromium and fonts-noto-cjk"
        );
        eprintln!("report rendering not checked: install chromium (or set PRIVSTAT_CHROMIUM)");
    }
    candidate
}

fn browser(chromium: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--window-size=1200,2000",
        "--virtual-time-budget=10000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn every_seed_report_renders_readably_in_a_browser_and_is_rebuilt_from_the_release() -> TestResult {
    let dir = tempfile::tempdir()?;
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots)?;
    let browser_path = chromium();
    let seeds = [
        "kaohsiung-districts",
        "keelung-services",
        "lienchiang-half-year",
        "soco-members",
        "keelung-sharing",
        "kaohsiung-districts-dp",
        "keelung-services-dp",
        "lienchiang-half-year-dp",
        "soco-members-dp",
    ];
    for seed in seeds {
        let ledger = dir.path().join(format!("{seed}.jsonl"));
        let release = publish(
            &format!("pipelines/{seed}.toml"),
            &dir.path().join(seed),
            Some(&ledger),
        )?;
        let page = std::fs::read_to_string(release.join("report.html"))?;
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(release.join("manifest.json"))?)?;
        let tables = manifest["tables"].as_array().ok_or("tables")?.len();
        assert!(
            manifest["files"]
                .as_array()
                .ok_or("files")?
                .iter()
                .any(|f| f["name"] == "report.html"),
            "{seed}: the manifest does not list report.html"
        );
        // Self-contained: nothing fetched from elsewhere.
        for outside in ["http://", "https://", "<script", "@import", "url(http"] {
            let hits: Vec<&str> = page
                .lines()
                .filter(|l| {
                    l.contains(outside) && !l.contains("xmlns=\"http://www.w3.org/2000/svg\"")
                })
                .collect();
            assert!(
                hits.is_empty(),
                "{seed}: {outside} in report.html: {hits:?}"
            );
        }
        // Rebuilt from the release's files, byte for byte.
        let rebuilt = privstat(["report".as_ref(), release.as_os_str()]);
        assert!(rebuilt.status.success(), "{seed}: {}", stderr(&rebuilt));
        assert!(
            rebuilt.stdout == page.as_bytes(),
            "{seed}: privstat report does not rebuild report.html"
        );
        let audit = privstat(["audit".as_ref(), release.as_os_str()]);
        assert!(audit.status.success(), "{seed}: {}", stderr(&audit));
        if tables == 0 {
            // A record-level release says what it promises, not how to read cells.
            assert!(
                page.contains("k-anonymity"),
                "{seed}: no method in report.html"
            );
            assert!(
                !page.contains("How to read the cells"),
                "{seed}: a cell legend"
            );
        }

        let Some(chromium) = &browser_path else {
            continue;
        };
        let checked = dir.path().join(format!("{seed}-checked.html"));
        std::fs::write(
            &checked,
            page.replace("</body>", &format!("{CHECK_SCRIPT}</body>")),
        )?;
        let profile = dir.path().join(format!("{seed}-profile"));
        let dom = browser(chromium, &profile)
            .arg("--dump-dom")
            .arg(format!("file://{}", checked.display()))
            .output()?;
        let dom_text = String::from_utf8_lossy(&dom.stdout);
        let json = dom_text
            .split("<pre id=\"privstat-check\">")
            .nth(1)
            .and_then(|s| s.split("</pre>").next())
            .ok_or_else(|| format!("{seed}: the check did not run: {}", stderr(&dom)))?
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"");
        let found: serde_json::Value = serde_json::from_str(&json)?;
        println!("{seed}: {found}");
        assert_eq!(found["sections"], tables, "{seed}: {found}");
        assert!(
            found["crosstabs"].as_u64().unwrap_or(0) >= tables as u64,
            "{seed}: {found}"
        );
        assert!(
            tables == 0 || found["charts"].as_u64().unwrap_or(0) >= 1,
            "{seed}: {found}"
        );
        for key in ["hidden", "svg_overflow", "cell_overflow"] {
            assert_eq!(found[key], serde_json::json!([]), "{seed}: {key}: {found}");
        }
        assert!(
            found["page_overflow"].as_i64().unwrap_or(1) <= 0,
            "{seed}: the page is wider than the window: {found}"
        );
        assert_eq!(found["glyphs_checked"], 3, "{seed}: {found}");
        assert_eq!(
            found["tofu"], false,
            "{seed}: Chinese drawn as tofu: {found}"
        );

        let shot = shots.join(format!("{seed}.png"));
        let screenshot = browser(chromium, &profile)
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("file://{}", release.join("report.html").display()))
            .output()?;
        assert!(
            shot.is_file(),
            "{seed}: no screenshot: {}",
            stderr(&screenshot)
        );
        println!("{seed}: screenshot {}", shot.display());
    }
    Ok(())
}
