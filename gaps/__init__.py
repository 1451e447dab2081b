"""gaps — coverage gaps (覆盖缺口): where the school network leaves children uncovered. Every child's
way to school over the roads (routing/), judged against the norm of their grade (gaps.norms); the
coverage-gap map layer (layers/coverage.py), its endpoint, the per-school and per-township tables,
and the `coverage` export command. (Not named `coverage`: that is coverage.py's import name.)"""
