//! Walking the SPF include/redirect tree over a stored snapshot. OWNED BY the records helper.
