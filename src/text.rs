//! Small wording helpers for text a person reads: counts with the right plural, and
//! excerpts of long inputs.

/// `1 row rejected`, `2 rows rejected`, `14,562 messages`: counts read as the PDF's tables
/// print them, with thousands separated.
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", int(n as u64))
    }
}

/// `14562` as `14,562`.
pub fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Items as a sentence lists them: `a`, `a and b`, `a, b and c`.
pub fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => format!(
            "{} and {}",
            rest.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// At most `max` characters of `s`, for quoting an input in a message: a longer value ends
/// with "… (N more characters)", so a hostile megabyte never fills a log or a reason.
pub fn excerpt(s: &str, max: usize) -> String {
    let total = s.chars().count();
    if total <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max).collect();
    format!(
        "{head}… ({})",
        count(total - max, "more character", "more characters")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn plurals() {
        assert_eq!(super::count(1, "duplicate", "duplicates"), "1 duplicate");
        assert_eq!(super::count(0, "duplicate", "duplicates"), "0 duplicates");
        assert_eq!(super::count(3, "row", "rows"), "3 rows");
        assert_eq!(super::count(14_562, "row", "rows"), "14,562 rows");
        assert_eq!(super::int(0), "0");
        assert_eq!(super::int(999), "999");
        assert_eq!(super::int(1_000), "1,000");
        assert_eq!(super::int(1_234_567), "1,234,567");
    }

    #[test]
    fn excerpts_say_what_they_left_out() {
        assert_eq!(super::excerpt("short", 10), "short");
        assert_eq!(super::excerpt("abcdef", 4), "abcd… (2 more characters)");
        assert_eq!(super::excerpt("abcde", 4), "abcd… (1 more character)");
    }
}
