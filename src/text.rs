//! Small wording helpers for text a person reads: counts with the right plural.

/// `1 row rejected`, `2 rows rejected`, `0 rows rejected`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn plurals() {
        assert_eq!(super::count(1, "duplicate", "duplicates"), "1 duplicate");
        assert_eq!(super::count(0, "duplicate", "duplicates"), "0 duplicates");
        assert_eq!(super::count(3, "row", "rows"), "3 rows");
    }
}
