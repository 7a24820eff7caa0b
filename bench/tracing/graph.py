"""A province-sized synthetic contact graph, loaded into tracing_person and tracing_contact with COPY.

Deterministic for a seed. People live in households of 3-5 in the province's villages and
communes (contiguous ids per area); about 60 % of working-age adults work in workshops of
50-200 (a third of the workshops in the industrial parks, recruiting from the whole
province; the others local), each worker naming a few co-workers; and random contacts at
venues (mostly in the neighbourhood) or on transport (anywhere). Edges are unique on
(person, contact, found_by, setting) and carry no second copy the other way round: the
graph is read both ways.

PostgreSQL only (COPY). Used by bench/tracing/run.py and its smoke test.
"""

import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from places.folding import fold

# fmt: off
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
          "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Xuân", "Thu", "Hoài", "Kim",
          "Bảo", "Gia"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương", "Khánh",
         "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Ngọc", "Phúc", "Phương", "Quân", "Sơn",
         "Tâm", "Thảo", "Thành", "Trang", "Trung", "Tuấn", "Vân", "Vy", "Yến", "Đạt", "Nhung", "Thắng"]
# fmt: on

HOUSEHOLD, WORKPLACE, INDUSTRIAL_PARK, VENUE, TRANSPORT = range(5)
SETTINGS = ["household", "workplace", "industrial_park", "venue", "transport"]
FOUND_BY = ["interview", "interview", "interview", "colocation", "interview"]
WORKPLACE_SHARE = 0.65  # of the edges beyond the households': workshops; the rest venues and transport
WORKER_SHARE = 0.6  # of the working-age adults
PARK_SHARE = 1 / 3  # of the workers: in an industrial park's workshops
LOCAL_VENUE_SHARE = 0.7  # venue contacts among neighbours (ids close by); the rest on transport
NEIGHBOURHOOD = 2000  # ids either side: people of the same or the next villages
EXPOSURE_END = date(2021, 8, 15)
CREATED = datetime(2021, 8, 15, 12, 0, tzinfo=UTC).isoformat()
CHUNK_LINES = 50_000


@dataclass
class Graph:
    """What was generated: persons ids base+1 … base+people, and the edges as packed keys."""

    base: int
    people: int
    person_lines: list[str] = field(default_factory=list, repr=False)
    edges: set[int] = field(default_factory=set, repr=False)
    by_setting: dict[str, int] = field(default_factory=dict)

    @property
    def span(self) -> int:
        return self.base + self.people + 1

    def edge_key(self, a: int, b: int, setting: int, place: int = 0) -> int:
        """(low id, high id, setting, place index) packed in one int: a set of ints is compact."""
        low, high = (a, b) if a < b else (b, a)
        return ((low * self.span + high) * 8 + setting) * 64 + place

    def edge_unpack(self, key: int) -> tuple[int, int, int, int]:
        key, place = divmod(key, 64)
        pair, setting = divmod(key, 8)
        low, high = divmod(pair, self.span)
        return low, high, setting, place


def graph_generate(
    *, people: int, edges: int, area_ids: list[int], park_ids: list[int], base: int = 0, seed: int = 2021
) -> Graph:
    """Persons (as COPY lines) and about ``edges`` unique edges, the same for the same arguments."""
    if not area_ids:
        raise ValueError("the synthetic graph needs areas to put people in")
    rng = random.Random(seed)  # noqa: S311 - a reproducible graph, not a secret
    graph = Graph(base=base, people=people)
    households = households_assign(rng, people)
    homes = homes_assign(rng, people, households, area_ids)
    local_workers, park_workers = persons_lines(rng, graph, homes, households, park_ids)
    workshops = workshops_assign(rng, local_workers, park_workers)
    household_edges_add(graph, households)
    remaining = max(edges - len(graph.edges), 0)
    workplace_edges_add(rng, graph, workshops, int(remaining * WORKPLACE_SHARE))
    venue_edges_add(rng, graph, edges)
    return graph


def households_assign(rng: random.Random, people: int) -> list[tuple[int, int]]:
    """(first index, size) of consecutive households of 3-5."""
    households, start = [], 0
    while start < people:
        size = min(3 + int(rng.random() * 3), people - start)
        households.append((start, size))
        start += size
    return households


def homes_assign(rng, people: int, households, area_ids: list[int]) -> list[int]:
    """Each household's area: areas take contiguous runs of households, sized by random weights."""
    weights = [0.5 + rng.random() for _ in area_ids]
    total = sum(weights)
    bounds, acc = [], 0.0
    for weight in weights:
        acc += weight
        bounds.append(acc / total * people)
    homes, area = [], 0
    for start, _size in households:
        while area < len(area_ids) - 1 and start >= bounds[area]:
            area += 1
        homes.append(area_ids[area])
    return homes


