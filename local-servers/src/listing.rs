//! The orders of the Hub listing and its keyset cursors.
//!
//! The Hub pages `GET /api/datasets` with a cursor that is base64 of a MongoDB filter selecting
//! what follows the page's last item in the sort order, e.g.
//! `{"$or":[{"trendingScore":7,"_id":{"$gt":"65..."}},{"trendingScore":{"$lt":7}}]}` (as a
//! `curl -I` of the Hub API quoted in a huggingface_hub issue shows). The next page is whatever
//! follows that item *when it is asked for*, so a dataset whose sort value changes meanwhile can
//! jump ahead of the cursor or fall behind it.

use std::cmp::Ordering;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value, json};

use crate::data::{self, GENERATED_DOWNLOADS, GENERATED_LIKES, TRENDING_SCORES};

/// Standard base64; decoding takes it with or without padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// How generated datasets' values of a numeric field are computed, and a bound above all.
type GeneratedNumber = (fn(usize) -> u64, u64);

/// A field the listing sorts by: descending, ties broken by `_id` ascending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SortField {
    TrendingScore,
    CreatedAt,
    LastModified,
    Downloads,
    Likes,
}

impl SortField {
    pub(crate) const ALL: [SortField; 5] = [
        SortField::TrendingScore,
        SortField::CreatedAt,
        SortField::LastModified,
        SortField::Downloads,
        SortField::Likes,
    ];

