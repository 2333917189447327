"""MT0101: rules no request can reach (filled in when the tracer is available)."""
