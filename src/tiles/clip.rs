//! Clipping a polygon ring to the tile's rectangle (with its buffer) —
//! Sutherland–Hodgman, correct for any ring against a convex window
//! (Sutherland & Hodgman, "Reentrant polygon clipping", CACM 17(1), 1974).

/// Whether a coordinate lies on the inner side of a window edge at `lim`.
type InsideTest = fn(f64, f64, f64) -> bool;

/// Clips a ring (no repeated closing point) to `[min, max]²`. The result
/// has no repeated closing point either; it is empty when nothing is left.
pub fn clip_ring(ring: &[(f64, f64)], min: f64, max: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = ring.to_vec();
    // Each edge of the window: inside test and intersection.
    let edges: [(InsideTest, usize); 4] = [
        (|v, _, lim| v >= lim, 0), // x >= min
        (|v, _, lim| v <= lim, 0), // x <= max
        (|v, _, lim| v >= lim, 1), // y >= min
        (|v, _, lim| v <= lim, 1), // y <= max
    ];
    for (k, (inside, axis)) in edges.iter().enumerate() {
        let lim = if k % 2 == 0 { min } else { max };
        let input = std::mem::take(&mut out);
        let Some(&last) = input.last() else { break };
        let coord = |p: (f64, f64)| if *axis == 0 { p.0 } else { p.1 };
        let mut prev = last;
        for &cur in &input {
            let (cin, pin) = (inside(coord(cur), 0.0, lim), inside(coord(prev), 0.0, lim));
            if cin {
                if !pin {
                    out.push(intersect(prev, cur, *axis, lim));
                }
                out.push(cur);
            } else if pin {
                out.push(intersect(prev, cur, *axis, lim));
            }
            prev = cur;
        }
    }
    out
}

fn intersect(a: (f64, f64), b: (f64, f64), axis: usize, lim: f64) -> (f64, f64) {
    if axis == 0 {
        let t = (lim - a.0) / (b.0 - a.0);
        (lim, a.1 + t * (b.1 - a.1))
    } else {
        let t = (lim - a.1) / (b.1 - a.1);
        (a.0 + t * (b.0 - a.0), lim)
    }
}

/// Clips a polyline to `[min, max]²`: the pieces inside, each with at least
/// two points. Each segment is clipped by Liang–Barsky (Liang & Barsky, "A
/// new concept and method for line clipping", ACM TOG 3(1), 1984); pieces
/// that continue across segments are joined.
pub fn clip_line(line: &[(f64, f64)], min: f64, max: f64) -> Vec<Vec<(f64, f64)>> {
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for w in line.windows(2) {
        let (a, b) = (w[0], w[1]);
        match clip_segment(a, b, min, max) {
            None => {
                if current.len() >= 2 {
                    pieces.push(std::mem::take(&mut current));
                }
                current.clear();
            }
            Some((p, q)) => {
                if current.last() != Some(&p) {
                    if current.len() >= 2 {
                        pieces.push(std::mem::take(&mut current));
                    }
                    current.clear();
                    current.push(p);
                }
                current.push(q);
                // Leaving the window ends the piece.
                if q != b {
                    pieces.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if current.len() >= 2 {
        pieces.push(current);
    }
    pieces
}

/// The part of segment `a`–`b` inside `[min, max]²`, if any.
fn clip_segment(
    a: (f64, f64),
    b: (f64, f64),
    min: f64,
    max: f64,
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - min),
        (dx, max - a.0),
        (-dy, a.1 - min),
        (dy, max - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    // Endpoints inside stay exact, so consecutive pieces join by equality.
    let at = |t: f64| (a.0 + t * dx, a.1 + t * dy);
    let start = if t0 > 0.0 { at(t0) } else { a };
    let end = if t1 < 1.0 { at(t1) } else { b };
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_square_half_outside_is_cut() {
        let ring = [(-10.0, 10.0), (10.0, 10.0), (10.0, 20.0), (-10.0, 20.0)];
        let out = clip_ring(&ring, 0.0, 100.0);
        assert_eq!(out.len(), 4);
        assert!(out.iter().all(|p| p.0 >= 0.0));
        assert!(
            clip_ring(
                &[(200.0, 200.0), (300.0, 200.0), (300.0, 300.0)],
                0.0,
                100.0
            )
            .is_empty()
        );
        let inside = [(1.0, 1.0), (5.0, 1.0), (5.0, 5.0)];
        assert_eq!(clip_ring(&inside, 0.0, 100.0), inside);
    }

    proptest! {
        #[test]
        fn clipped_rings_stay_in_the_window(pts in prop::collection::vec((-500.0f64..4600.0, -500.0f64..4600.0), 3..12)) {
            for p in clip_ring(&pts, -64.0, 4160.0) {
                prop_assert!((-64.0 - 1e-9..=4160.0 + 1e-9).contains(&p.0));
                prop_assert!((-64.0 - 1e-9..=4160.0 + 1e-9).contains(&p.1));
            }
        }
    }

    #[test]
    fn lines_are_cut_into_the_pieces_inside() {
        // In, out, back in: two pieces.
        let line = [
            (1.0, 1.0),
            (5.0, 1.0),
            (15.0, 1.0),
            (15.0, 5.0),
            (5.0, 5.0),
            (5.0, 8.0),
        ];
        let pieces = clip_line(&line, 0.0, 10.0);
        assert_eq!(
            pieces,
            vec![
                vec![(1.0, 1.0), (5.0, 1.0), (10.0, 1.0)],
                vec![(10.0, 5.0), (5.0, 5.0), (5.0, 8.0)],
            ]
        );
        // Crossing the window without a vertex in it.
        assert_eq!(
            clip_line(&[(-5.0, 5.0), (15.0, 5.0)], 0.0, 10.0),
            vec![vec![(0.0, 5.0), (10.0, 5.0)]]
        );
        // Entirely outside.
        assert!(clip_line(&[(-5.0, -5.0), (-1.0, 20.0)], 0.0, 10.0).is_empty());
        assert!(clip_line(&[(3.0, 3.0)], 0.0, 10.0).is_empty());
    }
}
