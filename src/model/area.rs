//! Areas: named polygons (districts, police "utsatta områden", custom areas)
//! that observations are counted in. An observation belongs to every area
//! that contains it.

use geo::MultiPolygon;
use serde::{Deserialize, Serialize};

/// What kind of area this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AreaType {
    District,
    /// A police-designated vulnerable area (utsatt område).
    PoliceVulnerable,
    Custom,
}

impl AreaType {
    pub fn as_str(self) -> &'static str {
        match self {
            AreaType::District => "district",
            AreaType::PoliceVulnerable => "police_vulnerable",
            AreaType::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "district" => Some(AreaType::District),
            "police_vulnerable" => Some(AreaType::PoliceVulnerable),
            "custom" => Some(AreaType::Custom),
            _ => None,
        }
    }
}

/// A named area with its WGS 84 boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// Stable slug, e.g. `hovsjo`.
    pub id: String,
    pub name: String,
    pub area_type: AreaType,
    pub geometry: MultiPolygon<f64>,
    /// True when the boundary is an approximation (as in the demo data).
    pub approximate: bool,
}
