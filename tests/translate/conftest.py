from tracer_kit import trace  # noqa: F401  (the `trace` fixture)