    /// The field called `name` in a `sort` parameter.
    pub(crate) fn parse(name: &str) -> Option<SortField> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The name of the field in the datasets and in `sort`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SortField::TrendingScore => "trendingScore",
            SortField::CreatedAt => "createdAt",
            SortField::LastModified => "lastModified",
            SortField::Downloads => "downloads",
            SortField::Likes => "likes",
        }
    }

    /// A distinct index per field, for per-field tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The numeric value of generated datasets and a bound above all of them, for the numeric
    /// fields.
    fn generated_number(self) -> Option<GeneratedNumber> {
        match self {
            SortField::TrendingScore => Some((data::generated_trending, TRENDING_SCORES)),
            SortField::Downloads => Some((data::generated_downloads, GENERATED_DOWNLOADS)),
            SortField::Likes => Some((data::generated_likes, GENERATED_LIKES)),
            SortField::CreatedAt | SortField::LastModified => None,
        }
    }

    /// The sort key of generated dataset `i` (unless changed).
    pub(crate) fn generated_key(self, i: usize) -> Key {
        let value = match (self, self.generated_number()) {
            (_, Some((number, _))) => SortValue::Number(number(i) as f64),
            (SortField::CreatedAt, None) => SortValue::Text(data::generated_created_at(i)),
            (_, None) => SortValue::Text(data::generated_last_modified(i)),
        };
        Key {
            value,
            id: data::generated_internal_id(i),
            seq: i as u64,
        }
    }

    /// The first `count` generated datasets in this order. Their `_id`s grow with their index,
    /// so ties go by index.
    pub(crate) fn generated_order(self, count: usize) -> Vec<u32> {
        let count = u32::try_from(count).expect("at most u32::MAX generated datasets");
        let Some((number, bound)) = self.generated_number() else {
            // Both dates decrease strictly with the index.
            return (0..count).collect();
        };
        // A counting sort: linear, and stable, so each value's datasets stay in index order.
        let bucket = |i: u32| (bound - 1 - number(i as usize)) as usize;
        let mut starts = vec![0_usize; bound as usize + 1];
        for i in 0..count {
            starts[bucket(i) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        let mut order = vec![0; count as usize];
        for i in 0..count {
            let slot = &mut starts[bucket(i)];
            order[*slot] = i;
            *slot += 1;
        }
        order
    }
}

/// A dataset's value of the sort field, as the listing compares it: a missing value (or one of
/// another JSON type) below every number, numbers below text.
#[derive(Clone, Debug)]
pub(crate) enum SortValue {
    Missing,
    Number(f64),
    Text(String),
}

impl SortValue {
    pub(crate) fn of(value: Option<&Value>) -> SortValue {
        match value {
            // Adding 0.0 turns -0.0 into 0.0, which the cursor writes as 0.
            Some(Value::Number(n)) => n
                .as_f64()
                .map_or(SortValue::Missing, |n| SortValue::Number(n + 0.0)),
            Some(Value::String(text)) => SortValue::Text(text.clone()),
            _ => SortValue::Missing,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            SortValue::Missing => Value::Null,
            // Whole numbers as integers, as the Hub writes its counts.
            SortValue::Number(n) if n.fract() == 0.0 && n.abs() < 2_f64.powi(53) => {
                json!(*n as i64)
            }
            SortValue::Number(n) => json!(n),
            SortValue::Text(text) => json!(text),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortValue::Missing => 0,
            SortValue::Number(_) => 1,
            SortValue::Text(_) => 2,
        }
    }
}

impl Ord for SortValue {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortValue::Number(a), SortValue::Number(b)) => a.total_cmp(b),
            (SortValue::Text(a), SortValue::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for SortValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortValue {}

/// Where a dataset is in a listing order; smaller keys are listed first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) value: SortValue,
    /// The `_id`, or a synthetic one for entries without.
    pub(crate) id: String,
    /// Orders entries that share value and `_id` (only ever raw entries), so none is skipped.
    pub(crate) seq: u64,
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.value.cmp(&self.value))
            .then_with(|| self.id.cmp(&other.id))
            .then(self.seq.cmp(&other.seq))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The cursor for what follows `last` in `field` order: base64 of the Hub's filter, plus, in a
/// `$comment` (which a MongoDB filter allows), the `epoch` it was issued in and `last`'s `seq`.
pub(crate) fn encode_cursor(field: SortField, last: &Key, epoch: u64) -> String {
    let (name, id) = (json!(field.name()), json!(last.id));
    let value = last.value.to_json();
    let seq = last.seq;
    // Written by hand to keep the Hub's key order (a `serde_json` map sorts its keys).
    let filter = format!(
        r#"{{"$or":[{{{name}:{value},"_id":{{"$gt":{id}}}}},{{{name}:{{"$lt":{value}}}}}],"$comment":{{"epoch":{epoch},"seq":{seq}}}}}"#
    );
    BASE64.encode(filter)
}

/// The key a cursor for `field` order selects what follows of, if it is one (of the current
/// `epoch`, when it says). A cursor of the documented shape without a `$comment` is taken too: it
/// selects what follows every entry with its value and `_id`.
pub(crate) fn decode_cursor(cursor: &str, field: SortField, epoch: u64) -> Option<Key> {
    let filter: Value = serde_json::from_slice(&BASE64.decode(cursor).ok()?).ok()?;
    let filter = filter.as_object()?;
    let seq = match filter.get("$comment") {
        None => u64::MAX,
        Some(comment) => {
            (comment.get("epoch")?.as_u64()? == epoch).then_some(())?;
            comment.get("seq")?.as_u64()?
        }
    };
    let extra = filter.keys().any(|k| k != "$or" && k != "$comment");
    let [tie, below] = filter.get("$or")?.as_array()?.as_slice() else {
        return None;
    };
    let (tie, below) = (tie.as_object()?, below.as_object()?);
    let name = field.name();
    let value = tie.get(name)?;
    let id = only(tie.get("_id")?.as_object()?, "$gt")?.as_str()?;
    let wellformed = !extra
        && tie.len() == 2
        && below.len() == 1
        && only(below.get(name)?.as_object()?, "$lt")? == value
        && matches!(value, Value::Null | Value::Number(_) | Value::String(_));
    wellformed.then(|| Key {
        value: SortValue::of(Some(value)),
        id: id.to_owned(),
        seq,
    })
}

/// The value of `object`'s only key, if that is `key`.
fn only<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    (object.len() == 1).then(|| object.get(key))?
}

/// An entry of a listing page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Generated dataset `i`, rendered from its index.
    Generated(usize),
    /// A dataset held as JSON, by its place in storage.
    Held(usize),
}

/// The generated datasets (`generated`: indices in one order) and the held ones (`held`: keys
/// in the same order, with their places) merged, from after `after` on, skipping the entries
/// that are not `listed`.
pub(crate) struct Walk<'a, G, H> {
    field: SortField,
    generated: &'a [u32],
    held: &'a [(Key, usize)],
    g: usize,
    h: usize,
    generated_listed: G,
    held_listed: H,
}

impl<'a, G: Fn(usize) -> bool, H: Fn(usize) -> bool> Walk<'a, G, H> {
    /// Seeks with binary searches: no entry before `after` is visited.
    pub(crate) fn new(
        field: SortField,
        generated: &'a [u32],
        held: &'a [(Key, usize)],
        after: Option<&Key>,
        generated_listed: G,
        held_listed: H,
    ) -> Self {
        let (g, h) = match after {
            None => (0, 0),
            Some(after) => (
                generated.partition_point(|&i| field.generated_key(i as usize) <= *after),
                held.partition_point(|(key, _)| key <= after),
            ),
        };
        Walk {
            field,
            generated,
            held,
            g,
            h,
            generated_listed,
            held_listed,
        }
    }
}

