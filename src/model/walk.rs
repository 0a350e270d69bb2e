//! Safety walks (trygghetsvandringar): a group walks an area together and
//! records findings. Participants join with a short code.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// Whether the walk takes place in daylight or after dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeOfDay {
    Day,
    Night,
}

impl TimeOfDay {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeOfDay::Day => "day",
            TimeOfDay::Night => "night",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(TimeOfDay::Day),
            "night" => Some(TimeOfDay::Night),
            _ => None,
        }
    }
}

/// A safety walk.
#[derive(Debug, Clone, PartialEq)]
pub struct Walk {
    pub id: Uuid,
    pub name: String,
    pub area_id: Option<String>,
    pub date: Date,
    pub time_of_day: TimeOfDay,
    /// The planned route as WGS 84 `[lon, lat]` positions.
    pub route: Vec<[f64; 2]>,
    /// Short code participants type to join.
    pub join_code: String,
    pub created_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
}

impl Walk {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// Letters for join codes: no 0/O or 1/I/L, easy to read aloud and type on a
/// phone in the dark.
const JOIN_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Six characters from 31 letters: about 8.9e8 codes. Guessing is throttled.
pub const JOIN_CODE_LEN: usize = 6;

/// A fresh random join code.
pub fn new_join_code() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..JOIN_CODE_LEN)
        .map(|_| char::from(JOIN_CODE_ALPHABET[rng.random_range(0..JOIN_CODE_ALPHABET.len())]))
        .collect()
}

/// Normalises what a participant typed: upper case, spaces and dashes dropped.
pub fn normalise_join_code(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_codes_are_readable() {
        let c = new_join_code();
        assert_eq!(c.len(), JOIN_CODE_LEN);
        assert!(c.bytes().all(|b| JOIN_CODE_ALPHABET.contains(&b)));
        assert_eq!(normalise_join_code(" ab-c 12x "), "ABC12X");
    }
}
