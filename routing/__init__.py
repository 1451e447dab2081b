"""routing — travel time over the roads: one engine for every feature that asks "how long is the way?".

The network is the routable graph the road importer builds (importers/roads.py: gridmap_roadedge,
gridmap_roadvertex; the demo county and `generate_county` build it at load time). It is held in
memory as a scipy.sparse graph, per process, and reloaded when the network version changes
(triggers bump it on any change to the roads: routing/models.py).

Use it like this (points are (n, 2) arrays of longitude, latitude; times in seconds, distances in
metres; modes "walk", "cycle", "bus" with the speeds of routing/modes.py):

    from routing import engine

    homes = engine.snap(home_lonlat, "walk")          # once; Snapped.edge == -1: off the network
    schools = engine.snap(school_lonlat, "walk")
    r = engine.nearest_facility(homes, schools, "walk")
    r.time_s, r.distance_m, r.facility                # per home; facility indexes the schools
    r.off_network, r.unreachable                      # masks: beyond the access cap / no road there

    engine.times_to(homes, schools.take([3]), "walk")           # many homes → one school
    engine.times_to_each(homes, schools, own_school_index)      # each home → its own school (-1: none)
    engine.od_matrix(points, "bus")                   # (n, n) seconds among a few hundred points
    engine.trip_path(home, school, "walk")            # TripLine: seconds, metres, lon/lat line, .geojson()

Modules:
- `routing.modes` — modes, speeds per road class, the access cap; every default cited;
- `routing.sql` — the edges as SQL (`edges_sql(mode)`): the engine and pgRouting read the same text;
- `routing.graph` — the core: plain functions over numpy arrays (snap, nearest_facility,
  times_to_each, times_to, od_matrix, trip_path), free of Django;
- `routing.network` — loading and caching the graph (`graph(mode)`, `load_network()`, `version()`);
- `routing.engine` — the above in longitude/latitude, for the features;
- `routing.pgr` — the same queries through pgRouting (pgr_dijkstra, pgr_drivingDistance with
  equicost), the independent check the tests and the benchmark compare against.

A trip is: walk in a straight line from the point to the nearest point of a road the mode may use
(farther than GRIDMAP_ACCESS_MAX_M: off the network, reported, never snapped), travel the roads, walk
from the road to the destination. Thresholds on these times are inclusive (≤) wherever they are
applied (gaps.norms).
"""
