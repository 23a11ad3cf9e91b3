//! The `[domains]`, checked: codes, labels, aliases, groups and what one person may hold.

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
                if c.code == TOTAL_CODE || c.code.trim().is_empty() {
                    self.push(
                        &format!("{key}.codes"),
                        format!("`{}` cannot be a code", c.code),
                        Some(format!("`{TOTAL_CODE}` is reserved for totals")),
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
            let position = |code: &str| d.codes.iter().position(|c| c.code == code);
            let mut in_group = vec![false; d.codes.len()];
            let mut groups = Vec::new();
            for g in &d.groups {
                if !seen.insert(g.code.clone()) || g.code == TOTAL_CODE {
                    self.push(
                        &format!("{key}.groups"),
                        format!("group code `{}` is already a code", g.code),
                        None,
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
