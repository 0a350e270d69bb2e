//! The store contract: what every [`Store`] implementation must do. Each
//! contract item is a function over a fixture; the `contract_tests!` macro
//! runs all of them against each store.

mod common;

use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::{date, datetime};
use trygg::index::{IndexEntry, base_cell};
use trygg::model::walk::TimeOfDay;
use trygg::model::{
    Action, ActionStatus, Area, AreaType, FindingState, FindingStatus, IndicatorValue, Kind,
    Observation, Role, Walk,
};
use trygg::store::{
    AuditEntry, BatchPolicy, FindingUpdate, Inserted, ObservationEdit, PgStore, Removal,
    SqliteStore, Store, StoreError, StoredAnalysis, StreamOutcome, TokenRecord, UserRecord,
};
use uuid::Uuid;

/// Opens a store; opening again reaches the same data.
trait Fixture {
    fn open(&self) -> Arc<dyn Store>;
}

struct Embedded(tempfile::TempDir);

impl Fixture for Embedded {
    fn open(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(self.0.path()).expect("open embedded store"))
    }
}

#[expect(clippy::unnecessary_wraps, reason = "fixtures may be unavailable")]
fn embedded() -> Option<Embedded> {
    Some(Embedded(tempfile::tempdir().unwrap()))
}

/// A fresh database in the throwaway PostgreSQL cluster.
struct Postgres(String);

impl Fixture for Postgres {
    fn open(&self) -> Arc<dyn Store> {
        let store = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(PgStore::open(&self.0))
        });
        Arc::new(store.expect("open PostgreSQL store"))
    }
}

fn postgres() -> Option<Postgres> {
    common::postgres::fresh_database().map(Postgres)
}

fn observation(n: u128) -> Observation {
    Observation {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n),
        kind: Kind::Insecurity,
        lon: 17.626 + f64::from(u32::try_from(n).unwrap()) * 1e-5,
        lat: 59.196,
        accuracy_m: Some(12.5),
        observed_at: datetime!(2026-01-15 21:30:15.123456789 UTC),
        received_at: datetime!(2026-01-16 08:00 UTC),
        category: "dark_area".into(),
        severity: 2,
        description: Some("Trasig belysning vid gångtunneln".into()),
        organisation: None,
        walk_id: None,
        finding: None,
        submitted_by: None,
    }
}

fn finding(n: u128, walk: Uuid) -> Observation {
    Observation {
        kind: Kind::WalkFinding,
        category: "lighting".into(),
        walk_id: Some(walk),
        accuracy_m: None,
        description: None,
        finding: Some(FindingState {
            status: FindingStatus::Open,
            changed_at: datetime!(2026-01-16 08:00 UTC),
            changed_by: None,
            assignee: None,
        }),
        submitted_by: Some("token:0190-participant".into()),
        ..observation(n)
    }
}

async fn round_trips_every_field(f: &dyn Fixture) {
    let store = f.open();
    let walk = Uuid::from_u128(99);
    for obs in [
        observation(1),
        finding(2, walk),
        Observation {
            kind: Kind::PlaceObservation,
            organisation: Some("Telge Bostäder".into()),
            category: "vandalism".into(),
            ..observation(3)
        },
    ] {
        let Inserted::Created {
            observation: stored,
            ..
        } = store.insert(obs.clone()).await.unwrap()
        else {
            panic!("first insert must create");
        };
        assert_eq!(stored, obs);
        assert_eq!(store.get(obs.id).await.unwrap(), Some(obs));
    }
    assert_eq!(store.get(Uuid::from_u128(12345)).await.unwrap(), None);
}

async fn insert_is_idempotent_by_id(f: &dyn Fixture) {
    let store = f.open();
    let obs = observation(1);
    assert!(matches!(
        store.insert(obs.clone()).await.unwrap(),
        Inserted::Created { .. }
    ));
    // A retry carries a new received_at; it is still the same submission.
    let retry = Observation {
        received_at: OffsetDateTime::now_utc(),
        ..obs.clone()
    };
    assert_eq!(
        store.insert(retry).await.unwrap(),
        Inserted::Duplicate(obs.clone())
    );
    let changed = Observation {
        severity: 3,
        ..obs.clone()
    };
    assert_eq!(
        store.insert(changed).await.unwrap(),
        Inserted::Conflict(obs)
    );
    assert_eq!(store.count().await.unwrap(), 1);
}

