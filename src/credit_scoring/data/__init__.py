"""Raw tables in, validated typed tables out: schema, reading, rules, synthetic data."""
