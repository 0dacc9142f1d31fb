"""Activities: every step that touches the store or the world, each idempotent under retry."""
