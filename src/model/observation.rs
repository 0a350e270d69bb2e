//! Observations: the one record Trygg is built around.
//!
//! An observation is a point in WGS 84 (EPSG:4326, lon/lat degrees) with a
//! kind, a category from the [`Taxonomy`], a severity and a time. Parsing
//! formats into [`NewObservation`] is the job of `ingest`; turning a
//! [`NewObservation`] into an [`Observation`] is [`NewObservation::validate`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Region, Taxonomy};

/// Longest free-text description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Longest organisation name accepted, in characters.
pub const MAX_ORGANISATION_CHARS: usize = 200;

/// The three kinds of observation the law's mapping rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A report of perceived insecurity (upplevd otrygghet, medborgardialog).
    Insecurity,
    /// A safety-walk finding (trygghetsvandring).
    WalkFinding,
    /// A place-based cooperation observation (platssamverkan, EST).
    PlaceObservation,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Insecurity, Kind::WalkFinding, Kind::PlaceObservation];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Insecurity => "insecurity",
            Kind::WalkFinding => "walk_finding",
            Kind::PlaceObservation => "place_observation",
        }
    }

    /// Dense index 0..3, used for per-kind counters.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(i)).copied()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "kind",
                    format!(
                        "unknown kind {s:?}; expected insecurity, walk_finding or place_observation"
                    ),
                )
            })
    }
}

/// Where a walk finding is in its follow-up. Findings are actionable: each
/// goes to someone responsible and is followed up until fixed; a resolved
/// finding can be reopened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Open,
    Assigned,
    Resolved,
}

impl FindingStatus {
    pub const ALL: [FindingStatus; 3] = [
        FindingStatus::Open,
        FindingStatus::Assigned,
        FindingStatus::Resolved,
    ];

    /// The inverse of `status as u8`.
    pub fn from_index(i: u8) -> Option<FindingStatus> {
        FindingStatus::ALL.get(usize::from(i)).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Assigned => "assigned",
            FindingStatus::Resolved => "resolved",
        }
    }
}

impl FromStr for FindingStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(FindingStatus::Open),
            "assigned" => Ok(FindingStatus::Assigned),
            "resolved" => Ok(FindingStatus::Resolved),
            _ => Err(ValidationError::new(
                "status",
                format!("unknown status {s:?}; expected open, assigned or resolved"),
            )),
        }
    }
}

/// The follow-up state of a walk finding: its status, who set it and when,
/// and who it is assigned to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingState {
    pub status: FindingStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub changed_by: Option<String>,
    pub assignee: Option<String>,
}

/// A stored observation. Coordinates are WGS 84 degrees; times are UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub id: Uuid,
    pub kind: Kind,
    pub lon: f64,
    pub lat: f64,
    /// Horizontal accuracy of the position in metres, when the client knows it.
    pub accuracy_m: Option<f64>,
    pub observed_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub category: String,
    /// 1 (minor) to 3 (serious).
    pub severity: u8,
    pub description: Option<String>,
    /// The partner organisation, for place observations.
    pub organisation: Option<String>,
    /// The safety walk, for walk findings.
    pub walk_id: Option<Uuid>,
    /// Follow-up state, for walk findings.
    pub finding: Option<FindingState>,
    /// Who submitted it, for a walk participant's finding: the token's
    /// actor, so that the participant may change it while the walk is open.
    /// Never shown.
    pub submitted_by: Option<String>,
}

impl Observation {
    /// Whether `other` carries the same submitted content — the test for an
    /// idempotent retry. Server-assigned fields (`received_at`, follow-up
    /// state) are not part of the content.
    pub fn same_content(&self, other: &Observation) -> bool {
        self.id == other.id
            && self.kind == other.kind
            && self.lon.to_bits() == other.lon.to_bits()
            && self.lat.to_bits() == other.lat.to_bits()
            && self.accuracy_m.map(f64::to_bits) == other.accuracy_m.map(f64::to_bits)
            && self.observed_at == other.observed_at
            && self.category == other.category
            && self.severity == other.severity
            && self.description == other.description
            && self.organisation == other.organisation
            && self.walk_id == other.walk_id
    }
}