def persons_lines(rng, graph: Graph, homes, households, park_ids: list[int]):
    """COPY lines of the persons; returns the workers: (local ids, {park index: ids})."""
    local_workers, park_workers = [], {}
    folded = {name: fold(name) for name in FAMILY + MIDDLE + GIVEN}
    lines = graph.person_lines
    for (start, size), home in zip(households, homes, strict=True):
        family = FAMILY[int(rng.random() * len(FAMILY))]
        house = 1 + int(rng.random() * 300)
        for index in range(start, start + size):
            person_id = graph.base + index + 1
            middle = MIDDLE[int(rng.random() * len(MIDDLE))]
            given = GIVEN[int(rng.random() * len(GIVEN))]
            year = 1940 + int(rng.random() * 81)
            sex = "female" if rng.random() < 0.5 else "male"
            national_id = f"056{person_id:09d}" if rng.random() < 0.8 else ""
            phone = f"+849{(person_id * 7919 + 1234567) % 100_000_000:08d}"
            workplace = "\\N"
            if 1961 <= year <= 2003 and rng.random() < WORKER_SHARE:
                if park_ids and rng.random() < PARK_SHARE:
                    park = 1 + int(rng.random() * len(park_ids))
                    park_workers.setdefault(park, []).append(person_id)
                    workplace = str(park_ids[park - 1])
                else:
                    local_workers.append(person_id)
            lines.append(
                f"{person_id}\t{national_id}\t{family} {middle} {given}\t"
                f"{folded[family]} {folded[middle]} {folded[given]}\t{year}\t{sex}\t{phone}\t"
                f"Số {house}\t{home}\t{workplace}\t\t{CREATED}\t{CREATED}\n"
            )
    return local_workers, park_workers


def workshops_assign(rng, local_workers: list[int], park_workers: dict[int, list[int]]):
    """Workshops of 50-200 as (member ids, park index or 0): local ones of neighbours
    (consecutive ids), a park's of its workers from anywhere in the province."""
    workshops = []
    groups = [(local_workers, 0)]
    for park, ids in sorted(park_workers.items()):
        rng.shuffle(ids)
        groups.append((ids, park))
    for members, park in groups:
        start = 0
        while start < len(members):
            size = 50 + int(rng.random() * 151)
            workshops.append((members[start : start + size], park))
            start += size
    return workshops


def household_edges_add(graph: Graph, households) -> None:
    """Everyone in a household is a contact of everyone else in it."""
    before = len(graph.edges)
    for start, size in households:
        ids = range(graph.base + start + 1, graph.base + start + size + 1)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                graph.edges.add(graph.edge_key(a, b, HOUSEHOLD))
    graph.by_setting["household"] = len(graph.edges) - before


def workplace_edges_add(rng, graph: Graph, workshops, wanted: int) -> None:
    """``wanted`` edges between co-workers: random workers of a workshop, weighted by its size."""
    if not workshops or wanted <= 0:
        return
    flat = [(ids, park) for ids, park in workshops if len(ids) > 1 for _ in ids]  # one per worker
    total = len(flat)
    before, counts = len(graph.edges), [0, 0]
    attempts = 0
    while len(graph.edges) - before < wanted and attempts < wanted * 3:
        attempts += 1
        ids, park = flat[int(rng.random() * total)]
        a, b = ids[int(rng.random() * len(ids))], ids[int(rng.random() * len(ids))]
        if a == b:
            continue
        setting = INDUSTRIAL_PARK if park else WORKPLACE
        size = len(graph.edges)
        graph.edges.add(graph.edge_key(a, b, setting, park))
        counts[bool(park)] += len(graph.edges) - size
    graph.by_setting["workplace"] = counts[0]
    graph.by_setting["industrial_park"] = counts[1]


def venue_edges_add(rng, graph: Graph, total_wanted: int) -> None:
    """Venue contacts among neighbours and transport contacts anywhere, up to ``total_wanted`` edges."""
    counts = [0, 0]
    attempts = 0
    people = graph.people
    while len(graph.edges) < total_wanted and attempts < total_wanted * 3:
        attempts += 1
        a = int(rng.random() * people)
        if rng.random() < LOCAL_VENUE_SHARE:
            b, setting = a + int((rng.random() * 2 - 1) * NEIGHBOURHOOD), VENUE
            if not 0 <= b < people:
                continue
        else:
            b, setting = int(rng.random() * people), TRANSPORT
        if a == b:
            continue
        size = len(graph.edges)
        graph.edges.add(graph.edge_key(graph.base + a + 1, graph.base + b + 1, setting))
        counts[setting == TRANSPORT] += len(graph.edges) - size
    graph.by_setting["venue"] = counts[0]
    graph.by_setting["transport"] = counts[1]


