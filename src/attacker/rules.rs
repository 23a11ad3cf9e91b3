//! What the protector and the auditor must agree on, written once: the primary rule, the need of
//! a withheld number, how the integers of an interval are counted, and what a published measure
//! counts. How an axis's codes form the tree its margins follow is [`AxisTree::from_ranks`].
//!
//! [`AxisTree::from_ranks`]: super::system::AxisTree::from_ranks

/// What a published measure counts, read from its name in the `measure` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureKind {
    /// `persons`: distinct persons (人).
    Persons,
    /// `person_times`: records (人次).
    PersonTimes,
    /// `distinct_<field>`: distinct values of a field, e.g. sessions.
    Distinct,
    /// `sum_<field>`: the sum of an integer field.
    Sum,
}

impl MeasureKind {
    /// The kind of the measure named `name`, if it is one a release can hold.
    #[must_use]
    pub fn of(name: &str) -> Option<Self> {
        match name {
            "persons" => Some(Self::Persons),
            "person_times" => Some(Self::PersonTimes),
            _ if name.starts_with("distinct_") => Some(Self::Distinct),
            _ if name.starts_with("sum_") => Some(Self::Sum),
            _ => None,
        }
    }

    /// Never above the person-times of its cell: each person, and each distinct value, comes
    /// with at least one record.
    #[must_use]
    pub fn within_person_times(self) -> bool {
        matches!(self, Self::Persons | Self::Distinct)
    }
}

/// Whether a measure is a count, to which the protection level applies; sums only have to stay
/// not exactly recoverable.
#[must_use]
pub fn is_count(measure: &str) -> bool {
    MeasureKind::of(measure) != Some(MeasureKind::Sum)
}

/// The primary rule: a cell of `persons` distinct persons is sensitive when `0 < persons < k`,
/// and when it is empty if empty cells are declared sensitive.
#[must_use]
pub fn is_primary(persons: i64, k: i64, zeros_sensitive: bool) -> bool {
    (persons > 0 && persons < k) || (persons == 0 && zeros_sensitive)
}

/// Integers the interval of a withheld number of `measure` must hold beyond its lowest: the
/// protection level for a count of a primary cell, else one (not exactly recoverable; sums only
/// ever need that).
#[must_use]
pub fn need(primary: bool, measure: &str, level: i64) -> i64 {
    if primary && is_count(measure) {
        level
    } else {
        1
    }
}

/// `floor(upper) − ceil(lower)`, saturating: `i64::MAX` when unbounded (upper +∞ or lower −∞),
/// and `i64::MIN` for an interval that proves nothing (a bound of NaN, an upper bound of −∞ or a
/// lower bound of +∞: an LP that failed), so that it can never pass a need.
#[must_use]
pub fn int_width(lower: f64, upper: f64) -> i64 {
    if lower.is_nan() || upper.is_nan() || upper == f64::NEG_INFINITY || lower == f64::INFINITY {
        return i64::MIN;
    }
    if upper == f64::INFINITY || lower == f64::NEG_INFINITY {
        return i64::MAX;
    }
    #[allow(clippy::cast_possible_truncation, reason = "bounded by counts")]
    let w = (upper + 1e-7).floor() as i64 - (lower - 1e-7).ceil() as i64;
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_cell_is_primary_and_an_empty_one_only_when_declared_sensitive() {
        assert!(is_primary(1, 3, false));
        assert!(is_primary(2, 3, false));
        assert!(!is_primary(3, 3, false));
        assert!(!is_primary(0, 3, false));
        assert!(is_primary(0, 3, true));
    }

    #[test]
    fn counts_of_primary_cells_need_the_level_and_everything_else_one() {
        assert_eq!(need(true, "persons", 3), 3);
        assert_eq!(need(true, "person_times", 3), 3);
        assert_eq!(need(true, "sum_hours", 3), 1);
        assert_eq!(need(false, "persons", 3), 1);
    }

    #[test]
    fn widths_count_integers_and_an_interval_that_proves_nothing_passes_no_need() {
        assert_eq!(int_width(0.0, 2.0), 2);
        assert_eq!(int_width(0.5, 2.5), 1);
        assert_eq!(int_width(1.999_999_99, 2.000_000_01), 0);
        assert_eq!(int_width(0.0, f64::INFINITY), i64::MAX);
        assert_eq!(int_width(0.0, f64::NEG_INFINITY), i64::MIN);
        assert_eq!(int_width(f64::NAN, 3.0), i64::MIN);
        assert_eq!(int_width(f64::INFINITY, 3.0), i64::MIN);
    }

    #[test]
    fn a_measure_name_tells_its_kind_and_only_sums_are_not_counts() {
        assert_eq!(MeasureKind::of("persons"), Some(MeasureKind::Persons));
        assert_eq!(
            MeasureKind::of("person_times"),
            Some(MeasureKind::PersonTimes)
        );
        assert_eq!(
            MeasureKind::of("distinct_session"),
            Some(MeasureKind::Distinct)
        );
        assert_eq!(MeasureKind::of("sum_hours"), Some(MeasureKind::Sum));
        assert_eq!(MeasureKind::of("total"), None);
        assert!(MeasureKind::Distinct.within_person_times());
        assert!(!MeasureKind::Sum.within_person_times());
        assert!(is_count("distinct_session") && !is_count("sum_hours"));
    }
}
