//! A walk participant corrects or removes a finding they submitted, while
//! the walk is open; nobody else's, and not once it is closed. What they
//! change is what every reader and count sees next.

mod common;

use common::{TestApp, problem, report, spawn_app};
use serde_json::{Value, json};

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn patch(app: &TestApp, id: &str, token: Option<&str>, body: Value) -> reqwest::Response {
    let path = format!("/api/v1/observations/{id}");
    send(app, reqwest::Method::PATCH, &path, token, Some(body)).await
}

async fn delete(app: &TestApp, id: &str, token: Option<&str>) -> reqwest::Response {
    let path = format!("/api/v1/observations/{id}");
    send(app, reqwest::Method::DELETE, &path, token, None).await
}

async fn json_of(resp: reqwest::Response) -> Value {
    resp.json().await.unwrap()
}

/// A participant's token for a walk joined with `code`.
async fn join(app: &TestApp, code: &str) -> String {
    let joined = json_of(
        app.post_json("/api/v1/walks/join", None, &json!({"code": code}))
            .await,
    )
    .await;
    joined["token"].as_str().unwrap().to_owned()
}

/// Submits a lighting finding as `token`; its id.
async fn submit(app: &TestApp, token: &str, lon: f64) -> String {
    let mut finding = report(lon, 59.1801);
    finding["properties"]["kind"] = json!("walk_finding");
    finding["properties"]["category"] = json!("lighting");
    let resp = app
        .post_json("/api/v1/observations", Some(token), &finding)
        .await;
    assert_eq!(resp.status(), 201);
    json_of(resp).await["id"].as_str().unwrap().to_owned()
}

/// Ids of the walk findings an analyst lists in `category`.
async fn listed(app: &TestApp, category: &str) -> Vec<String> {
    let path = format!("/api/v1/observations?kind=walk_finding&category={category}");
    let page = json_of(app.get(&path, Some(&app.analyst)).await).await;
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A walk in Hovsjö that Ann and Bo joined, each with a lighting finding.
struct Walk {
    app: TestApp,
    id: String,
    ann: String,
    bo: String,
    mine: String,
    theirs: String,
}

async fn walk_with_two_findings() -> Walk {
    let app = spawn_app().await;
    let walk = json_of(
        app.post_json(
            "/api/v1/walks",
            Some(&app.admin),
            &json!({
                "name": "Hovsjö kväll", "area": "hovsjo", "date": "2026-11-20",
                "time_of_day": "night",
                "route": {"type": "LineString", "coordinates": [[17.585, 59.179], [17.589, 59.181]]}
            }),
        )
        .await,
    )
    .await;
    let code = walk["join_code"].as_str().unwrap();
    let (ann, bo) = (join(&app, code).await, join(&app, code).await);
    let mine = submit(&app, &ann, 17.5866).await;
    let theirs = submit(&app, &bo, 17.5870).await;
    let id = walk["id"].as_str().unwrap().to_owned();
    Walk {
        app,
        id,
        ann,
        bo,
        mine,
        theirs,
    }
}

#[tokio::test]
async fn participants_change_their_own_findings_and_nobody_elses() {
    let Walk {
        app,
        id,
        ann,
        mine,
        theirs,
        ..
    } = walk_with_two_findings().await;

    // Ann corrects hers: each field as asked, the rest as it was.
    let changed = json_of(
        patch(
            &app,
            &mine,
            Some(&ann),
            json!({"category": "vegetation", "severity": 3, "description": "Buskar skymmer"}),
        )
        .await,
    )
    .await;
    assert_eq!(changed["properties"]["category"], "vegetation");
    assert_eq!(changed["properties"]["severity"], 3);
    assert_eq!(changed["properties"]["description"], "Buskar skymmer");
    assert_eq!(changed["properties"]["status"], "open");
    assert_eq!(changed["properties"]["own"], true);
    // Counted in its new category at once.
    assert_eq!(
        listed(&app, "vegetation").await,
        std::slice::from_ref(&mine)
    );
    assert_eq!(
        listed(&app, "lighting").await,
        std::slice::from_ref(&theirs)
    );
    let cleared = json_of(patch(&app, &mine, Some(&ann), json!({"description": " "})).await).await;
    assert!(
        cleared["properties"]
            .get("description")
            .is_none_or(Value::is_null)
    );
    assert_eq!(cleared["properties"]["category"], "vegetation");

    // Checked as a submission is; nothing changes when refused.
    for bad in [
        json!({"category": "vandalism"}),
        json!({"severity": 7}),
        json!({"description": "x".repeat(2001)}),
    ] {
        problem(patch(&app, &mine, Some(&ann), bad).await, 422).await;
    }
    problem(
        patch(&app, &mine, Some(&ann), json!({"walk": "x"})).await,
        422,
    )
    .await;

    // Ann's list says which are hers.
    let page = json_of(
        app.get(&format!("/api/v1/observations?walk={id}"), Some(&ann))
            .await,
    )
    .await;
    let own: Vec<(&str, bool)> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["properties"]["own"] == true))
        .collect();
    assert_eq!(own, [(mine.as_str(), true), (theirs.as_str(), false)]);

    // Nobody else's: not Bo's by Ann, not by staff, not without a token.
    problem(
        patch(&app, &theirs, Some(&ann), json!({"severity": 1})).await,
        403,
    )
    .await;
    problem(delete(&app, &theirs, Some(&ann)).await, 403).await;
    problem(
        patch(&app, &mine, Some(&app.analyst), json!({"severity": 1})).await,
        403,
    )
    .await;
    problem(delete(&app, &mine, Some(&app.admin)).await, 403).await;
    problem(patch(&app, &mine, None, json!({"severity": 1})).await, 401).await;
    problem(delete(&app, &mine, None).await, 401).await;
    problem(delete(&app, "not-an-id", Some(&ann)).await, 404).await;
}

