//! Map tiles made from the index: what `http::tiles` asks for once it has
//! decided who may see what. Each holds the index's read lock while it
//! draws; all but the pre-aggregated hexagons belong on the blocking pool.

use h3o::Resolution;

use super::Service;
use crate::analysis::hotspots::RegionCellCache;
use crate::analysis::overlay::Overlay;
use crate::index::Filter;
use crate::model::Walk;
use crate::privacy::Disclosure;
use crate::tiles::{TileId, encode_layer, layers};

impl Service {
    /// A hexagon tile from the cell runs alone, or `None` when the runs do
    /// not hold what `filter` asks (then [`Service::hexagon_tile`]).
    pub fn hexagon_tile_from_runs(
        &self,
        tile: TileId,
        res: Resolution,
        filter: &Filter,
        d: Disclosure,
    ) -> Option<Option<Vec<u8>>> {
        let index = self.index();
        index
            .answers_from_runs(res, filter)
            .then(|| layers::hexagon_tile(&index, tile, res, filter, d, None))
    }

    /// A hexagon tile, with the analysis overlay's flags when given.
    pub fn hexagon_tile(
        &self,
        tile: TileId,
        res: Resolution,
        filter: &Filter,
        d: Disclosure,
        overlay: Option<&Overlay>,
    ) -> Option<Vec<u8>> {
        layers::hexagon_tile(&self.index(), tile, res, filter, d, overlay)
    }

    /// The analysis overlay (hot spots, trends, gaps) of the whole region.
    pub fn overlay(
        &self,
        region_cells: &RegionCellCache,
        res: Resolution,
        filter: &Filter,
        d: Disclosure,
    ) -> Overlay {
        let r = self.region;
        let region = geo::MultiPolygon::new(vec![
            geo::Rect::new((r.west, r.south), (r.east, r.north)).to_polygon(),
        ]);
        Overlay::compute(
            &self.index(),
            region_cells,
            &region,
            res,
            filter,
            &self.taxonomy.incident_codes(),
            time::OffsetDateTime::now_utc(),
            d,
        )
    }

    /// The areas' outlines.
    pub fn areas_tile(&self, tile: TileId) -> Option<Vec<u8>> {
        encode_layer(tile, "areas", &layers::areas(&self.index()))
    }

    /// The observations themselves, for those who may read every record.
    pub fn points_tile(&self, tile: TileId, filter: Filter) -> Option<Vec<u8>> {
        encode_layer(
            tile,
            "observations",
            &layers::points(&self.index(), tile, filter),
        )
    }

    /// Walks' routes and findings.
    pub fn walks_tile(&self, tile: TileId, filter: &Filter, walks: &[Walk]) -> Option<Vec<u8>> {
        encode_layer(
            tile,
            "walks",
            &layers::walks(&self.index(), tile, filter, walks),
        )
    }
}
