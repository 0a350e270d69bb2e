//! Role × route × object: every route of the OpenAPI document (plus the tile
//! and OGC routes that serve raw points), called by every role, aimed at
//! objects of other walks and other organisations, answers as documented.
//! A route missing from the table below fails the test, so new routes must
//! be classified.

mod common;

use common::{TestApp, problem, report, spawn_app};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    /// Joined walk A.
    Participant,
    /// Token of Telge Bostäder.
    Partner,
    Analyst,
    Admin,
}

const EVERYONE: [Who; 5] = [
    Who::Anonymous,
    Who::Participant,
    Who::Partner,
    Who::Analyst,
    Who::Admin,
];

/// What a role may expect from a route aimed at an object it does not own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Served (2xx).
    Allow,
    /// Refused: 401 without credentials, else 403.
    Deny,
    /// The object is not visible to this caller: 404, as if absent.
    Hidden,
}

struct World {
    app: TestApp,
    participant: String,
    walk_a: String,
    walk_b: String,
    /// A finding of walk B.
    finding_b: String,
    /// A place observation of another organisation (Securitas).
    other_org_obs: String,
    /// An anonymous perceived-insecurity report.
    insecurity: String,
    /// A stored area analysis of Hovsjö.
    analysis: String,
}

impl World {
    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Participant => Some(&self.participant),
            Who::Partner => Some(&self.app.partner),
            Who::Analyst => Some(&self.app.analyst),
            Who::Admin => Some(&self.app.admin),
        }
    }
}

async fn json_of(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    serde_json::from_str(&body).unwrap()
}

