"""identities: filled in by the work on issue 3."""

__all__: list[str] = []
