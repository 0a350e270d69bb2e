//! A stored area analysis rendered for people and other tools: GeoJSON
//! (the area, its top cells and hot spots as Features), CSV (one
//! `field,value` row per figure, paths as in the JSON) and a printable HTML
//! report in Swedish with an inline SVG map that needs no network.
//!
//! Everything is read from the stored JSON, so a report of an old analysis
//! shows that analysis exactly as it was generated.

use std::fmt::Write as _;

use h3o::CellIndex;
use serde_json::{Value, json};

use crate::csv_cell::neutralise;
use crate::model::Taxonomy;
use crate::store::StoredAnalysis;

fn cell_ring(cell: &str) -> Option<Vec<[f64; 2]>> {
    let cell: CellIndex = cell.parse().ok()?;
    let mut ring: Vec<[f64; 2]> = cell
        .boundary()
        .iter()
        .map(|ll| [ll.lng(), ll.lat()])
        .collect();
    // RFC 7946: exterior rings counter-clockwise (H3 gives them so; keep closed).
    ring.push(*ring.first()?);
    Some(ring)
}

fn list<'a>(body: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    body.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The area with its key figures, then one Feature per top cell and hot spot.
pub fn geojson(a: &StoredAnalysis) -> Value {
    let b = &a.body;
    let mut features = vec![json!({
        "type": "Feature",
        "id": b["area"]["id"],
        "geometry": b["area"]["geometry"],
        "properties": {
            "role": "area",
            "analysis": a.id,
            "area": b["area"]["id"],
            "name": b["area"]["name"],
            "period": a.period,
            "total": b["total"],
            "per_km2": b["per_km2"],
            "rate_ratio": b["municipality"]["rate_ratio"],
            "change_previous_percent": b["previous"]["change_percent"],
            "change_year_percent": b["year_before"]["change_percent"],
            "dark_share": b["darkness"]["share"],
        },
    })];
    for (role, key) in [("top_cell", "top_cells"), ("hot_spot", "hot_spots")] {
        for c in list(b, key) {
            let Some(ring) = c["cell"].as_str().and_then(cell_ring) else {
                continue;
            };
            let mut props = c.clone();
            props["role"] = json!(role);
            features.push(json!({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": props,
            }));
        }
    }
    json!({"type": "FeatureCollection", "features": features})
}