impl<G: Fn(usize) -> bool, H: Fn(usize) -> bool> Iterator for Walk<'_, G, H> {
    type Item = (Entry, Key);

    fn next(&mut self) -> Option<(Entry, Key)> {
        while self
            .generated
            .get(self.g)
            .is_some_and(|&i| !(self.generated_listed)(i as usize))
        {
            self.g += 1;
        }
        while self
            .held
            .get(self.h)
            .is_some_and(|&(_, j)| !(self.held_listed)(j))
        {
            self.h += 1;
        }
        let generated = self.generated.get(self.g).map(|&i| i as usize);
        let generated = generated.map(|i| (i, self.field.generated_key(i)));
        let held = self.held.get(self.h);
        let take_generated = match (&generated, held) {
            (None, None) => return None,
            (Some((_, key)), Some((held, _))) => key < held,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if take_generated {
            let (i, key) = generated?;
            self.g += 1;
            Some((Entry::Generated(i), key))
        } else {
            let (key, j) = held?;
            self.h += 1;
            Some((Entry::Held(*j), key.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_orders_sort_by_value_then_index() {
        for field in SortField::ALL {
            let order = field.generated_order(3000);
            let mut sorted: Vec<u32> = (0..3000).collect();
            sorted.sort_by_key(|&i| field.generated_key(i as usize));
            assert_eq!(order, sorted, "{field:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_what_they_do_not_select() {
        let key = Key {
            value: SortValue::Number(7.0),
            id: "65ab".to_owned(),
            seq: 3,
        };
        let cursor = encode_cursor(SortField::Likes, &key, 2);
        let filter = String::from_utf8(BASE64.decode(&cursor).unwrap()).unwrap();
        assert_eq!(
            filter,
            r#"{"$or":[{"likes":7,"_id":{"$gt":"65ab"}},{"likes":{"$lt":7}}],"$comment":{"epoch":2,"seq":3}}"#
        );
        assert_eq!(decode_cursor(&cursor, SortField::Likes, 2), Some(key));
        assert_eq!(decode_cursor(&cursor, SortField::Likes, 3), None);
        assert_eq!(decode_cursor(&cursor, SortField::Downloads, 2), None);
        assert_eq!(
            decode_cursor(cursor.trim_end_matches('='), SortField::Likes, 2).map(|k| k.seq),
            Some(3)
        );

        let documented = r#"{"$or":[{"createdAt":"2024-01-01T00:00:00.000Z","_id":{"$gt":"x"}},{"createdAt":{"$lt":"2024-01-01T00:00:00.000Z"}}]}"#;
        let key = decode_cursor(&BASE64.encode(documented), SortField::CreatedAt, 9).unwrap();
        assert_eq!(key.seq, u64::MAX);
        assert_eq!(
            key.value,
            SortValue::Text("2024-01-01T00:00:00.000Z".to_owned())
        );

        let texts = [
            "not base64!",
            &BASE64.encode("not json"),
            &BASE64.encode("[]"),
            &BASE64.encode(r#"{"$or":[{"likes":1,"_id":{"$gt":"x"}},{"likes":{"$lt":2}}]}"#),
            &BASE64.encode(r#"{"$or":[{"likes":1,"_id":{"$gt":"x"}}]}"#),
            &BASE64.encode(r#"{"$or":[{"likes":[1],"_id":{"$gt":"x"}},{"likes":{"$lt":[1]}}]}"#),
            &BASE64.encode(r#"{"$or":[{"likes":1,"_id":{"$gt":7}},{"likes":{"$lt":1}}]}"#),
            &BASE64.encode(r#"{"$or":[{"likes":1,"_id":{"$gt":"x"}},{"likes":{"$lt":1}}],"a":1}"#),
        ];
        for text in texts {
            assert_eq!(decode_cursor(text, SortField::Likes, 0), None, "{text}");
        }
    }

    #[test]
    fn missing_values_sort_last_and_numbers_before_text() {
        let key = |value: SortValue| Key {
            value,
            id: "a".to_owned(),
            seq: 0,
        };
        let mut keys = [
            key(SortValue::Missing),
            key(SortValue::Number(1.0)),
            key(SortValue::Text("a".to_owned())),
            key(SortValue::Number(2.0)),
        ];
        keys.sort();
        let values: Vec<Value> = keys.iter().map(|k| k.value.to_json()).collect();
        assert_eq!(values, [json!("a"), json!(2), json!(1), Value::Null]);
    }
}