/// One thing wrong with a submission: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ValidationError {
    /// The property at fault, e.g. `category` or `geometry`.
    pub field: String,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ValidationError {}

/// A submission as parsed from any input format, before validation.
/// Strings are kept raw so that validation can say precisely what is wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewObservation {
    pub id: Option<Uuid>,
    pub kind: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
    pub observed_at: Option<String>,
    pub category: Option<String>,
    pub severity: Option<i64>,
    pub description: Option<String>,
    pub organisation: Option<String>,
    pub walk_id: Option<Uuid>,
}

/// What validation needs to know besides the submission itself.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext<'a> {
    pub taxonomy: &'a Taxonomy,
    pub region: &'a Region,
    pub now: OffsetDateTime,
    /// Ids for the records that come without one.
    pub ids: IdSequence,
}

impl<'a> ValidationContext<'a> {
    /// A context for validating at `now`, with a fresh [`IdSequence`].
    pub fn new(taxonomy: &'a Taxonomy, region: &'a Region, now: OffsetDateTime) -> Self {
        ValidationContext {
            taxonomy,
            region,
            now,
            ids: IdSequence::new(now),
        }
    }
}

/// UUID v7 ids for the records of one input that ascend in input order:
/// in the 74 random bits, a random 73-bit start plus the record's ordinal
/// (RFC 9562, section 6.2, method 2). The store files ids that ascend
/// beyond every stored one by appending them to its id index, which for
/// an import of a million records is far cheaper than sorting them in.
#[derive(Debug, Clone, Copy)]
pub struct IdSequence {
    unix_ms: u64,
    /// Below 2^73: adding any `u64` ordinal leaves it below 2^74.
    start: u128,
}

impl IdSequence {
    /// Random bits of a v7 id: 12 in `rand_a`, 62 in `rand_b`.
    const RAND_B_BITS: u32 = 62;

    pub fn new(now: OffsetDateTime) -> Self {
        let unix_ms = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        IdSequence {
            unix_ms: unix_ms & ((1 << 48) - 1),
            start: rand::random::<u128>() >> (128 - 73),
        }
    }

    /// The id of the record with this ordinal.
    pub fn nth(&self, ordinal: u64) -> Uuid {
        let counter = self.start + u128::from(ordinal);
        let rand_a = counter >> Self::RAND_B_BITS;
        let rand_b = counter & ((1 << Self::RAND_B_BITS) - 1);
        Uuid::from_u128(
            (u128::from(self.unix_ms) << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b,
        )
    }
}

/// Severity used when a submission leaves it out: a resident reporting where
/// they feel unsafe is rarely asked to grade it.
pub const DEFAULT_SEVERITY: u8 = 2;

impl NewObservation {
    /// Checks every field and returns either the observation or every problem
    /// found (not just the first), so a client can fix a form in one go.
    /// Without an id it gets the context's first: one context, one
    /// submission (the records of one input use [`Self::validate_nth`]).
    pub fn validate(self, ctx: ValidationContext<'_>) -> Result<Observation, Vec<ValidationError>> {
        self.validate_nth(ctx, 0)
    }

