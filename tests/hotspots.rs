//! Gi* against PySAL esda: `tests/fixtures/gi_star_esda.py` computed these
//! z-scores with `esda.G_Local(y, w, transform="B", star=True)`.

#![expect(
    clippy::unreadable_literal,
    reason = "reference values as esda printed them"
)]

use std::collections::HashMap;

use h3o::CellIndex;
use trygg::analysis::{fdr_bins, gi_star};

const ESDA: &[(&str, u32, f64)] = &[
    ("89088645107ffff", 0, -1.099630901353802),
    ("8908864510fffff", 7, -0.990650422096967),
    ("89088645123ffff", 3, 0.2883057248793884),
    ("89088645127ffff", 10, 1.1324648873262375),
    ("8908864512bffff", 6, 1.1324648873262375),
    ("8908864512fffff", 27, 3.9932264933961155),
    ("89088645133ffff", 9, -1.2124216750261216),
    ("89088645137ffff", 5, -0.7434443625556496),
    ("8908864513bffff", 1, -0.8841375562967912),
    ("89088645163ffff", 8, -0.7903420938026969),
    ("89088645167ffff", 4, 0.6634875748557656),
    ("8908864516bffff", 0, -0.663708984326462),
    ("8908864516fffff", 7, -1.0248307500379328),
    ("89088645173ffff", 3, -0.28227730692753944),
    ("89088645177ffff", 10, -0.7434443625556496),
    ("8908864517bffff", 6, -0.8661807504391844),
    ("890886451abffff", 2, -0.6850252334901894),
    ("890886451afffff", 9, -0.6092187446980445),
    ("89088645c0bffff", 5, -0.772689463583297),
    ("89088645c1bffff", 1, -0.663708984326462),
    ("89088645c43ffff", 8, 1.5545444685496626),
    ("89088645c47ffff", 4, -0.6965466313086026),
    ("89088645c4bffff", 25, 4.133919687137257),
    ("89088645c4fffff", 7, 0.10071479989119976),
    ("89088645c53ffff", 3, 0.6634875748557656),
    ("89088645c57ffff", 10, -0.7903420938026969),
    ("89088645c5bffff", 31, 3.9463287621490686),
    ("89088645c63ffff", 2, -0.8661807504391844),
    ("89088645c6bffff", 9, -0.772689463583297),
    ("89088645c73ffff", 5, -1.2086113806106367),
    ("89088645c7bffff", 1, -1.07172848128498),
    ("89088645cc3ffff", 8, -0.9361601824685494),
    ("89088645cc7ffff", 4, -0.6850252334901894),
    ("89088645ccbffff", 0, -0.8841375562967912),
    ("89088645ccfffff", 7, -1.0248307500379328),
    ("89088645cdbffff", 3, -0.772689463583297),
    ("89088645e03ffff", 10, -0.3912577861843747),
    ("89088645e07ffff", 6, -0.44574802581279194),
    ("89088645e13ffff", 2, -0.8841375562967912),
    ("89088645e17ffff", 9, -0.7434443625556496),
    ("89088645e1bffff", 5, -0.5002382654412096),
    ("89088645e33ffff", 1, -1.1077214397045112),
    ("89088645e83ffff", 33, 3.899431030902021),
    ("89088645e87ffff", 29, 3.852533299654974),
    ("89088645e8bffff", 0, -0.08687612509698915),
    ("89088645e8fffff", 7, 1.1793626185732846),
    ("89088645e93ffff", 28, 3.9463287621490686),
    ("89088645e97ffff", 35, 7.182272218195325),
    ("89088645e9bffff", 6, 1.1793626185732846),
    ("89088645ea3ffff", 2, -1.2124216750261216),
    ("89088645ea7ffff", 9, -0.772689463583297),
    ("89088645eabffff", 5, -1.4469103312613574),
    ("89088645eafffff", 1, -1.1541211409822192),
    ("89088645eb3ffff", 8, 0.9448739623380488),
    ("89088645eb7ffff", 4, -0.6965466313086026),
    ("89088645ebbffff", 0, 0.24140799363234106),
    ("89088645ec3ffff", 7, -0.6092187446980445),
    ("89088645ec7ffff", 3, -1.2124216750261216),
    ("89088645ecfffff", 10, -0.38309937190853083),
    ("89088645ed3ffff", 6, -0.9361601824685494),
    ("89088645ed7ffff", 2, -1.1186262125320272),
];

#[test]
fn gi_star_agrees_with_esda() {
    let cells: Vec<CellIndex> = ESDA.iter().map(|(c, _, _)| c.parse().unwrap()).collect();
    let counts: HashMap<CellIndex, u32> = ESDA
        .iter()
        .map(|(c, n, _)| (c.parse().unwrap(), *n))
        .collect();
    let results = gi_star(&cells, &counts, 1);
    assert_eq!(results.len(), ESDA.len());
    for (r, (cell, count, z)) in results.iter().zip(ESDA) {
        assert_eq!(r.cell.to_string(), *cell);
        assert_eq!(r.count, *count);
        assert!((r.z - z).abs() < 1e-9, "{cell}: {} vs esda {z}", r.z);
    }
    // The centre and its ring were made hot.
    let centre = results.iter().max_by(|a, b| a.z.total_cmp(&b.z)).unwrap();
    assert_eq!(centre.bin, 3);
    // FDR changes bins only, never makes more cells significant.
    let mut corrected = results.clone();
    fdr_bins(&mut corrected);
    for (a, b) in results.iter().zip(&corrected) {
        assert_eq!((a.z, a.p), (b.z, b.p));
        assert!(b.bin.abs() <= a.bin.abs());
    }
}