def contact_lines(graph: Graph, park_ids: list[int]):
    """COPY lines of the edges, in chunks. Who named whom is fixed by the pair's parity."""
    chunk = []
    for key in graph.edges:
        low, high, setting, park = graph.edge_unpack(key)
        person, contact = (low, high) if (low + high) % 2 else (high, low)
        exposure = EXPOSURE_END - timedelta(days=(low * 31 + high) % 14)
        place = str(park_ids[park - 1]) if park else "\\N"
        chunk.append(
            f"{person}\t{contact}\t{exposure.isoformat()}\t{SETTINGS[setting]}\t{place}\t"
            f"{FOUND_BY[setting]}\t{CREATED}\n"
        )
        if len(chunk) >= CHUNK_LINES:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


# --- loading ------------------------------------------------------------------------------

PERSON_COLUMNS = (
    "id, national_id, full_name, name_folded, birth_year, sex, phone, address, home_area_id, "
    "workplace_id, level, created_at, updated_at"
)
CONTACT_COLUMNS = "person_id, contact_id, exposure_date, setting, place_id, found_by, created_at"


def ids_reserve(cursor, people: int) -> int:
    """The id before the first of ``people`` new persons; the identity sequence moved past them."""
    cursor.execute("SELECT coalesce(max(id), 0) FROM tracing_person")
    base = cursor.fetchone()[0]
    cursor.execute("SELECT setval(pg_get_serial_sequence('tracing_person', 'id'), %s)", [base + people + 1])
    return base


@contextmanager
def indexes_dropped(cursor, table: str, timings: dict):
    """Secondary indexes and the table's own foreign keys and unique constraints dropped, put
    back after: COPY into a bare table, then one sort per index, is several times faster than
    maintaining them row by row (and deferred foreign keys would queue a check per row)."""
    cursor.execute(
        """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = %s::regclass AND contype IN ('f', 'u')
        """,
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
        """,
        [table],
    )
    indexes = cursor.fetchall()
    for name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    start = time.perf_counter()
    for _name, definition in indexes:
        cursor.execute(definition)
    for name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    timings[f"{table}_indexes_s"] = round(time.perf_counter() - start, 2)


def graph_load(
    connection,
    *,
    people: int,
    edges: int,
    area_ids: list[int],
    park_ids: list[int],
    seed: int = 2021,
    drop_indexes: bool = True,
    analyze: bool = True,
) -> dict:
    """Generate and COPY the graph in the current transaction (or autocommit); timings and counts."""
    timings: dict = {}
    with connection.cursor() as cursor:
        if drop_indexes:
            # Index builds sort in memory (the server's default is 64 MB); checks deferred
            # earlier in the transaction are run now: ALTER TABLE refuses to run with any pending.
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        base = ids_reserve(cursor, people)
        start = time.perf_counter()
        graph = graph_generate(
            people=people, edges=edges, area_ids=area_ids, park_ids=park_ids, base=base, seed=seed
        )
        timings["generate_s"] = round(time.perf_counter() - start, 2)
        with table_prepared(cursor, "tracing_person", drop_indexes, timings):
            start = time.perf_counter()
            with cursor.copy(f"COPY tracing_person ({PERSON_COLUMNS}) FROM STDIN") as copy:
                for index in range(0, len(graph.person_lines), CHUNK_LINES):
                    copy.write("".join(graph.person_lines[index : index + CHUNK_LINES]))
            timings["copy_persons_s"] = round(time.perf_counter() - start, 2)
        with table_prepared(cursor, "tracing_contact", drop_indexes, timings):
            start = time.perf_counter()
            with cursor.copy(f"COPY tracing_contact ({CONTACT_COLUMNS}) FROM STDIN") as copy:
                for data in contact_lines(graph, park_ids):
                    copy.write(data)
            timings["copy_contacts_s"] = round(time.perf_counter() - start, 2)
        if drop_indexes:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys: deferred, as created
        if analyze:
            start = time.perf_counter()
            cursor.execute("ANALYZE tracing_person")
            cursor.execute("ANALYZE tracing_contact")
            timings["analyze_s"] = round(time.perf_counter() - start, 2)
    return {
        "people": people,
        "edges": len(graph.edges),
        "edges_by_setting": graph.by_setting,
        "first_id": base + 1,
        "last_id": base + people,
        "timings": timings,
    }


@contextmanager
def table_prepared(cursor, table: str, drop_indexes: bool, timings: dict):
    if drop_indexes:
        with indexes_dropped(cursor, table, timings):
            yield
    else:
        yield
