"""hometeaching — send-teaching-home (送教上门): plans, the visit handbook, the rules and the routes.

- `hometeaching.rules` — the violations (a short week, fewer than two teachers, no male teacher, the
  wrong school, a disabled school-age child neither in school nor on a plan), each with the child,
  the week and who answers for it; the weekly rule itself is `gridmap.visits` (the monthly report
  counts compliance with it too);
- `hometeaching.routes` — a school's week: the visits due become trips (one per teaching pair and
  half-day), ordered by `routing.vrp.solve_vrptw` on a travel-time matrix from `routing.engine`;
- `hometeaching.layer` — the route layer (legs along the roads, numbered stops, arrows, times);
- `hometeaching.printing` — the A4 handbook per child and term, and the A4 route sheet per trip;
- `hometeaching.views` — the pages (scoped by gridmap.access, every read audited);
- `manage.py plan_routes --school CODE --week YYYY-Www [--out FILE.pdf]`.
"""