    /// [`NewObservation::validate`] for the record with this ordinal in its
    /// input: one without an id gets the `ordinal`th of the context's ids.
    #[expect(clippy::too_many_lines, reason = "one check per field, in field order")]
    pub fn validate_nth(
        self,
        ctx: ValidationContext<'_>,
        ordinal: u64,
    ) -> Result<Observation, Vec<ValidationError>> {
        let mut errors = Vec::new();

        let kind = match self.kind.as_deref() {
            None => {
                errors.push(ValidationError::new("kind", "missing"));
                None
            }
            Some(k) => k.parse::<Kind>().map_err(|e| errors.push(e)).ok(),
        };

        if let Err(e) = ctx.region.check(self.lon, self.lat) {
            errors.push(e);
        }
        if let Some(acc) = self.accuracy_m
            && !(acc.is_finite() && (0.0..=100_000.0).contains(&acc))
        {
            errors.push(ValidationError::new(
                "accuracy_m",
                "must be a number of metres between 0 and 100000",
            ));
        }

        let observed_at = match self.observed_at.as_deref() {
            None => {
                errors.push(ValidationError::new("observed_at", "missing"));
                None
            }
            Some(s) => match parse_timestamp(s) {
                Ok(t) if t > ctx.now + time::Duration::minutes(10) => {
                    errors.push(ValidationError::new(
                        "observed_at",
                        format!("{s} is in the future"),
                    ));
                    None
                }
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
        };

        let category = match (self.category, kind) {
            (None, _) => {
                errors.push(ValidationError::new("category", "missing"));
                None
            }
            (Some(c), Some(k)) => kept(&mut errors, check_category(ctx.taxonomy, k, c)),
            (Some(_), None) => None,
        };
        let severity = kept(&mut errors, check_severity(self.severity));
        let description = kept(&mut errors, check_description(self.description)).flatten();
        let organisation = self.organisation.filter(|o| !o.trim().is_empty());
        if let Some(o) = &organisation
            && o.chars().count() > MAX_ORGANISATION_CHARS
        {
            errors.push(ValidationError::new(
                "organisation",
                format!("longer than {MAX_ORGANISATION_CHARS} characters"),
            ));
        }
        match kind {
            Some(Kind::PlaceObservation) if organisation.is_none() => {
                errors.push(ValidationError::new(
                    "organisation",
                    "a place observation needs the partner organisation that made it",
                ));
            }
            Some(Kind::WalkFinding) if self.walk_id.is_none() => {
                errors.push(ValidationError::new(
                    "walk",
                    "a walk finding needs the walk it was made on",
                ));
            }
            _ => {}
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        let (Some(kind), Some(observed_at), Some(category), Some(severity)) =
            (kind, observed_at, category, severity)
        else {
            unreachable!("every missing field pushed an error");
        };
        let finding = (kind == Kind::WalkFinding).then_some(FindingState {
            status: FindingStatus::Open,
            changed_at: ctx.now,
            changed_by: None,
            assignee: None,
        });
        Ok(Observation {
            id: self.id.unwrap_or_else(|| ctx.ids.nth(ordinal)),
            kind,
            lon: self.lon,
            lat: self.lat,
            accuracy_m: self.accuracy_m,
            observed_at,
            received_at: ctx.now,
            category,
            severity,
            description,
            organisation: if kind == Kind::PlaceObservation {
                organisation
            } else {
                None
            },
            walk_id: if kind == Kind::WalkFinding {
                self.walk_id
            } else {
                None
            },
            finding,
            submitted_by: None,
        })
    }
}

/// What a walk participant may change of a finding after submitting it,
/// checked by the rules a submission is: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingChange {
    pub category: Option<String>,
    pub severity: Option<i64>,
    /// Only blanks clear the description.
    pub description: Option<String>,
}

impl FindingChange {
    /// `o`'s category, severity and description with the change made, or
    /// everything wrong with the change.
    pub fn apply(
        self,
        o: &Observation,
        taxonomy: &Taxonomy,
    ) -> Result<(String, u8, Option<String>), Vec<ValidationError>> {
        let mut errors = Vec::new();
        let category = match self.category {
            None => Some(o.category.clone()),
            Some(c) => kept(&mut errors, check_category(taxonomy, o.kind, c)),
        };
        let severity = match self.severity {
            None => Some(o.severity),
            Some(s) => kept(&mut errors, check_severity(Some(s))),
        };
        let description = match self.description {
            None => Some(o.description.clone()),
            Some(d) => kept(&mut errors, check_description(Some(d))),
        };
        match (category, severity, description) {
            (Some(c), Some(s), Some(d)) if errors.is_empty() => Ok((c, s, d)),
            _ => Err(errors),
        }
    }
}

/// The value of a check, its error kept in `errors`.
fn kept<T>(errors: &mut Vec<ValidationError>, checked: Result<T, ValidationError>) -> Option<T> {
    checked.map_err(|e| errors.push(e)).ok()
}

fn check_category(taxonomy: &Taxonomy, kind: Kind, c: String) -> Result<String, ValidationError> {
    if taxonomy.contains(kind, &c) {
        return Ok(c);
    }
    Err(ValidationError::new(
        "category",
        format!(
            "unknown category {c:?} for kind {kind}; known: {}",
            taxonomy.codes(kind).collect::<Vec<_>>().join(", ")
        ),
    ))
}

fn check_severity(s: Option<i64>) -> Result<u8, ValidationError> {
    match s {
        None => Ok(DEFAULT_SEVERITY),
        Some(s @ 1..=3) => Ok(u8::try_from(s).expect("1..=3 fits in u8")),
        Some(s) => Err(ValidationError::new(
            "severity",
            format!("{s} is not 1, 2 or 3"),
        )),
    }
}

/// A description without blanks-only text, at most [`MAX_DESCRIPTION_CHARS`].
fn check_description(d: Option<String>) -> Result<Option<String>, ValidationError> {
    let d = d.filter(|d| !d.trim().is_empty());
    match &d {
        Some(text) if text.chars().count() > MAX_DESCRIPTION_CHARS => Err(ValidationError::new(
            "description",
            format!(
                "{} characters; at most {MAX_DESCRIPTION_CHARS} are allowed",
                text.chars().count()
            ),
        )),
        _ => Ok(d),
    }
}

/// A fresh UUID v7 for `now`.
pub fn new_id(now: OffsetDateTime) -> Uuid {
    IdSequence::new(now).nth(0)
}

/// Namespace of [`anonymous_id`]; fixed, since a retry must map to the same id.
const ANONYMOUS_IDS: Uuid = Uuid::from_u128(0x7171_e605_2a7c_483a_93ed_38e6_381e_2a64);

/// The id an anonymous submission is stored under when its client chose
/// `client_id`: a UUID v8 of the SHA-256 of a fixed namespace and
/// `client_id`. A retry gets the same id, so it still deduplicates. An
/// anonymous caller cannot address a record that another caller's id
/// named: hitting one would take a SHA-256 preimage, so a `409` can no
/// longer tell that an id exists.
pub fn anonymous_id(client_id: Uuid) -> Uuid {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(ANONYMOUS_IDS.as_bytes());
    hash.update(client_id.as_bytes());
    let digest: [u8; 32] = hash.finalize().into();
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Parses an RFC 3339 timestamp (`2026-03-01T21:30:00+01:00`) into UTC.
pub fn parse_timestamp(s: &str) -> Result<OffsetDateTime, ValidationError> {
    OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|e| {
            ValidationError::new(
                "observed_at",
                format!(
                    "{s:?} is not an RFC 3339 timestamp such as 2026-03-01T21:30:00+01:00 ({e})"
                ),
            )
        })
}

/// Formats a UTC time as RFC 3339.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("every OffsetDateTime in range formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ctx<'a>(tax: &'a Taxonomy, region: &'a Region) -> ValidationContext<'a> {
        ValidationContext::new(tax, region, datetime!(2026-11-01 12:00 UTC))
    }

