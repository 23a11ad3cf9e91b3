//! The `[domains]`, checked: codes, labels, aliases, groups and what one person may hold.

use std::collections::HashMap;

use super::*;

impl Checker<'_> {
    pub(super) fn domains(
        &mut self,
        raw: &BTreeMap<String, RawDomain>,
    ) -> (Vec<Domain>, BTreeMap<String, usize>) {
        let mut domains = Vec::new();
        let mut index = BTreeMap::new();
        for (name, d) in raw {
            let key = format!("domains.{name}");
            self.field_name(&key, name);
            if d.codes.is_empty() {
                self.push(&key, "has no codes".into(), None);
            }
            let mut seen = HashSet::new();
            for c in &d.codes {
                if c.code == TOTAL_CODE {
                    self.push(
                        &format!("{key}.codes"),
                        format!("`{}` cannot be a code", c.code),
                        Some(format!("`{TOTAL_CODE}` is reserved for totals")),
                    );
                } else if let Some(problem) = bad_code(&c.code) {
                    self.push(
                        &format!("{key}.codes"),
                        format!("code {problem}"),
                        Some("a code is what published tables and code lists carry; use letters, digits, `-` or `_`".into()),
                    );
                }
                if !seen.insert(c.code.clone()) {
                    self.push(
                        &format!("{key}.codes"),
                        format!("code `{}` appears twice", c.code),
                        None,
                    );
                }
            }
            self.ambiguous_names(&key, d);
            let position = |code: &str| d.codes.iter().position(|c| c.code == code);
            let mut in_group = vec![false; d.codes.len()];
            let mut groups = Vec::new();
            for g in &d.groups {
                if g.code == TOTAL_CODE {
                    self.push(
                        &format!("{key}.groups"),
                        format!("`{TOTAL_CODE}` cannot be a group code"),
                        Some(format!("`{TOTAL_CODE}` is reserved for totals")),
                    );
                } else if let Some(problem) = bad_code(&g.code) {
                    self.push(
                        &format!("{key}.groups"),
                        format!("group code {problem}"),
                        None,
                    );
                } else if !seen.insert(g.code.clone()) {
                    self.push(
                        &format!("{key}.groups"),
                        format!("group code `{}` is already a code", g.code),
                        None,
                    );
                }
                if g.members.is_empty() {
                    self.push(
                        &format!("{key}.groups"),
                        format!("group `{}` has no members", g.code),
                        Some("a group is the sum of its member codes; list them in members".into()),
                    );
                }
                let mut members = Vec::new();
                for m in &g.members {
                    match position(m) {
                        Some(i) if in_group[i] => self.push(
                            &format!("{key}.groups"),
                            format!("code `{m}` is a member of two groups"),
                            Some("each code belongs to at most one group".into()),
                        ),
                        Some(i) => {
                            in_group[i] = true;
                            members.push(i);
                        }
                        None => self.push(
                            &format!("{key}.groups"),
                            format!("group `{}` names unknown member `{m}`", g.code),
                            did_you_mean(m, d.codes.iter().map(|c| &c.code)),
                        ),
                    }
                }
                groups.push(Group {
                    code: g.code.clone(),
                    label: Label {
                        zh: g.zh.clone(),
                        en: g.en.clone(),
                    },
                    members,
                });
            }
            let other = d.other.as_ref().and_then(|o| {
                let p = position(o);
                if p.is_none() {
                    self.push(
                        &format!("{key}.other"),
                        format!("`{o}` is not one of the domain's codes"),
                        None,
                    );
                }
                p
            });
            if d.unknown == UnknownPolicy::Other && other.is_none() && d.other.is_none() {
                self.push(
                    &format!("{key}.unknown"),
                    "is \"other\" but no `other` code is declared".into(),
                    Some("add other = \"<code>\" naming the catch-all code".into()),
                );
            }
            index.insert(name.clone(), domains.len());
            domains.push(Domain {
                name: name.clone(),
                label: d.label.clone(),
                codes: d
                    .codes
                    .iter()
                    .map(|c| Code {
                        code: c.code.clone(),
                        label: Label {
                            zh: c.zh.clone(),
                            en: c.en.clone(),
                        },
                        aliases: c.aliases.clone(),
                    })
                    .collect(),
                groups,
                group_label: d.group_label.clone(),
                other,
                unknown: d.unknown,
                per_person: d.per_person.unwrap_or_default(),
            });
        }
        (domains, index)
    }
}

