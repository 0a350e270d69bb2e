//! The category taxonomy: which categories exist for each kind of
//! observation, with Swedish and English labels. Loaded from
//! `data/taxonomy.toml` (built into the binary; a deployment may point to its
//! own file), so adding a category is an edit of data, not of code.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Kind;

/// The taxonomy shipped with Trygg.
pub const BUILTIN_TOML: &str = include_str!("../../data/taxonomy.toml");

/// One category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable code used in the API and in stored data.
    pub code: String,
    /// Swedish label.
    pub sv: String,
    /// English label.
    pub en: String,
    /// Icon name for the web UI.
    #[serde(default)]
    pub icon: Option<String>,
    /// Whether the category records an incident (place observations), as
    /// opposed to a perception of the place.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incident: bool,
}

/// Categories per kind, in the file's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    pub insecurity: Vec<Category>,
    pub walk_finding: Vec<Category>,
    pub place_observation: Vec<Category>,
}

/// Why a taxonomy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    #[error("cannot read taxonomy file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("taxonomy is not valid TOML of the expected shape")]
    Parse(#[from] toml::de::Error),
    #[error("taxonomy: kind {kind} has no categories")]
    Empty { kind: Kind },
    #[error("taxonomy: category code {code:?} appears twice under {kind}")]
    Duplicate { kind: Kind, code: String },
    #[error(
        "taxonomy: category code {code:?} under {kind} must be lower-case ASCII letters, digits and underscores"
    )]
    BadCode { kind: Kind, code: String },
}

impl Taxonomy {
    /// The taxonomy in `data/taxonomy.toml` as compiled in.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_TOML).expect("the built-in taxonomy is valid")
    }

    pub fn load(path: &Path) -> Result<Self, TaxonomyError> {
        let text = std::fs::read_to_string(path).map_err(|source| TaxonomyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TaxonomyError> {
        let tax: Taxonomy = toml::from_str(text)?;
        for kind in Kind::ALL {
            let cats = tax.categories(kind);
            if cats.is_empty() {
                return Err(TaxonomyError::Empty { kind });
            }
            let mut seen = std::collections::HashSet::new();
            for c in cats {
                let well_formed = !c.code.is_empty()
                    && c.code.len() <= 64
                    && c.code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !well_formed {
                    return Err(TaxonomyError::BadCode {
                        kind,
                        code: c.code.clone(),
                    });
                }
                if !seen.insert(c.code.as_str()) {
                    return Err(TaxonomyError::Duplicate {
                        kind,
                        code: c.code.clone(),
                    });
                }
            }
        }
        Ok(tax)
    }

    pub fn categories(&self, kind: Kind) -> &[Category] {
        match kind {
            Kind::Insecurity => &self.insecurity,
            Kind::WalkFinding => &self.walk_finding,
            Kind::PlaceObservation => &self.place_observation,
        }
    }

    pub fn codes(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.categories(kind).iter().map(|c| c.code.as_str())
    }

    pub fn contains(&self, kind: Kind, code: &str) -> bool {
        self.codes(kind).any(|c| c == code)
    }

    /// Whether any kind has this category code.
    /// Codes of the categories that record incidents.
    pub fn incident_codes(&self) -> Vec<String> {
        [
            &self.insecurity,
            &self.walk_finding,
            &self.place_observation,
        ]
        .into_iter()
        .flatten()
        .filter(|c| c.incident)
        .map(|c| c.code.clone())
        .collect()
    }

    pub fn knows(&self, code: &str) -> bool {
        Kind::ALL.into_iter().any(|k| self.contains(k, code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_the_swedish_practice_categories() {
        let t = Taxonomy::builtin();
        for code in ["lighting", "vegetation", "tunnel_underpass", "safe_place"] {
            assert!(t.contains(Kind::WalkFinding, code), "{code}");
        }
        for code in ["vandalism", "suspected_drug_dealing", "fire"] {
            assert!(t.contains(Kind::PlaceObservation, code), "{code}");
        }
        for code in ["dark_area", "harassment_of_women", "fear_of_robbery"] {
            assert!(t.contains(Kind::Insecurity, code), "{code}");
        }
        assert!(!t.contains(Kind::Insecurity, "lighting"));
        assert_eq!(t.categories(Kind::WalkFinding)[1].sv, "Skymmande buskage");
    }

    #[test]
    fn adding_a_category_is_a_data_edit() {
        let text = format!(
            "{BUILTIN_TOML}\n[[insecurity]]\ncode = \"e_scooters\"\nsv = \"Elsparkcyklar\"\nen = \"E-scooters\"\n"
        );
        let t = Taxonomy::parse(&text).unwrap();
        assert!(t.contains(Kind::Insecurity, "e_scooters"));
    }

    #[test]
    fn bad_files_are_refused_with_reasons() {
        let dup = format!("{BUILTIN_TOML}\n[[fire]]\n");
        assert!(matches!(
            Taxonomy::parse(&dup),
            Err(TaxonomyError::Parse(_))
        ));
        let dup = format!(
            "{BUILTIN_TOML}\n[[walk_finding]]\ncode = \"lighting\"\nsv = \"x\"\nen = \"x\"\n"
        );
        assert!(matches!(
            Taxonomy::parse(&dup),
            Err(TaxonomyError::Duplicate { .. })
        ));
        let bad = format!(
            "{BUILTIN_TOML}\n[[walk_finding]]\ncode = \"Bad Code\"\nsv = \"x\"\nen = \"x\"\n"
        );
        assert!(matches!(
            Taxonomy::parse(&bad),
            Err(TaxonomyError::BadCode { .. })
        ));
        assert!(matches!(
            Taxonomy::parse("insecurity = []\nwalk_finding = []\nplace_observation = []"),
            Err(TaxonomyError::Empty { .. })
        ));
    }
}
