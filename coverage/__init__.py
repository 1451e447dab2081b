"""coverage — where the school network leaves children uncovered: every child's way to school over
the roads (routing/), judged against the norm of their grade (coverage.norms); the coverage-gap map
layer (layers/coverage.py), its endpoint, the per-school and per-township tables, and the
`coverage` export command."""