impl Checker<'_> {
    /// Every code, label and alias names one code once folded as source values are
    /// ([`crate::text::lookup_key`]): a Chinese label given as another code's alias would send
    /// that district's records to the other one, silently.
    fn ambiguous_names(&mut self, key: &str, d: &RawDomain) {
        let mut named: HashMap<String, (&str, &str, &str)> = HashMap::new();
        for c in &d.codes {
            let names = [("code", c.code.as_str()), ("zh", &c.zh), ("en", &c.en)]
                .into_iter()
                .chain(c.aliases.iter().map(|a| ("alias", a.as_str())));
            for (kind, name) in names {
                let folded = crate::text::lookup_key(name);
                if folded.is_empty() {
                    if kind == "alias" {
                        self.push(
                            &format!("{key}.codes"),
                            format!("code `{}` has a blank alias", c.code),
                            None,
                        );
                    }
                    continue;
                }
                match named.get(&folded) {
                    Some(&(code, other_kind, other)) if code != c.code => self.push(
                        &format!("{key}.codes"),
                        format!(
                            "`{name}` ({kind} of `{}`) and `{other}` ({other_kind} of `{code}`) \
                             read as the same source value",
                            c.code
                        ),
                        Some(
                            "each code, label and alias must name one code (compared without \
                             case, width or spaces, 台 as 臺); a source's own spellings go in \
                             [sources.<name>.values.<field>]"
                                .into(),
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        named.insert(folded, (c.code.as_str(), kind, name));
                    }
                }
            }
        }
    }
}

/// What is wrong with a code, if anything: blank, padded, or holding a control character (a line
/// break in a code splits a CSV row for every reader that does not quote).
fn bad_code(code: &str) -> Option<String> {
    if code.trim().is_empty() {
        Some("is blank".into())
    } else if code.trim() != code {
        Some(format!("`{}` has spaces around it", code.trim()))
    } else if code.chars().any(char::is_control) {
        Some(format!(
            "`{}` holds a control character",
            code.escape_debug()
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Overrides;

    /// The Kaohsiung seed pipeline with `from` replaced by `to`, checked.
    fn checked(from: &str, to: &str) -> Result<(), String> {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pipelines")
            .join("kaohsiung-districts.toml");
        let text = std::fs::read_to_string(&file).expect("seed pipeline");
        assert!(text.contains(from), "{from}");
        let text = text.replacen(from, to, 1);
        crate::config::from_bytes(text.as_bytes(), &file, &Overrides::default())
            .map(drop)
            .map_err(|e| e.to_string())
    }

    const GUSHAN: &str = r#"{ code = "64000020", zh = "鼓山區", en = "Gushan District" }"#;

    #[test]
    fn a_name_that_two_codes_answer_to_is_refused() {
        checked(GUSHAN, GUSHAN).expect("the seed checks");
        // Yancheng's Chinese name as Gushan's alias, also in another width and with 台.
        for alias in ["鹽埕區", " 鹽埕區 ", "yancheng district"] {
            let err = checked(
                GUSHAN,
                &GUSHAN.replace(" }", &format!(", aliases = [\"{alias}\"] }}")),
            )
            .expect_err(alias);
            assert!(
                err.contains("of `64000020`)") && err.contains("of `64000010`)"),
                "{err}"
            );
            assert!(err.contains("read as the same source value"), "{err}");
        }
        // A code's own names may coincide.
        checked(
            GUSHAN,
            &GUSHAN.replace(
                " }",
                r#", aliases = ["鼓山", "鼓山區", "GUSHAN DISTRICT"] }"#,
            ),
        )
        .expect("one code's names");
    }

    #[test]
    fn codes_that_a_table_cannot_carry_are_refused() {
        for (code, problem) in [
            ("", "code is blank"),
            (" 64000020", "has spaces around it"),
            ("6400\\n0020", "holds a control character"),
            ("_T", "`_T` cannot be a code"),
        ] {
            let err =
                checked(r#"code = "64000020""#, &format!("code = \"{code}\"")).expect_err(code);
            assert!(err.contains(problem), "{code:?}: {err}");
        }
    }

    #[test]
    fn a_group_without_members_is_refused() {
        let err = checked(
            "[domains.gender]",
            "groups = [{ code = \"N\", zh = \"北\", en = \"North\", members = [] }]\n\n[domains.gender]",
        )
        .expect_err("refused");
        assert!(err.contains("group `N` has no members"), "{err}");
    }
}
