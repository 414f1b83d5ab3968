"""The parcours collector: receives tag events, validates, enriches and stores them in ClickHouse."""
