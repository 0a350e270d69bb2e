//! Distance queries on the R-tree: "what has already been reported near
//! here?" Distances are great-circle metres (haversine, mean Earth radius
//! 6 371 008.8 m per IUGG), exact enough at walking scale.

use geo::{Distance, Haversine, Point};
use rstar::AABB;
use uuid::Uuid;

use super::{Filter, ObservationIndex};

/// One result of a nearby query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearby {
    pub id: Uuid,
    pub distance_m: f64,
}

const METRES_PER_DEGREE_LAT: f64 = 111_320.0;

impl ObservationIndex {
    /// Observations within `radius_m` metres of (`lon`, `lat`) that match the
    /// filter, nearest first, at most `limit`.
    pub fn nearby(
        &self,
        lon: f64,
        lat: f64,
        radius_m: f64,
        filter: &Filter,
        limit: usize,
    ) -> Vec<Nearby> {
        let Some(compiled) = filter.compile(self) else {
            return Vec::new();
        };
        // A box in degrees that surely contains the circle, then exact distances.
        let dlat = radius_m / METRES_PER_DEGREE_LAT * 1.01;
        let dlon = dlat / lat.to_radians().cos().max(0.01);
        let env = AABB::from_corners([lon - dlon, lat - dlat], [lon + dlon, lat + dlat]);
        let here = Point::new(lon, lat);
        let mut found: Vec<Nearby> = self
            .tree
            .locate_in_envelope(&env)
            .filter(|p| self.matches(&compiled, p.data))
            .filter_map(|p| {
                let d = Haversine.distance(here, Point::new(p.geom()[0], p.geom()[1]));
                (d <= radius_m).then(|| Nearby {
                    id: self.columns.ids[p.data as usize],
                    distance_m: d,
                })
            })
            .collect();
        found.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.id.cmp(&b.id)));
        found.truncate(limit);
        found
    }
}