/// Every scalar of the analysis as a `field,value` row; `field` is its path
/// in the JSON (`by_kind.insecurity`, `top_cells.0.count`). Text (names,
/// labels, finding descriptions) is [`neutralise`]d; numbers are not.
pub fn csv(a: &StoredAnalysis) -> String {
    fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        let key = |k: &str| {
            if prefix.is_empty() {
                k.to_owned()
            } else {
                format!("{prefix}.{k}")
            }
        };
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    // The boundary is in the GeoJSON export.
                    if k != "geometry" {
                        flatten(&key(k), v, out);
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    flatten(&key(&i.to_string()), v, out);
                }
            }
            Value::Null => out.push((prefix.to_owned(), String::new())),
            Value::String(s) => out.push((prefix.to_owned(), neutralise(s).into_owned())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut rows = vec![
        ("analysis".to_owned(), a.id.to_string()),
        ("period".to_owned(), a.period.to_string()),
    ];
    flatten("", &a.body, &mut rows);
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["field", "value"]);
    for (k, v) in rows {
        let _ = w.write_record([neutralise(&k).as_ref(), v.as_str()]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A number as Swedish text: whole numbers as they are, others to one
/// decimal with a decimal comma (`48,3`, `28,5`), none when it is zero.
fn number(v: &Value) -> String {
    match v.as_f64() {
        None => "–".into(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) => {
            let one = format!("{x:.1}");
            one.strip_suffix(".0").unwrap_or(&one).replace('.', ",")
        }
    }
}

/// An RFC 3339 time as Swedish local date and time, to the minute.
fn local_time(v: &Value) -> String {
    let Some(t) = v.as_str().and_then(|s| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
    }) else {
        return "–".into();
    };
    let t = t.to_offset(crate::model::swedish_time::offset_at(t));
    format!(
        "{}-{:02}-{:02} kl. {:02}.{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn percent(v: &Value) -> String {
    v.as_f64()
        .map_or("–".into(), |x| format!("{x:+.0} %").replace('-', "−"))
}

fn share(v: &Value) -> String {
    v.as_f64()
        .map_or("–".into(), |x| format!("{:.0} %", x * 100.0))
}

/// The printable report (Swedish), styled by `/static/analysis-report.css`.
pub fn html(a: &StoredAnalysis, taxonomy: &Taxonomy, k_anonymity: u32) -> String {
    let b = &a.body;
    let name = escape(b["area"]["name"].as_str().unwrap_or_default());
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"sv\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Områdesanalys {name} {period}</title>\
         <link rel=\"stylesheet\" href=\"/static/analysis-report.css\">\
         <script src=\"/static/analysis-report.js\" defer></script></head><body><main>\
         <header><p class=\"kicker\">Områdesanalys · Trygg</p><h1>{name}</h1>\
         <p class=\"meta\">Period <strong>{period}</strong> · skapad {created}{approx}</p>\
         <button type=\"button\" id=\"print\" class=\"print\">Skriv ut</button></header>",
        period = a.period,
        created = local_time(&b["generated_at"]),
        approx = if b["area"]["approximate"] == true {
            " · <em>områdesgränsen är ungefärlig</em>"
        } else {
            ""
        },
    );
    let _ = write!(
        h,
        "<section class=\"figures\">\
         <div><span class=\"big\">{total}</span><span>observationer</span></div>\
         <div><span class=\"big\">{prev}</span><span>mot {prev_p} ({prev_n})</span></div>\
         <div><span class=\"big\">{year}</span><span>mot {year_p} ({year_n})</span></div>\
         <div><span class=\"big\">{dark}</span><span>i mörker</span></div>\
         <div><span class=\"big\">{ratio}</span><span>gånger kommunens täthet (observationer per km²)</span></div>\
         </section>",
        total = number(&b["total"]),
        prev = percent(&b["previous"]["change_percent"]),
        prev_p = escape(b["previous"]["period"].as_str().unwrap_or_default()),
        prev_n = number(&b["previous"]["total"]),
        year = percent(&b["year_before"]["change_percent"]),
        year_p = escape(b["year_before"]["period"].as_str().unwrap_or_default()),
        year_n = number(&b["year_before"]["total"]),
        dark = share(&b["darkness"]["share"]),
        ratio = b["municipality"]["rate_ratio"]
            .as_f64()
            // Whole times from ten up: "172", not "172,1".
            .map_or("–".into(), |r| number(&Value::from(if r >= 10.0 {
                r.round()
            } else {
                r
            }))),
    );
    h.push_str("<section class=\"map\"><h2>Karta</h2>");
    h.push_str(&svg_map(b));
    h.push_str(
        "<p class=\"legend\"><span class=\"swatch top\"></span> mest rapporterade celler \
         <span class=\"swatch hot\"></span> signifikanta hot spots (Gi*) \
         <span class=\"swatch cold\"></span> kalla fläckar</p></section>",
    );

    counts_section(&mut h, b, taxonomy);
    findings_section(&mut h, b);
    indicators_section(&mut h, b);
    cells_section(&mut h, b, &a.id.to_string(), k_anonymity);
    h
}

fn counts_section(h: &mut String, b: &Value, taxonomy: &Taxonomy) {
    h.push_str("<section class=\"cols\"><div><h2>Per slag</h2><table>");
    let kinds = [
        ("insecurity", "Upplevd otrygghet"),
        ("walk_finding", "Trygghetsvandring"),
        ("place_observation", "Platssamverkan"),
    ];
    for (k, label) in kinds {
        let _ = write!(
            h,
            "<tr><th>{label}</th><td>{}</td></tr>",
            number(&b["by_kind"][k])
        );
    }
    h.push_str("</table></div><div><h2>Per kategori</h2><table>");
    for c in list(b, "by_category") {
        let code = c["code"].as_str().unwrap_or_default();
        let _ = write!(
            h,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(crate::analysis::area::category_label(taxonomy, code, true)),
            number(&c["count"])
        );
    }
    h.push_str("</table></div></section>");
}

fn findings_section(h: &mut String, b: &Value) {
    let f = &b["findings"];
    let _ = write!(
        h,
        "<section><h2>Fynd från trygghetsvandringar</h2><table>\
         <tr><th>Totalt</th><td>{}</td></tr><tr><th>Öppna</th><td>{}</td></tr>\
         <tr><th>Tilldelade</th><td>{}</td></tr><tr><th>Åtgärdade</th><td>{}</td></tr>\
         <tr><th>Mediantid till åtgärd</th><td>{} dagar</td></tr></table></section>",
        number(&f["total"]),
        number(&f["open"]),
        number(&f["assigned"]),
        number(&f["resolved"]),
        number(&f["median_days_to_resolve"]),
    );
}

fn indicators_section(h: &mut String, b: &Value) {
    h.push_str("<section><h2>Indikatorer i handlingsplanen</h2>");
    let indicators: Vec<&Value> = list(b, "indicators").collect();
    if indicators.is_empty() {
        h.push_str("<p>Inga indikatorer är kopplade till området.</p>");
    } else {
        h.push_str(
            "<table class=\"wide\"><tr><th>Åtgärd</th><th>Indikator</th><th>Period</th>\
             <th>Värde</th><th>Utgångsläge</th><th>Mål</th><th>Trend</th><th></th></tr>",
        );
        for i in indicators {
            let trend = match i["trend"].as_str() {
                Some("increasing") => "ökande",
                Some("decreasing") => "minskande",
                _ => "ingen tydlig trend",
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td>\
                 <td>{} ({})</td><td>{trend}</td><td class=\"{cls}\">{status}</td></tr>",
                escape(i["action_title"].as_str().unwrap_or_default()),
                escape(i["name"].as_str().unwrap_or_default()),
                escape(i["period"].as_str().unwrap_or_default()),
                number(&i["value"]),
                number(&i["baseline"]),
                escape(i["baseline_period"].as_str().unwrap_or_default()),
                number(&i["target"]),
                percent(&i["target_change_percent"]),
                cls = if i["on_track"] == true {
                    "ok"
                } else {
                    "behind"
                },
                status = if i["on_track"] == true {
                    "i fas"
                } else {
                    "efter målet"
                },
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>");
}

fn cells_section(h: &mut String, b: &Value, id: &str, k_anonymity: u32) {
    h.push_str("<section class=\"cols\"><div><h2>Mest rapporterade celler</h2><table>");
    for c in list(b, "top_cells") {
        let _ = write!(
            h,
            "<tr><th><code>{}</code></th><td>{}</td></tr>",
            escape(c["cell"].as_str().unwrap_or_default()),
            number(&c["count"])
        );
    }
    h.push_str("</table></div><div><h2>Hot spots (Gi*, upplösning 10)</h2><table>");
    for c in list(b, "hot_spots") {
        let _ = write!(
            h,
            "<tr><th><code>{}</code></th><td>{} obs.</td><td>z = {}</td></tr>",
            escape(c["cell"].as_str().unwrap_or_default()),
            number(&c["count"]),
            number(&c["z"])
        );
    }
    let _ = write!(
        h,
        "</table></div></section><footer><p>Kommunen: {} observationer under perioden, \
         {} per km². Området: {} km², {} per km². Mörker: solen under horisonten \
         på platsen och vid tidpunkten.</p><p>Talen är exakta. Offentliga sidor visar \
         tal avrundade till multipler av {k} och kan därför skilja sig något.</p>\
         <p class=\"id\">Analys-id {id}</p></footer></main></body></html>",
        number(&b["municipality"]["total"]),
        number(&b["municipality"]["per_km2"]),
        number(&b["area"]["km2"]),
        number(&b["per_km2"]),
        k = k_anonymity,
        id = escape(id),
    );
}

/// The area outline with its top cells and hot spots, as inline SVG.
fn svg_map(b: &Value) -> String {
    let mut rings: Vec<Vec<[f64; 2]>> = Vec::new();
    if let Some(polygons) = b["area"]["geometry"]["coordinates"].as_array() {
        for polygon in polygons {
            for ring in polygon.as_array().into_iter().flatten() {
                let points: Vec<[f64; 2]> = ring
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?]))
                    .collect();
                rings.push(points);
            }
        }
    }
    let cells = |key: &str| -> Vec<(Vec<[f64; 2]>, &Value)> {
        list(b, key)
            .filter_map(|c| Some((cell_ring(c["cell"].as_str()?)?, c)))
            .collect()
    };
    let (top, hot) = (cells("top_cells"), cells("hot_spots"));
    let all = rings
        .iter()
        .flatten()
        .chain(top.iter().flat_map(|(r, _)| r))
        .chain(hot.iter().flat_map(|(r, _)| r));
    let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in all {
        w = w.min(p[0]);
        e = e.max(p[0]);
        s = s.min(p[1]);
        n = n.max(p[1]);
    }
    if w > e || s > n {
        return String::new();
    }
    let kx = f64::midpoint(s, n).to_radians().cos();
    let (width, pad) = (640.0, 12.0);
    let scale = (width - 2.0 * pad) / ((e - w) * kx).max(1e-9);
    let height = (n - s) * scale + 2.0 * pad;
    let path = |ring: &[[f64; 2]]| {
        let mut d = String::new();
        for (i, p) in ring.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { "L" },
                pad + (p[0] - w) * kx * scale,
                pad + (n - p[1]) * scale
            );
        }
        d.push('Z');
        d
    };
    let max = top
        .iter()
        .filter_map(|(_, c)| c["count"].as_f64())
        .fold(1.0, f64::max);
    let mut svg = format!(
        "<svg viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" \
         aria-label=\"Karta över området med de mest rapporterade cellerna\">"
    );
    for ring in &rings {
        let _ = write!(
            svg,
            "<path d=\"{}\" fill=\"#eef2f5\" stroke=\"#33475b\" stroke-width=\"2\"/>",
            path(ring)
        );
    }
    for (ring, c) in &top {
        let t = c["count"].as_f64().unwrap_or(0.0) / max;
        let _ = write!(
            svg,
            "<path d=\"{}\" fill=\"#d95f0e\" fill-opacity=\"{:.2}\" stroke=\"#7f2704\" stroke-width=\"0.5\"/>",
            path(ring),
            0.25 + 0.65 * t
        );
    }
    for (ring, c) in &hot {
        let colour = if c["bin"].as_i64().unwrap_or(0) > 0 {
            "#b30000"
        } else {
            "#2166ac"
        };
        let _ = write!(
            svg,
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\"/>",
            path(ring)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times_read_as_swedish() {
        assert_eq!(number(&json!(48.3)), "48,3");
        assert_eq!(number(&json!(28.5)), "28,5");
        assert_eq!(number(&json!(172.04)), "172");
        assert_eq!(number(&json!(0.35)), "0,3");
        assert_eq!(number(&json!(12)), "12");
        assert_eq!(number(&Value::Null), "–");
        // Summer time, then winter time.
        assert_eq!(
            local_time(&json!("2026-06-01T10:05:59Z")),
            "2026-06-01 kl. 12.05"
        );
        assert_eq!(
            local_time(&json!("2026-12-04T10:05:00.123Z")),
            "2026-12-04 kl. 11.05"
        );
        assert_eq!(local_time(&json!("not a time")), "–");
    }

    #[test]
    fn csv_quotes_formula_text_but_not_numbers() {
        let a = StoredAnalysis {
            id: uuid::Uuid::nil(),
            area_id: "hovsjo".into(),
            period: "2025-Q1".parse().unwrap(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            body: json!({
                "area": {"id": "hovsjo", "name": "=cmd|' /C calc'!A0"},
                "previous": {"change_percent": -12.5},
                "findings": [{"description": "+1 trasig lampa"}],
            }),
        };
        let text = csv(&a);
        let rows: Vec<Vec<String>> = csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        let value = |field: &str| {
            rows.iter()
                .find(|r| r[0] == field)
                .map(|r| r[1].clone())
                .unwrap()
        };
        assert_eq!(value("area.name"), "'=cmd|' /C calc'!A0");
        assert_eq!(value("findings.0.description"), "'+1 trasig lampa");
        assert_eq!(value("previous.change_percent"), "-12.5");
    }
}