async fn world() -> World {
    let app = spawn_app().await;
    let walk = |name: &str| {
        json!({"name": name, "area": "hovsjo", "date": "2026-11-20", "time_of_day": "night",
               "route": {"type": "LineString", "coordinates": [[17.585, 59.179], [17.589, 59.181]]}})
    };
    let a = json_of(
        app.post_json("/api/v1/walks", Some(&app.admin), &walk("A"))
            .await,
    )
    .await;
    let b = json_of(
        app.post_json("/api/v1/walks", Some(&app.admin), &walk("B"))
            .await,
    )
    .await;
    let joined = json_of(
        app.post_json("/api/v1/walks/join", None, &json!({"code": a["join_code"]}))
            .await,
    )
    .await;
    let participant = joined["token"].as_str().unwrap().to_owned();

    let mut finding = report(17.5866, 59.1801);
    finding["properties"]["kind"] = json!("walk_finding");
    finding["properties"]["category"] = json!("lighting");
    finding["properties"]["walk"] = b["id"].clone();
    let finding_b = json_of(
        app.post_json("/api/v1/observations", Some(&app.analyst), &finding)
            .await,
    )
    .await;

    let other_partner = json_of(
        app.post_json(
            "/api/v1/tokens",
            Some(&app.admin),
            &json!({"role": "partner", "organisation": "Securitas"}),
        )
        .await,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut place = report(17.6262, 59.1956);
    place["properties"]["kind"] = json!("place_observation");
    place["properties"]["category"] = json!("vandalism");
    let other_org_obs = json_of(
        app.post_json("/api/v1/observations", Some(&other_partner), &place)
            .await,
    )
    .await;
    let insecurity = json_of(
        app.post_json("/api/v1/observations", None, &report(17.6263, 59.1957))
            .await,
    )
    .await;
    let analysis = json_of(
        app.post_json(
            "/api/v1/areas/hovsjo/analyses",
            Some(&app.analyst),
            &json!({"period": "2026-Q3"}),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An action with an indicator whose values are entered by hand.
    json_of(
        app.put_json(
            "/api/v1/actions/sspf-test",
            Some(&app.admin),
            &json!({
                "focus": "young_people_and_crime", "title": "SSPF", "purpose": "Syfte",
                "goal": "Mål", "responsible": "Kommunen", "status": "ongoing",
                "start": "2026-01-01",
                "indicators": [{"name": "Unga med insats", "source": "manual",
                                "period": "quarter", "baseline": "2026-Q1",
                                "target_change_percent": 10}]
            }),
        )
        .await,
    )
    .await;
    World {
        analysis,
        participant,
        walk_a: a["id"].as_str().unwrap().to_owned(),
        walk_b: b["id"].as_str().unwrap().to_owned(),
        finding_b: finding_b["id"].as_str().unwrap().to_owned(),
        other_org_obs: other_org_obs["id"].as_str().unwrap().to_owned(),
        insecurity: insecurity["id"].as_str().unwrap().to_owned(),
        app,
    }
}

/// One call of the matrix: a concrete request and what each role may expect.
struct Case {
    method: &'static str,
    path: String,
    body: Option<Value>,
    expect: fn(Who) -> Expect,
}

fn allow_all(_: Who) -> Expect {
    Expect::Allow
}
fn admin_only(w: Who) -> Expect {
    if w == Who::Admin {
        Expect::Allow
    } else {
        Expect::Deny
    }
}
fn staff(w: Who) -> Expect {
    if matches!(w, Who::Analyst | Who::Admin) {
        Expect::Allow
    } else {
        Expect::Deny
    }
}
fn analyst_only(w: Who) -> Expect {
    if w == Who::Analyst {
        Expect::Allow
    } else {
        Expect::Deny
    }
}
/// Raw listings: analysts, and participants and partners narrowed to their own.
fn raw_scoped(w: Who) -> Expect {
    match w {
        Who::Anonymous | Who::Admin => Expect::Deny,
        _ => Expect::Allow,
    }
}
/// One raw record that is not the caller's: only analysts see it.
fn raw_not_mine(w: Who) -> Expect {
    match w {
        Who::Analyst => Expect::Allow,
        Who::Participant | Who::Partner => Expect::Hidden,
        Who::Anonymous | Who::Admin => Expect::Deny,
    }
}
/// Walk B, which the participant did not join.
fn other_walk(w: Who) -> Expect {
    match w {
        Who::Analyst | Who::Admin => Expect::Allow,
        Who::Participant => Expect::Hidden,
        Who::Anonymous | Who::Partner => Expect::Deny,
    }
}
/// Changing a finding someone else submitted: participants may change
/// their own (`tests/findings.rs`), so another's is not found; nobody
/// else may change any.
fn finding_not_mine(w: Who) -> Expect {
    match w {
        Who::Participant => Expect::Hidden,
        _ => Expect::Deny,
    }
}
fn walk_readers(w: Who) -> Expect {
    match w {
        Who::Analyst | Who::Admin | Who::Participant => Expect::Allow,
        Who::Anonymous | Who::Partner => Expect::Deny,
    }
}

/// The concrete calls for one documented route, or `None` if the route is
/// not classified (which fails the test).
fn cases(w: &World, method: &str, template: &str) -> Option<Vec<Case>> {
    let case = |path: String, body: Option<Value>, expect: fn(Who) -> Expect| Case {
        method: match method {
            "get" => "GET",
            "post" => "POST",
            "put" => "PUT",
            "patch" => "PATCH",
            _ => "DELETE",
        },
        path,
        body,
        expect,
    };
    let raw = |id: &str| template.replace("{id}", id);
    Some(match (method, template) {
        ("get", "/api/v1/observations") => vec![case(template.into(), None, raw_scoped)],
        ("get", "/api/v1/observations/nearby") => vec![case(
            format!("{template}?lon=17.6263&lat=59.1957&radius_m=500"),
            None,
            raw_scoped,
        )],
        ("get", "/api/v1/observations/{id}") => vec![
            case(raw(&w.finding_b), None, raw_not_mine),
            case(raw(&w.other_org_obs), None, raw_not_mine),
            case(raw(&w.insecurity), None, raw_not_mine),
        ],
        ("patch" | "delete", "/api/v1/observations/{id}") => vec![
            case(
                raw(&w.finding_b),
                Some(json!({"severity": 1})),
                finding_not_mine,
            ),
            case(
                raw(&w.insecurity),
                Some(json!({"severity": 1})),
                finding_not_mine,
            ),
        ],
        ("patch", "/api/v1/observations/{id}/status") => vec![case(
            raw(&w.finding_b),
            Some(json!({"status": "assigned", "assignee": "Gatuförvaltningen"})),
            staff,
        )],
        ("post", "/api/v1/observations/import") => vec![case(
            template.into(),
            Some(json!({"type": "FeatureCollection", "features": []})),
            staff,
        )],
        // Checked on their own: submitting per kind (below), closing walk B
        // last of all, joining and logging in need no credentials (throttling
        // is tested in http_api).
        (
            "post",
            "/api/v1/observations"
            | "/api/v1/walks/{id}/close"
            | "/api/v1/walks/join"
            | "/api/v1/auth/login",
        ) => vec![],
        (
            "get",
            "/api/v1/hexagons"
            | "/api/v1/hotspots"
            | "/api/v1/hotspots/emerging"
            | "/api/v1/perception",
        ) => {
            vec![case(format!("{template}?res=8"), None, allow_all)]
        }
        ("get", "/api/v1/cells/{cell}") => {
            vec![case(
                "/api/v1/cells/8808866c27fffff".into(),
                None,
                allow_all,
            )]
        }
        ("get", "/api/v1/walks") => vec![case(template.into(), None, walk_readers)],
        ("post", "/api/v1/walks") => vec![case(
            template.into(),
            Some(json!({"name": "C", "date": "2026-12-01", "time_of_day": "day"})),
            admin_only,
        )],
        ("get", "/api/v1/walks/{id}") => vec![
            case(raw(&w.walk_b), None, other_walk),
            case(raw(&w.walk_a), None, walk_readers),
        ],
        ("get", "/api/v1/areas") => vec![case(template.into(), None, allow_all)],
        ("put", "/api/v1/areas/{id}") => vec![case(
            template.replace("{id}", "torget"),
            Some(json!({"type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[[17.62, 59.19], [17.63, 59.19], [17.63, 59.20], [17.62, 59.19]]]},
                "properties": {"name": "Torget", "type": "custom"}})),
            admin_only,
        )],
        ("get", "/api/v1/areas/{id}/summary") => {
            vec![case("/api/v1/areas/hovsjo/summary".into(), None, allow_all)]
        }
        ("post", "/api/v1/tokens") => vec![case(
            template.into(),
            Some(json!({"role": "analyst"})),
            admin_only,
        )],
        _ => return analysis_cases(w, method, template),
    })
}

/// Area analyses and the action plan.
fn analysis_cases(w: &World, method: &str, template: &str) -> Option<Vec<Case>> {
    let verb = match method {
        "post" => "POST",
        "put" => "PUT",
        _ => "GET",
    };
    let case = |path: String, body: Option<Value>, expect: fn(Who) -> Expect| Case {
        method: verb,
        path,
        body,
        expect,
    };
    let raw = |id: &str| template.replace("{id}", id);
    Some(match (method, template) {
        ("get", "/api/v1/areas/{id}/analysis") => vec![case(
            format!("{}?period=2026-Q3", raw("hovsjo")),
            None,
            staff,
        )],
        ("get", "/api/v1/areas/{id}/analyses") => {
            vec![case(raw("hovsjo"), None, staff)]
        }
        ("post", "/api/v1/areas/{id}/analyses") => vec![case(
            raw("hovsjo"),
            Some(json!({"period": "2026-Q2"})),
            staff,
        )],
        ("get", "/api/v1/analyses/{id}") => vec![
            case(raw(&w.analysis), None, staff),
            case(format!("{}?f=html", raw(&w.analysis)), None, staff),
        ],
        ("get", "/api/v1/actions") => vec![case(template.into(), None, allow_all)],
        ("put", "/api/v1/actions/{id}") => vec![case(
            raw("hovsjo-test"),
            Some(json!({
                "area": "hovsjo", "focus": "safe_neighbourhoods", "title": "Test",
                "purpose": "Syfte", "goal": "Mål", "responsible": "Kommunen",
                "status": "planned", "start": "2026-01-01"
            })),
            staff,
        )],
        ("put", "/api/v1/actions/{id}/indicators/{indicator}/values/{period}") => vec![case(
            "/api/v1/actions/sspf-test/indicators/indicator-1/values/2026-Q3".into(),
            Some(json!({"value": 4, "note": "Socialtjänsten"})),
            staff,
        )],
        // Removing is done once, by the first allowed caller: checked in
        // area_analyses (actions, entered values) and http_api (tokens).
        (
            "delete",
            "/api/v1/actions/{id}"
            | "/api/v1/tokens/{id}"
            | "/api/v1/actions/{id}/indicators/{indicator}/values/{period}",
        ) => vec![],
        ("get", "/api/v1/tokens" | "/metrics") => vec![case(template.into(), None, admin_only)],
        ("get", "/api/v1/taxonomy" | "/health") => {
            vec![case(template.into(), None, allow_all)]
        }
        _ => return None,
    })
}

/// Raw points outside the JSON API: tiles and OGC API Features.
fn raw_elsewhere() -> Vec<Case> {
    vec![
        Case {
            method: "GET",
            path: "/tiles/observations/12/2249/1195.mvt".into(),
            body: None,
            expect: analyst_only,
        },
        Case {
            method: "GET",
            path: "/ogc/collections/observations/items".into(),
            body: None,
            expect: analyst_only,
        },
        Case {
            method: "GET",
            path: "/tiles/hexagons/12/2249/1195.mvt".into(),
            body: None,
            expect: allow_all,
        },
        Case {
            method: "GET",
            path: "/ogc/collections/hexagons/items".into(),
            body: None,
            expect: allow_all,
        },
    ]
}

async fn call(w: &World, case: &Case, who: Who) -> (u16, String) {
    let method = reqwest::Method::from_bytes(case.method.as_bytes()).unwrap();
    let mut req = w.app.client.request(method, w.app.url(&case.path));
    if let Some(t) = w.token(who) {
        req = req.bearer_auth(t);
    }
    if let Some(body) = &case.body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn check(case: &Case, who: Who, status: u16, body: &str) -> Result<(), String> {
    let expected = (case.expect)(who);
    let ok = match expected {
        Expect::Allow => (200..300).contains(&status),
        Expect::Deny => status == if who == Who::Anonymous { 401 } else { 403 },
        Expect::Hidden => status == 404,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} {} as {who:?}: expected {expected:?}, got {status}: {body}",
            case.method, case.path
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_every_role_every_object() {
    let w = world().await;
    let doc: Value = w
        .app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let mut all = Vec::new();
    let mut unclassified = Vec::new();
    for (template, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            match cases(&w, method, template) {
                Some(c) => all.extend(c),
                None => unclassified.push(format!("{method} {template}")),
            }
        }
    }
    assert!(
        unclassified.is_empty(),
        "routes without expectations: {unclassified:?}"
    );
    all.extend(raw_elsewhere());

    let mut failures = Vec::new();
    let mut checked = 0;
    for case in &all {
        for who in EVERYONE {
            let (status, body) = call(&w, case, who).await;
            checked += 1;
            if let Err(e) = check(case, who, status, &body) {
                failures.push(e);
            }
        }
    }
    // Closing walk B: only admins.
    let close = Case {
        method: "POST",
        path: format!("/api/v1/walks/{}/close", w.walk_b),
        body: None,
        expect: admin_only,
    };
    for who in [
        Who::Anonymous,
        Who::Participant,
        Who::Partner,
        Who::Analyst,
        Who::Admin,
    ] {
        let (status, body) = call(&w, &close, who).await;
        checked += 1;
        if let Err(e) = check(&close, who, status, &body) {
            failures.push(e);
        }
    }
    eprintln!("{checked} role × route × object calls checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Raw listings never leak another walk's or organisation's records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_listings_hold_only_the_callers_own() {
    let w = world().await;
    for (who, forbidden) in [
        (
            Who::Participant,
            [&w.finding_b, &w.other_org_obs, &w.insecurity],
        ),
        (
            Who::Partner,
            [&w.finding_b, &w.other_org_obs, &w.insecurity],
        ),
    ] {
        for path in [
            "/api/v1/observations".to_owned(),
            format!("/api/v1/observations?walk={}", w.walk_b),
            "/api/v1/observations/nearby?lon=17.6263&lat=59.1957&radius_m=5000".to_owned(),
        ] {
            let resp = w.app.get(&path, w.token(who)).await;
            let status = resp.status();
            let body = resp.text().await.unwrap();
            for id in forbidden {
                assert!(
                    !body.contains(id.as_str()),
                    "{who:?} {path} ({status}) shows {id}"
                );
            }
        }
    }
}

/// Each role submits only its kind, and cannot set what is not its own by
/// sending extra fields: status, role, organisation, walk, received time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_follow_the_role_and_extra_fields_change_nothing() {
    let w = world().await;
    let submit = |kind: &str, category: &str| {
        let mut f = report(17.6264, 59.1958);
        f["properties"]["kind"] = json!(kind);
        f["properties"]["category"] = json!(category);
        f
    };
    let kinds = [
        ("insecurity", "dark_area"),
        ("walk_finding", "lighting"),
        ("place_observation", "vandalism"),
    ];
    for who in EVERYONE {
        for (kind, category) in kinds {
            let allowed = match who {
                Who::Anonymous => kind == "insecurity",
                Who::Participant => kind == "walk_finding",
                Who::Partner => kind == "place_observation",
                Who::Analyst | Who::Admin => true,
            };
            let mut f = submit(kind, category);
            if kind == "walk_finding" && who != Who::Participant {
                f["properties"]["walk"] = json!(w.walk_a);
            }
            if kind == "place_observation" && who != Who::Partner {
                f["properties"]["organisation"] = json!("Södertälje kommun");
            }
            let resp = w
                .app
                .post_json("/api/v1/observations", w.token(who), &f)
                .await;
            let status = resp.status().as_u16();
            if allowed {
                assert_eq!(status, 201, "{who:?} submitting {kind}");
            } else {
                let denied = if who == Who::Anonymous { 401 } else { 403 };
                assert_eq!(status, denied, "{who:?} submitting {kind}");
            }
        }
    }

    // A participant aims a finding at walk B: refused.
    let mut f = submit("walk_finding", "lighting");
    f["properties"]["walk"] = json!(w.walk_b);
    let resp = w
        .app
        .post_json("/api/v1/observations", Some(&w.participant), &f)
        .await;
    assert_eq!(resp.status(), 403);
    // A partner claims another organisation: refused.
    let mut f = submit("place_observation", "vandalism");
    f["properties"]["organisation"] = json!("Securitas");
    let resp = w
        .app
        .post_json("/api/v1/observations", Some(&w.app.partner), &f)
        .await;
    assert_eq!(resp.status(), 403);

    // Fields nobody may set by submitting: refused, or stored without effect.
    for (field, value) in [
        ("status", json!("resolved")),
        ("role", json!("admin")),
        ("received_at", json!("2020-01-01T00:00:00Z")),
        ("status_by", json!("someone")),
    ] {
        let mut f = submit("walk_finding", "lighting");
        f["properties"][field] = value.clone();
        let resp = w
            .app
            .post_json("/api/v1/observations", Some(&w.participant), &f)
            .await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        if status == 201 {
            assert_ne!(
                body["properties"][field], value,
                "{field} was taken from the client"
            );
            assert_eq!(body["properties"]["status"], "open");
        } else {
            assert!((400..500).contains(&status), "{field}: {status}");
        }
    }
    // A status change may not smuggle other fields either.
    let resp = w
        .app
        .client
        .patch(
            w.app
                .url(&format!("/api/v1/observations/{}/status", w.finding_b)),
        )
        .bearer_auth(&w.app.analyst)
        .header("content-type", "application/json")
        .body(json!({"status": "resolved", "walk": w.walk_a, "kind": "insecurity"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
}

/// Security review: an anonymous caller chose the id of a stored walk
/// finding or partner observation and the `409` told it existed. Anonymous
/// ids now live in a namespace of their own: an existing record's id is
/// answered exactly like a fresh id, and a retry still stores once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_ids_cannot_reach_other_records() {
    let w = world().await;
    let post = |id: &str| {
        let mut f = report(17.6265, 59.1959);
        f["id"] = json!(id);
        let app = &w.app;
        async move {
            let resp = app.post_json("/api/v1/observations", None, &f).await;
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let shape = |body: &Value| {
        let mut keys: Vec<String> = body["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let (status, fresh) = post("0190f7a4-1c2b-7d3e-8f40-0123456789ab").await;
    assert_eq!(status, 201);
    let before = w.app.observation_count().await;
    for existing in [&w.finding_b, &w.other_org_obs, &w.insecurity] {
        let (status, body) = post(existing).await;
        assert_eq!(status, 201, "{existing}: {body}");
        assert_eq!(shape(&body), shape(&fresh));
        assert_ne!(body["id"], json!(existing));
        // The record behind the id is untouched.
        let stored: Value = w
            .app
            .get(
                &format!("/api/v1/observations/{existing}"),
                Some(&w.app.analyst),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(stored["id"], json!(existing));
    }
    assert_eq!(w.app.observation_count().await, before + 3);

    // The report page's retry: same id, same content, stored once.
    let (status, again) = post("0190f7a4-1c2b-7d3e-8f40-0123456789ab").await;
    assert_eq!(status, 200);
    assert_eq!(again, fresh);
    assert_eq!(w.app.observation_count().await, before + 3);

    for placeholder in [
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ] {
        let mut f = report(17.6265, 59.1959);
        f["id"] = json!(placeholder);
        let body = problem(w.app.post_json("/api/v1/observations", None, &f).await, 422).await;
        assert_eq!(body["errors"][0]["field"], "id");
    }
}