    fn report() -> NewObservation {
        NewObservation {
            kind: Some("insecurity".into()),
            lon: 17.626,
            lat: 59.196,
            observed_at: Some("2026-10-31T22:15:00+01:00".into()),
            category: Some("dark_area".into()),
            ..NewObservation::default()
        }
    }

    #[test]
    fn valid_report_gets_defaults_and_utc_time() {
        let tax = Taxonomy::builtin();
        let region = Region::sodertalje();
        let obs = report().validate(ctx(&tax, &region)).unwrap();
        assert_eq!(obs.kind, Kind::Insecurity);
        assert_eq!(obs.severity, DEFAULT_SEVERITY);
        assert_eq!(obs.observed_at, datetime!(2026-10-31 21:15 UTC));
        assert_eq!(obs.id.get_version_num(), 7);
        assert!(obs.finding.is_none());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let tax = Taxonomy::builtin();
        let region = Region::sodertalje();
        let bad = NewObservation {
            kind: Some("insecurity".into()),
            lon: 59.196,
            lat: 17.626,
            observed_at: Some("yesterday".into()),
            category: Some("no_such_thing".into()),
            severity: Some(7),
            description: Some("x".repeat(MAX_DESCRIPTION_CHARS + 1)),
            ..NewObservation::default()
        };
        let errs = bad.validate(ctx(&tax, &region)).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "geometry",
                "observed_at",
                "category",
                "severity",
                "description"
            ]
        );
        assert!(errs[0].reason.contains("swapped"), "{}", errs[0].reason);
    }

    #[test]
    fn anonymous_ids_are_stable_and_their_own() {
        let client = Uuid::parse_str("0190f7a4-1c2b-7d3e-8f40-0123456789ab").unwrap();
        let id = anonymous_id(client);
        assert_eq!(id, anonymous_id(client), "a retry maps to the same id");
        assert_ne!(id, client);
        assert_eq!(id.get_version_num(), 8);
        assert_ne!(anonymous_id(id), id);
    }

    #[test]
    fn description_limit_counts_characters_not_bytes() {
        let tax = Taxonomy::builtin();
        let region = Region::sodertalje();
        let mut ok = report();
        ok.description = Some("ö".repeat(MAX_DESCRIPTION_CHARS));
        assert!(ok.validate(ctx(&tax, &region)).is_ok());
    }

    #[test]
    fn findings_need_a_walk_and_start_open() {
        let tax = Taxonomy::builtin();
        let region = Region::sodertalje();
        let mut f = report();
        f.kind = Some("walk_finding".into());
        f.category = Some("lighting".into());
        let errs = f.clone().validate(ctx(&tax, &region)).unwrap_err();
        assert_eq!(errs[0].field, "walk");
        f.walk_id = Some(Uuid::now_v7());
        let obs = f.validate(ctx(&tax, &region)).unwrap();
        assert_eq!(obs.finding.unwrap().status, FindingStatus::Open);
    }

    #[test]
    fn future_times_are_rejected() {
        let tax = Taxonomy::builtin();
        let region = Region::sodertalje();
        let mut r = report();
        r.observed_at = Some("2027-01-01T00:00:00Z".into());
        let errs = r.validate(ctx(&tax, &region)).unwrap_err();
        assert_eq!(errs[0].field, "observed_at");
    }

    #[test]
    fn same_content_ignores_server_fields() {
        let tax = Taxonomy::builtin();
        let region = Region::sodertalje();
        let a = report().validate(ctx(&tax, &region)).unwrap();
        let mut b = a.clone();
        b.received_at = datetime!(2026-11-02 00:00 UTC);
        assert!(a.same_content(&b));
        b.severity = 3;
        assert!(!a.same_content(&b));
    }

    #[test]
    fn sequence_ids_are_v7_at_now_and_ascend_in_input_order() {
        let now = datetime!(2026-11-01 12:00:00.123 UTC);
        let ids = IdSequence::new(now);
        let first = ids.nth(0);
        assert_eq!(first.get_version(), Some(uuid::Version::SortRand));
        assert_eq!(first.get_variant(), uuid::Variant::RFC4122);
        let (secs, nanos) = first.get_timestamp().unwrap().to_unix();
        assert_eq!((secs, nanos), (1_793_534_400, 123_000_000));
        // Across the carry from `rand_b` into `rand_a` too.
        let carry = (1_u64 << 62) - u64::try_from(ids.start % (1 << 62)).unwrap();
        for n in [1, 2, 1000, carry - 1, carry, carry + 1, u64::MAX] {
            let (a, b) = (ids.nth(n - 1), ids.nth(n));
            assert!(a < b, "{a} !< {b} at {n}");
            assert_eq!(b.get_version(), Some(uuid::Version::SortRand));
            assert_eq!(b.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(b.get_timestamp(), first.get_timestamp());
        }
        // Two sequences at the same instant start far apart.
        assert_ne!(IdSequence::new(now).nth(0), first);
    }
}