async fn sequence_numbers_follow_commit_order(f: &dyn Fixture) {
    let store = f.open();
    let mut seqs = Vec::new();
    for n in 1..=5 {
        let Inserted::Created { seq, .. } = store.insert(observation(n)).await.unwrap() else {
            panic!()
        };
        seqs.push(seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let after_second = store.index_entries_since(seqs[1], 100).await.unwrap();
    assert_eq!(
        after_second.iter().map(|e| e.seq).collect::<Vec<_>>(),
        seqs[2..]
    );
    let e = &after_second[0];
    let obs = observation(3);
    assert_eq!(
        e,
        &IndexEntry {
            seq: seqs[2],
            id: obs.id,
            kind: obs.kind,
            lon: obs.lon,
            lat: obs.lat,
            cell: u64::from(base_cell(obs.lon, obs.lat).unwrap()),
            observed_at: obs.observed_at.unix_timestamp(),
            category: obs.category.clone(),
            walk_id: None,
            organisation: None,
        }
    );
    assert_eq!(store.index_entries_since(0, 2).await.unwrap().len(), 2);
    let page = store.observations_since(seqs[3], 10).await.unwrap();
    assert_eq!(page, vec![(seqs[4], observation(5))]);
}

async fn concurrent_inserts_all_land_once(f: &dyn Fixture) {
    let store = f.open();
    let mut tasks = Vec::new();
    for n in 0..200 {
        let s = Arc::clone(&store);
        tasks.push(tokio::spawn(async move { s.insert(observation(n)).await }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Inserted::Created { seq, .. } => seqs.push(seq),
            other => panic!("unexpected {other:?}"),
        }
    }
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 200);
    assert_eq!(store.count().await.unwrap(), 200);
}

async fn batches_are_all_or_nothing_unless_partial(f: &dyn Fixture) {
    let store = f.open();
    store.insert(observation(1)).await.unwrap();
    let conflicting = Observation {
        severity: 1,
        ..observation(1)
    };
    let batch = vec![
        observation(2),
        conflicting.clone(),
        observation(3),
        observation(2),
    ];
    let out = store
        .insert_batch(batch.clone(), BatchPolicy::AllOrNothing)
        .await
        .unwrap();
    assert_eq!(out.conflicts, [1]);
    assert!(out.created.is_empty());
    assert_eq!(
        store.count().await.unwrap(),
        1,
        "nothing of a refused batch is stored"
    );

    let out = store
        .insert_batch(batch, BatchPolicy::Partial)
        .await
        .unwrap();
    assert_eq!(out.conflicts, [1]);
    assert_eq!(
        out.duplicates,
        [3],
        "the repeated record inside the batch is a duplicate"
    );
    assert_eq!(
        out.created.iter().map(|e| e.id).collect::<Vec<_>>(),
        [observation(2).id, observation(3).id]
    );
    assert!(out.created[0].seq < out.created[1].seq);
    assert_eq!(store.count().await.unwrap(), 3);

    // Importing the same file again is a no-op, not an error.
    let again = store
        .insert_batch(
            vec![observation(2), observation(3)],
            BatchPolicy::AllOrNothing,
        )
        .await
        .unwrap();
    assert_eq!((again.created.len(), again.duplicates.len()), (0, 2));
}

async fn large_batches_report_each_record(f: &dyn Fixture) {
    // Big enough that stores writing many rows per statement see full groups.
    let store = f.open();
    store.insert(observation(50)).await.unwrap();
    let mut batch: Vec<Observation> = (1..=200).map(observation).collect();
    batch.push(observation(7));
    batch.push(Observation {
        severity: 3,
        ..observation(120)
    });
    let out = store
        .insert_batch(batch, BatchPolicy::Partial)
        .await
        .unwrap();
    assert_eq!(out.duplicates, [49, 200], "the stored one and the repeat");
    assert_eq!(out.conflicts, [201]);
    assert_eq!(out.created.len(), 199);
    assert!(
        out.created.windows(2).all(|w| w[0].seq < w[1].seq),
        "input order, increasing sequence numbers"
    );
    assert_eq!(out.created[0].id, observation(1).id);
    assert_eq!(store.count().await.unwrap(), 200);
    assert_eq!(
        store.get(observation(120).id).await.unwrap(),
        Some(observation(120))
    );
}

async fn streamed_imports_commit_only_when_finished(f: &dyn Fixture) {
    use trygg::store::ImportChunk;
    let store = f.open();
    let chunk = |ns: &[u128]| records(ns.iter().map(|n| observation(*n)).collect());
    // The sender goes away without Finish: nothing stays.
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    tx.send(chunk(&[1, 2])).unwrap();
    drop(tx);
    let out = store
        .insert_stream(rx, BatchPolicy::AllOrNothing)
        .await
        .unwrap();
    assert_eq!(out, StreamOutcome::default());
    assert_eq!(store.count().await.unwrap(), 0);
    // Finished: everything stays, positions count across chunks.
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    tx.send(chunk(&[1, 2])).unwrap();
    tx.send(chunk(&[3, 2])).unwrap();
    tx.send(ImportChunk::Finish).unwrap();
    let out = store
        .insert_stream(rx, BatchPolicy::AllOrNothing)
        .await
        .unwrap();
    assert_eq!(out.stored, 3);
    assert_eq!(out.duplicates, [3]);
    assert_eq!(store.count().await.unwrap(), 3);
    assert_eq!(
        stored_in(&*store, &out).await,
        [1, 2, 3].map(|n| observation(n).id)
    );
}

/// A streamed import's chunk: observations with their cells.
fn records(obs: Vec<Observation>) -> trygg::store::ImportChunk {
    let cells = obs
        .iter()
        .map(|o| IndexEntry::from_observation(0, o).cell)
        .collect();
    trygg::store::ImportChunk::Records(obs, cells)
}

/// The ids a streamed import stored, in sequence order, as read back from
/// the range of sequence numbers it reports (with their cells checked).
async fn stored_in(store: &dyn Store, out: &StreamOutcome) -> Vec<Uuid> {
    let (first, last) = out.seqs.expect("something was stored");
    let entries = store.index_entries_since(first - 1, 1000).await.unwrap();
    let ours: Vec<&IndexEntry> = entries.iter().filter(|e| e.seq <= last).collect();
    assert_eq!(ours.len(), out.stored);
    assert_eq!(ours[0].seq, first);
    for e in &ours {
        let o = store.get(e.id).await.unwrap().unwrap();
        assert_eq!(e.cell, IndexEntry::from_observation(0, &o).cell);
    }
    ours.iter().map(|e| e.id).collect()
}

/// Whatever the order of the ids — ascending past every stored one, below
/// it, or mixed — the first record with an id wins and the rest are
/// reported.
async fn streamed_ids_in_any_order_keep_the_first(f: &dyn Fixture) {
    use trygg::store::ImportChunk;
    let store = f.open();
    store.insert(observation(4)).await.unwrap();
    let chunk = records;
    let changed = Observation {
        severity: 3,
        ..observation(3)
    };
    // The first chunk's ids ascend above the stored one; the later chunks'
    // do not, and repeat ids of both the store and the first chunk.
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    tx.send(chunk(vec![observation(5), observation(6), observation(8)]))
        .unwrap();
    tx.send(chunk(vec![
        observation(3),
        observation(6),
        observation(4),
        observation(2),
    ]))
    .unwrap();
    tx.send(chunk(vec![
        changed,
        observation(9),
        observation(2),
        observation(7),
    ]))
    .unwrap();
    tx.send(ImportChunk::Finish).unwrap();
    let out = store.insert_stream(rx, BatchPolicy::Partial).await.unwrap();
    assert_eq!(out.conflicts, [7]);
    assert_eq!(out.duplicates, [4, 5, 9]);
    assert_eq!(out.stored, 7);
    assert_eq!(
        stored_in(&*store, &out).await,
        [5, 6, 8, 3, 2, 9, 7].map(|n| observation(n).id)
    );
    assert_eq!(store.count().await.unwrap(), 8);
    assert_eq!(
        store.get(observation(3).id).await.unwrap(),
        Some(observation(3))
    );
}

async fn get_many_keeps_the_order_asked(f: &dyn Fixture) {
    let store = f.open();
    for n in 1..=3 {
        store.insert(observation(n)).await.unwrap();
    }
    let ids = [observation(3).id, Uuid::from_u128(7), observation(1).id];
    let got = store.get_many(&ids).await.unwrap();
    assert_eq!(got, vec![observation(3), observation(1)]);
}

async fn findings_are_followed_up(f: &dyn Fixture) {
    let store = f.open();
    let walk = Uuid::from_u128(42);
    store.insert(finding(1, walk)).await.unwrap();
    store.insert(observation(2)).await.unwrap();
    let update = FindingUpdate {
        status: FindingStatus::Assigned,
        assignee: Some("Gatuförvaltningen".into()),
        by: "analyst-anna".into(),
        at: datetime!(2026-02-01 10:00 UTC),
    };
    let updated = store
        .update_finding(finding(1, walk).id, update.clone())
        .await
        .unwrap();
    let state = updated.finding.unwrap();
    assert_eq!(state.status, FindingStatus::Assigned);
    assert_eq!(state.assignee.as_deref(), Some("Gatuförvaltningen"));
    assert_eq!(state.changed_by.as_deref(), Some("analyst-anna"));
    assert_eq!(state.changed_at, update.at);
    let err = store
        .update_finding(observation(2).id, update)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
}

fn walk(n: u128, code: &str) -> Walk {
    Walk {
        id: Uuid::from_u128(n),
        name: format!("Trygghetsvandring {n}"),
        area_id: Some("hovsjo".into()),
        date: date!(2026 - 10 - 14),
        time_of_day: TimeOfDay::Night,
        route: vec![[17.58, 59.17], [17.59, 59.18]],
        join_code: code.into(),
        created_at: datetime!(2026-10-01 09:00 UTC),
        closed_at: None,
    }
}

async fn walks_are_created_joined_and_closed(f: &dyn Fixture) {
    let store = f.open();
    store.create_walk(&walk(1, "ABC234")).await.unwrap();
    store.create_walk(&walk(2, "XYZ789")).await.unwrap();
    assert!(matches!(
        store.create_walk(&walk(3, "ABC234")).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.walk(Uuid::from_u128(1)).await.unwrap(),
        Some(walk(1, "ABC234"))
    );
    assert_eq!(
        store.walk_by_code("XYZ789").await.unwrap().map(|w| w.id),
        Some(Uuid::from_u128(2))
    );
    assert_eq!(store.walk_by_code("NOPE00").await.unwrap(), None);
    assert_eq!(store.list_walks().await.unwrap().len(), 2);
    let at = datetime!(2026-10-14 22:00 UTC);
    let closed = store.close_walk(Uuid::from_u128(1), at).await.unwrap();
    assert_eq!(closed.closed_at, Some(at));
    // Closing twice keeps the first time.
    let again = store
        .close_walk(Uuid::from_u128(1), at + time::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(again.closed_at, Some(at));
    assert!(matches!(
        store.close_walk(Uuid::from_u128(9), at).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn areas_are_stored_and_replaced(f: &dyn Fixture) {
    let store = f.open();
    let poly = |d: f64| {
        geo::MultiPolygon::new(vec![geo::Polygon::new(
            geo::LineString::from(vec![
                (17.58, 59.17),
                (17.60 + d, 59.17),
                (17.60, 59.19),
                (17.58, 59.17),
            ]),
            vec![],
        )])
    };
    let area = Area {
        id: "hovsjo".into(),
        name: "Hovsjö".into(),
        area_type: AreaType::PoliceVulnerable,
        geometry: poly(0.0),
        approximate: true,
    };
    store.put_area(&area).await.unwrap();
    assert_eq!(store.list_areas().await.unwrap(), vec![area.clone()]);
    let moved = Area {
        geometry: poly(0.01),
        approximate: false,
        ..area
    };
    store.put_area(&moved).await.unwrap();
    assert_eq!(store.list_areas().await.unwrap(), vec![moved]);
}

async fn credentials_are_found_by_hash_and_name(f: &dyn Fixture) {
    let store = f.open();
    let token = TokenRecord {
        id: Uuid::from_u128(5),
        hash: [7; 32],
        role: Role::Partner,
        organisation: Some("Securitas".into()),
        walk_id: None,
        label: "EST feed".into(),
        created_at: datetime!(2026-01-01 0:00 UTC),
        expires_at: Some(datetime!(2027-01-01 0:00 UTC)),
    };
    store.create_token(&token).await.unwrap();
    assert_eq!(store.find_token(&[7; 32]).await.unwrap(), Some(token));
    assert_eq!(store.find_token(&[8; 32]).await.unwrap(), None);
    let user = UserRecord {
        username: "anna".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: Role::Analyst,
        organisation: None,
        created_at: datetime!(2026-01-01 0:00 UTC),
    };
    store.add_user(&user).await.unwrap();
    assert!(matches!(
        store.add_user(&user).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.find_user("anna").await.unwrap(), Some(user));
    assert_eq!(store.find_user("bertil").await.unwrap(), None);
}

async fn tokens_are_listed_and_revoked(f: &dyn Fixture) {
    let store = f.open();
    let token = |n: u8, role: Role, minute: i64| TokenRecord {
        id: Uuid::from_u128(u128::from(n)),
        hash: [n; 32],
        role,
        organisation: (role == Role::Partner).then(|| "Securitas".into()),
        walk_id: (role == Role::WalkParticipant).then(|| Uuid::from_u128(99)),
        label: format!("token {n}"),
        created_at: datetime!(2026-01-01 0:00 UTC) + time::Duration::minutes(minute),
        expires_at: None,
    };
    let (a, b, c) = (
        token(1, Role::Partner, 0),
        token(2, Role::Analyst, 1),
        token(3, Role::WalkParticipant, 2),
    );
    for t in [&a, &b, &c] {
        store.create_token(t).await.unwrap();
    }
    assert_eq!(
        store.list_tokens(false).await.unwrap(),
        vec![b.clone(), a.clone()]
    );
    assert_eq!(
        store.list_tokens(true).await.unwrap(),
        vec![c, b, a.clone()]
    );
    let at = datetime!(2026-02-01 12:00 UTC);
    assert!(store.expire_token(a.id, at).await.unwrap());
    assert!(!store.expire_token(Uuid::from_u128(42), at).await.unwrap());
    assert_eq!(
        store.find_token(&a.hash).await.unwrap().unwrap().expires_at,
        Some(at)
    );
}

async fn the_audit_log_grows_newest_first(f: &dyn Fixture) {
    let store = f.open();
    for n in 0..3 {
        store
            .append_audit(&AuditEntry {
                at: datetime!(2026-01-01 0:00 UTC) + time::Duration::minutes(n),
                actor: format!("token:{n}"),
                action: "observations.list".into(),
                detail: format!("{n} records"),
            })
            .await
            .unwrap();
    }
    let recent = store.recent_audit(2).await.unwrap();
    assert_eq!(
        recent.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>(),
        ["token:2", "token:1"]
    );
}

fn action(id: &str, area: Option<&str>) -> Action {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "area": area,
        "focus": "safe_neighbourhoods",
        "title": "Bättre belysning",
        "purpose": "Öka tryggheten på gångvägarna",
        "goal": "Färre otrygghetsrapporter om mörker",
        "responsible": "Samhällsbyggnadskontoret",
        "status": "ongoing",
        "start": "2025-03-01",
        "places": [{"type": "Point", "coordinates": [17.5868, 59.18]}],
        "indicators": [{
            "name": "Rapporter om mörka platser",
            "kinds": ["insecurity"],
            "categories": ["dark_area"],
            "period": "quarter",
            "baseline": "2025-Q1",
            "target_change_percent": -30.5
        }]
    }))
    .map(|mut a: Action| {
        // As the service stores it.
        a.give_indicator_ids();
        a
    })
    .unwrap()
}

async fn indicator_values_are_entered_replaced_and_removed(f: &dyn Fixture) {
    let store = f.open();
    store.put_action(&action("sspf", None)).await.unwrap();
    let value = |period: &str, value: f64, by: &str| IndicatorValue {
        action: "sspf".into(),
        indicator: "indicator-1".into(),
        period: period.parse().unwrap(),
        value,
        note: "Från socialtjänsten".into(),
        entered_by: by.into(),
        entered_at: datetime!(2025-10-02 08:30:00.000_001 UTC),
    };
    store
        .put_indicator_value(&value("2025-Q2", 8.5, "ann"))
        .await
        .unwrap();
    store
        .put_indicator_value(&value("2025-Q1", 7.0, "ann"))
        .await
        .unwrap();
    // The same period again replaces it.
    store
        .put_indicator_value(&value("2025-Q2", 9.0, "bo"))
        .await
        .unwrap();
    assert_eq!(
        store.list_indicator_values().await.unwrap(),
        vec![value("2025-Q1", 7.0, "ann"), value("2025-Q2", 9.0, "bo")]
    );
    let mut stray = value("2025-Q1", 1.0, "ann");
    stray.action = "nosuch".into();
    assert!(matches!(
        store.put_indicator_value(&stray).await,
        Err(StoreError::NotFound(_))
    ));
    let q1 = "2025-Q1".parse().unwrap();
    assert!(
        store
            .delete_indicator_value("sspf", "indicator-1", q1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_indicator_value("sspf", "indicator-1", q1)
            .await
            .unwrap()
    );
    // The action's removal takes its values with it.
    assert!(store.delete_action("sspf").await.unwrap());
    assert!(store.list_indicator_values().await.unwrap().is_empty());
}

async fn actions_are_stored_replaced_and_removed(f: &dyn Fixture) {
    let store = f.open();
    let a = action("hovsjo-ljus", Some("hovsjo"));
    let b = action("ahus-est", None);
    store.put_action(&a).await.unwrap();
    store.put_action(&b).await.unwrap();
    assert_eq!(
        store.list_actions().await.unwrap(),
        vec![b.clone(), a.clone()]
    );
    let done = Action {
        status: ActionStatus::Completed,
        end: Some(date!(2025 - 12 - 31)),
        ..a
    };
    store.put_action(&done).await.unwrap();
    assert_eq!(store.list_actions().await.unwrap(), vec![b.clone(), done]);
    assert!(store.delete_action("hovsjo-ljus").await.unwrap());
    assert!(!store.delete_action("hovsjo-ljus").await.unwrap());
    assert_eq!(store.list_actions().await.unwrap(), vec![b]);
}

async fn analyses_are_kept_unchanged(f: &dyn Fixture) {
    let store = f.open();
    let analysis = |n: u128, period: &str| StoredAnalysis {
        id: Uuid::from_u128(n),
        area_id: "hovsjo".into(),
        period: period.parse().unwrap(),
        created_at: datetime!(2026-01-05 6:00 UTC) + time::Duration::nanoseconds(123),
        body: serde_json::json!({"total": n, "share": 0.125, "by_category": [["dark_area", 3]]}),
    };
    let q2 = analysis(1, "2025-Q2");
    let q3 = analysis(2, "2025-Q3");
    let q3_again = analysis(3, "2025-Q3");
    for a in [&q2, &q3, &q3_again] {
        store.save_analysis(a).await.unwrap();
    }
    // The same id again is refused; the stored one stays as it was.
    let rewrite = StoredAnalysis {
        body: serde_json::json!({"total": 0}),
        ..q2.clone()
    };
    assert!(store.save_analysis(&rewrite).await.is_err());
    assert_eq!(store.get_analysis(q2.id).await.unwrap(), Some(q2.clone()));
    assert_eq!(
        store.list_analyses("hovsjo").await.unwrap(),
        vec![q3_again, q3, q2]
    );
    assert!(store.list_analyses("ronna").await.unwrap().is_empty());
    assert_eq!(store.get_analysis(Uuid::from_u128(9)).await.unwrap(), None);
}

async fn acknowledged_writes_survive_reopening(f: &dyn Fixture) {
    {
        let store = f.open();
        store.insert(observation(1)).await.unwrap();
        store
            .insert_batch(
                vec![observation(2), observation(3)],
                BatchPolicy::AllOrNothing,
            )
            .await
            .unwrap();
    }
    let store = f.open();
    assert_eq!(store.count().await.unwrap(), 3);
    assert_eq!(
        store.get(observation(2).id).await.unwrap(),
        Some(observation(2))
    );
}

async fn observations_are_edited_and_removed_for_good(f: &dyn Fixture) {
    let store = f.open();
    let walk = Uuid::from_u128(99);
    for n in 1..=3 {
        store.insert(finding(n, walk)).await.unwrap();
    }
    assert_eq!(store.last_change().await.unwrap(), 0);
    let edit = ObservationEdit {
        category: "vegetation".into(),
        severity: 3,
        description: Some("Buskar skymmer sikten".into()),
        by: "token:ann".into(),
    };
    let edited = store
        .edit_observation(finding(2, walk).id, edit.clone())
        .await
        .unwrap();
    let expected = Observation {
        category: edit.category,
        severity: 3,
        description: edit.description,
        ..finding(2, walk)
    };
    assert_eq!(edited, expected);
    assert_eq!(
        store.get(expected.id).await.unwrap(),
        Some(expected.clone())
    );
    let after_edit = store.last_change().await.unwrap();
    assert!(after_edit > 0);

    // Removing the newest: its number is not given to the next insert, so
    // a reader whose cursor passed it still sees what comes after.
    let newest = finding(3, walk).id;
    let cursor = store
        .index_entries_since(0, 100)
        .await
        .unwrap()
        .last()
        .unwrap()
        .seq;
    assert_eq!(
        store
            .remove_observation(newest, "token:ann", 1)
            .await
            .unwrap(),
        Removal::Removed
    );
    assert!(store.last_change().await.unwrap() > after_edit);
    assert_eq!(store.get(newest).await.unwrap(), None);
    assert!(matches!(
        store.remove_observation(newest, "token:ann", 1).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.count().await.unwrap(), 2);
    store.insert(observation(4)).await.unwrap();
    let next = store.index_entries_since(cursor, 100).await.unwrap();
    assert_eq!(
        next.iter().map(|e| e.id).collect::<Vec<_>>(),
        [observation(4).id]
    );
    let all = store.index_entries_since(0, 100).await.unwrap();
    assert_eq!(all.len(), 3, "the removed one is not read back");
    let exported = store.observations_since(0, 100).await.unwrap();
    assert!(exported.iter().all(|(_, o)| o.id != newest));
    // The same id may be submitted again, as a new observation.
    assert!(matches!(
        store.insert(finding(3, walk)).await.unwrap(),
        Inserted::Created { .. }
    ));
    assert!(matches!(
        store
            .edit_observation(
                Uuid::from_u128(777),
                ObservationEdit {
                    category: "x".into(),
                    severity: 1,
                    description: None,
                    by: "token:ann".into(),
                }
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    // Ann has removed as many as she may; Bo has not.
    let second = finding(1, walk).id;
    assert_eq!(
        store
            .remove_observation(second, "token:ann", 1)
            .await
            .unwrap(),
        Removal::LimitReached
    );
    assert!(store.get(second).await.unwrap().is_some());
    assert_eq!(
        store
            .remove_observation(second, "token:bo", 1)
            .await
            .unwrap(),
        Removal::Removed
    );
    assert_eq!(store.count().await.unwrap(), 3);
}

/// Runs every case against every store: `contract_tests!(store => fixture, ...; [cases])`.
macro_rules! contract_tests {
    ($($store:ident => $fixture:expr),+ ; $cases:tt) => {
        $(contract_module!($store, $fixture, $cases);)+
    };
}

macro_rules! contract_module {
    ($store:ident, $fixture:expr, [$($case:ident),* $(,)?]) => {
        mod $store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(fixture) = $fixture else { return };
                    super::$case(&fixture).await;
                }
            )*
        }
    };
}

contract_tests!(
    embedded_store => super::embedded(),
    postgres_store => super::postgres();
    [
        round_trips_every_field,
        insert_is_idempotent_by_id,
        sequence_numbers_follow_commit_order,
        concurrent_inserts_all_land_once,
        batches_are_all_or_nothing_unless_partial,
        large_batches_report_each_record,
        streamed_imports_commit_only_when_finished,
        streamed_ids_in_any_order_keep_the_first,
        get_many_keeps_the_order_asked,
        findings_are_followed_up,
        observations_are_edited_and_removed_for_good,
        walks_are_created_joined_and_closed,
        areas_are_stored_and_replaced,
        credentials_are_found_by_hash_and_name,
        tokens_are_listed_and_revoked,
        the_audit_log_grows_newest_first,
        actions_are_stored_replaced_and_removed,
        indicator_values_are_entered_replaced_and_removed,
        analyses_are_kept_unchanged,
        acknowledged_writes_survive_reopening,
    ]
);