#[tokio::test]
async fn participants_remove_a_few_of_their_own_findings_while_the_walk_is_open() {
    let Walk {
        app,
        id,
        ann,
        bo,
        mine,
        theirs,
    } = walk_with_two_findings().await;
    let before = app.observation_count().await;
    problem(delete(&app, &theirs, Some(&ann)).await, 403).await;

    // Removed for good: gone from reads and counts.
    assert_eq!(delete(&app, &mine, Some(&ann)).await.status(), 204);
    problem(
        app.get(&format!("/api/v1/observations/{mine}"), Some(&ann))
            .await,
        404,
    )
    .await;
    problem(delete(&app, &mine, Some(&ann)).await, 404).await;
    assert_eq!(
        listed(&app, "lighting").await,
        std::slice::from_ref(&theirs)
    );
    assert_eq!(app.observation_count().await, before - 1);

    // A few removals each: a finding removed and made again under a new id
    // would show how a public count rounds under a fresh cell key. Asked
    // all at once, no more of them pass: nine more, and three refused.
    let mut more = Vec::new();
    for i in 1..=12 {
        more.push(submit(&app, &ann, 17.586 + f64::from(i) * 1e-4).await);
    }
    let answers =
        futures_util::future::join_all(more.iter().map(|id| delete(&app, id, Some(&ann)))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [[204; 9].as_slice(), &[409; 3]].concat());
    let kept: Vec<String> = more
        .iter()
        .zip(&answers)
        .filter(|(_, r)| r.status() == 409)
        .map(|(id, _)| id.clone())
        .collect();
    let resp = patch(&app, &kept[0], Some(&ann), json!({"severity": 1})).await;
    assert_eq!(resp.status(), 200, "changing is still allowed");

    // Bo's removals are his own to count.
    assert_eq!(delete(&app, &theirs, Some(&bo)).await.status(), 204);

    // A closed walk keeps its findings as they are.
    let later = submit(&app, &ann, 17.5868).await;
    let closed = app
        .post_json(
            &format!("/api/v1/walks/{id}/close"),
            Some(&app.admin),
            &json!({}),
        )
        .await;
    assert_eq!(closed.status(), 200);
    problem(
        patch(&app, &later, Some(&ann), json!({"severity": 1})).await,
        409,
    )
    .await;
    problem(delete(&app, &later, Some(&ann)).await, 409).await;
    assert_eq!(listed(&app, "lighting").await, [kept, vec![later]].concat());
}
