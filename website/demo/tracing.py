"""The demo's tracing scenario, generated: people of the demo villages and an outbreak.

A few thousand people live in the demo villages, in households. They declare their health by
QR at markets and at their industrial park's gate, get vaccinated, and some come home through
a checkpoint, a share of them from the hot provinces of August 2021. Then a worker of a
workshop in the Suối Dầu industrial park (Cam Lâm) tests positive: the district health centre
and the provincial CDC confirm the result, the tracing team's interview names their household,
workshop and park contacts, three of the workshop colleagues (F1) are interviewed in turn for
their own contacts (their households: F2), one colleague tests positive and is interviewed, the
others test negative, and the people in quarantine send their daily check-ins, one with a fever.

Every record goes in the way the web takes it (forms_engine: the form version's validator,
``submission_prepare``, ``submission_create``), filled by the demo user whose role and area fit
it; results and interviews are approved step by step by the demo approvers through their
Wagtail workflow tasks, as in the admin. What the tracing rules make of them (levels, contacts,
orders, alerts) is the outbox jobs' work, as in production: between the scenario's phases the
generator waits for those jobs (in-process queues run them on commit; with Redis it runs them
itself in burst mode, so that it needs no worker running).

Deterministic: the seed decides everything, household by household and person by person, so a
person is the same whatever the run's size. A record's client_id is a uuid5 of the seed and the
record's name, so a second run is answered "same data again" and adds nothing. The scenario's
dates count back from its day, fixed by the first run and found again from what it stored.
"""

import csv
import random
import time as clock
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from forms_engine.bulk_approve import approvable_task_state
from forms_engine.intake import form_refusal, validator_for
from forms_engine.models import Submission
from forms_engine.selectors import form_for_caller
from forms_engine.services import submission_create, submission_prepare
from places.models import Area
from places.selectors import area_scope, place_in_use
from tracing.models import QuarantineOrder, TracingSettings
from website.demo.forms import (
    CHECKPOINT,
    HEALTH_DECLARATION,
    QUARANTINE_CHECKIN,
    TESTING,
    TRACING,
    VACCINATION,
)
from website.demo.load import DEMO_DIR
from website.settings.environment import QUEUE_NAMES
from workflows.models import Event
from workflows.outbox import relay_pending
from workflows.queues import get_queue, queues_are_synchronous

ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://outbreak-desk.invalid/demo/tracing")
DEFAULT_SEED = 2021
DEFAULT_PEOPLE = 3000
DEFAULT_FACILITY = "CL-TQS-DIENKHANH"  # where a contact without an order (yet) says they are
CLUSTER_POOL = 1000  # the people the cluster's cases and contacts are chosen from
CHUNK = 100  # records per transaction: their events reach the jobs together, as a batch
CONTACTS_INTERVIEWED = 3  # the index case's colleagues (F1) the team asks for their own contacts

# --- who lives where ------------------------------------------------------------------------

FAMILY_NAMES = (
    ("Nguyễn", 38),
    ("Trần", 11),
    ("Lê", 9.5),
    ("Phạm", 7),
    ("Hoàng", 3),
    ("Huỳnh", 3),
    ("Phan", 4.5),
    ("Vũ", 2),
    ("Võ", 3),
    ("Đặng", 2),
    ("Bùi", 2),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1),
    ("Lý", 0.5),
)
MIDDLE_NAMES = {
    "male": ("Văn", "Văn", "Hữu", "Đức", "Minh", "Quốc", "Công", "Thanh", "Ngọc", "Xuân"),
    "female": ("Thị", "Thị", "Thị", "Ngọc", "Thanh", "Minh", "Thu", "Hồng", "Kim", "Mỹ"),
}
GIVEN_NAMES = {
    "male": (
        "An", "Bình", "Cường", "Dũng", "Hùng", "Long", "Nam", "Phúc", "Quang", "Sơn",
        "Tâm", "Tuấn", "Hải", "Huy", "Khoa", "Thắng", "Trung", "Việt", "Hiếu", "Lộc",
    ),
    "female": (
        "An", "Hà", "Hạnh", "Hoa", "Lan", "Linh", "Mai", "Thảo", "Trang", "Vy",
        "Hương", "Ngân", "Nhung", "Phương", "Tâm", "Yến", "Hằng", "Nga", "Thủy", "Oanh",
    ),
}  # fmt: skip
HOUSEHOLD_SIZES = ((1, 8), (2, 17), (3, 24), (4, 28), (5, 15), (6, 8))
CAM_LAM = "570"
SUOI_DAU = "KCN-SUOIDAU"

# Industrial parks by the district their workers live in: (park, share of working adults).
PARKS_BY_DISTRICT = {
    CAM_LAM: (SUOI_DAU, 0.35),
    "569": ("KCN-NAMCAMRANH", 0.25),
    "572": ("KCN-NINHTHUY", 0.3),
    "568": ("KCN-DACLOC", 0.1),
}
WORKSHOPS = (
    "Phân xưởng may số 1",
    "Phân xưởng may số 2",
    "Phân xưởng đóng gói",
    "Phân xưởng chế biến thủy sản",
    "Kho thành phẩm",
)
SHIFTS = ((6, 0), (13, 30), (21, 30))  # when a shift walks through the gate

# QR venues people declare at, by district; anyone may also go to the city.
VENUES_BY_DISTRICT = {
    CAM_LAM: ("DD-CHO-CAMDUC", "DD-CHO-SUOITAN"),
    "568": ("DD-CHO-DAM", "DD-CHO-VINHLUONG", "DD-CHO-VINHHAI", "DD-SIEUTHI-NT"),
    "569": ("DD-CHO-CAMNGHIA",),
    "572": ("DD-CHO-NINHTHUY",),
    "571": ("DD-CHO-VANGIA",),
}
CITY_VENUES = ("DD-SIEUTHI-NT", "DD-CHO-DAM", "YT-BVDK-TINH")
VACCINATION_SITES = {
    CAM_LAM: "TC-TTYT-CAMLAM",
    "569": "TC-TTYT-CAMRANH",
    "568": "TC-TTYT-NHATRANG",
    "572": "TC-TTYT-NINHHOA",
    "571": "TC-TTYT-NINHHOA",
}
VILLAGE_SITES = {"22384": "TC-TYT-VINHLUONG"}  # a commune with its own vaccination site

# (vaccine, weight, days to the second dose, lot prefix)
VACCINES = (
    ("astrazeneca", 50, 56, "ABV"),
    ("sinopharm", 20, 21, "202107"),
    ("pfizer", 15, 21, "FF"),
    ("moderna", 10, 28, "MOD"),
    ("sputnik_v", 5, 21, "II-"),
)

# --- travel -----------------------------------------------------------------------------------

# The outbreak provinces of August 2021: travellers from them say they were in an outbreak area.
# Which of them put travellers in home quarantine is TracingSettings.hot_origins (read at run time).
OUTBREAK_ORIGINS = ("79", "74", "75", "80")
# origin code: (weight, plate prefix, checkpoints it arrives through)
ORIGINS = {
    "79": (25, "51", ("CK-QL1A-NAM", "CK-SB-CAMRANH", "CK-GA-NHATRANG")),
    "74": (8, "61", ("CK-QL1A-NAM",)),
    "75": (7, "60", ("CK-QL1A-NAM", "CK-GA-NHATRANG")),
    "80": (5, "62", ("CK-QL1A-NAM",)),
    "01": (8, "30", ("CK-SB-CAMRANH", "CK-GA-NHATRANG")),
    "48": (8, "43", ("CK-QL1A-BAC", "CK-SB-CAMRANH")),
    "52": (6, "77", ("CK-QL1A-BAC",)),
    "54": (8, "78", ("CK-QL1A-BAC",)),
    "58": (8, "85", ("CK-QL1A-NAM", "CK-KSON-NT")),
    "66": (9, "47", ("CK-QL26",)),
    "68": (8, "49", ("CK-QL27C",)),
}
NO_PLATE_CHECKPOINTS = {"CK-SB-CAMRANH", "CK-GA-NHATRANG"}  # by air, by train
TRIP_REASONS = ("Về quê", "Về nhà sau khi làm việc ở tỉnh khác", "Công tác", "Thăm người thân")

# --- who files what ---------------------------------------------------------------------------

# Demo users (website/demo/load.py) by the work they do; the narrowest area that holds a
# record's areas files it, as the staff form's area check requires.
DATA_ENTRY = ("thucdia.vinhluong", "cntt.camlam", "cdc.tinh")
LAB = ("cdc.tinh",)
TRACING_TEAM = ("truyvet.camlam", "cdc.tinh")
FACILITY_STAFF = ("cachly.camlam", "cdc.tinh")
APPROVERS = ("pheduyet.camlam", "pheduyet.nhatrang", "truyvet.camlam", "cachly.camlam", "cdc.tinh")

# Canonical meanings of the tracing form's choices, and the values forms may store them as:
# the form's schema decides at run time (an admin may relabel or re-value choices).
SETTING_VALUES = {
    "household": ("household", "ho_gia_dinh"),
    "workplace": ("workplace", "noi_lam_viec"),
    "industrial_park": ("industrial_park", "khu_cong_nghiep"),
    "transport": ("transport", "phuong_tien"),
    "other": ("other", "khac"),
}
RELATIONSHIP_VALUES = {
    "family": ("family", "household", "gia_dinh"),
    "colleague": ("colleague", "coworker", "dong_nghiep"),
    "neighbour": ("neighbour", "neighbor", "hang_xom"),
    "other": ("other", "khac"),
}


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    commune: str
    district: str = ""


@dataclass
class Household:
    index: int
    village: Village
    family_name: str
    address: str


@dataclass
class DemoPerson:
    index: int
    household: Household
    full_name: str
    sex: str
    birth_date: date
    national_id: str
    phone: str
    workplace: str = ""  # an industrial park's place code
    workshop: str = ""
    shift: tuple = (6, 0)

    @property
    def birth_year(self) -> int:
        return self.birth_date.year

    @property
    def village(self) -> Village:
        return self.household.village

    @property
    def adult(self) -> bool:
        return self.birth_year <= 2003

    def field_value(self, spec: dict, *, phone: str | None = None, with_id: bool = True) -> dict:
        """This person as a person field of ``spec`` wants them (docs/forms.md)."""
        value = {
            "full_name": self.full_name,
            "sex": self.sex,
            "home_area": self.village.code,
            "address": self.household.address,
        }
        if spec.get("birth") == "date":
            value["birth_date"] = self.birth_date.isoformat()
        else:
            value["birth_year"] = self.birth_year
        if with_id and self.national_id:
            value["national_id"] = self.national_id
        if phone if phone is not None else self.phone:
            value["phone"] = phone if phone is not None else self.phone
        return value


@dataclass
class Record:
    """One submission to make: ``name`` is unique and stable, its client_id derives from it."""

    name: str
    slug: str
    data: dict
    at: datetime  # the device's time of filling
    users: tuple = ()  # who may file it, narrowest area first; () for the public
    qr: str = ""
    areas: tuple = ()  # the area codes it names, for choosing its filer
    approve: bool = False


@dataclass
class Phase:
    name: str
    records: list[Record] = field(default_factory=list)


# --- the forms as the generator reads them ----------------------------------------------------


class Schema:
    """A form version's schema, read by role where forms may differ from the demo's."""

    def __init__(self, schema: list[dict]):
        self.fields = schema

    def spec(self, role: str, fields: list[dict] | None = None) -> dict:
        return next((f for f in (fields or self.fields) if f.get("role") == role), {})

    def key(self, role: str, default: str, fields: list[dict] | None = None) -> str:
        return self.spec(role, fields).get("key") or default

    def choice(self, spec: dict, meaning: str, aliases: dict[str, tuple]) -> str | None:
        """The value ``spec`` stores for ``meaning``: a known alias, else None (leave it out)."""
        values = [c["value"] for c in spec.get("choices", [])]
        return next((v for v in aliases.get(meaning, (meaning,)) if v in values), None)


# --- building the scenario ----------------------------------------------------------------------


def villages_load() -> list[Village]:
    """The demo's villages (villages.csv), with their communes' districts."""
    with open(DEMO_DIR / "villages.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    communes = Area.objects.in_bulk({row["parent_code"] for row in rows}, field_name="code")
    parents = {c.code: c.get_parent().code for c in communes.values()}
    return [
        Village(row["code"], row["name"], row["parent_code"], parents[row["parent_code"]]) for row in rows
    ]


def seeded(seed: int, name: str) -> random.Random:
    """A generator of its own for each thing the seed decides, so that none depends on another."""
    return random.Random(f"{seed}:{name}")  # noqa: S311 - demo data, not secrets


def full_name_for(rng: random.Random, sex: str, family: str | None = None) -> str:
    family = family or weighted(rng, FAMILY_NAMES)
    return f"{family} {rng.choice(MIDDLE_NAMES[sex])} {rng.choice(GIVEN_NAMES[sex])}"


def weighted(rng: random.Random, pairs) -> object:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


class Scenario:
    """Everything the seed decides: households, people, and the records of each phase."""

    def __init__(
        self,
        *,
        seed: int,
        people: int,
        today: date,
        villages: list[Village],
        schemas: dict,
        hot_origins=OUTBREAK_ORIGINS,
        facilities_of: Callable[[list], dict[int, str]] | None = None,
    ):
        self.seed, self.size, self.today = seed, people, today
        self.villages = villages
        self.schemas = schemas  # form slug → Schema
        self.hot_origins = set(hot_origins)  # whose travellers the rules put in home quarantine
        self.facilities_of = facilities_of or (lambda persons: {})  # where their orders put them
        self.tz = timezone.get_current_timezone()
        self.persons: list[DemoPerson] = self.persons_build()
        # The cluster's people come from the first CLUSTER_POOL only: a larger run then tells
        # the same outbreak (and stores the same records) as a smaller one of at least that size.
        self.pool = self.persons[:CLUSTER_POOL]
        self.households: dict[int, list[DemoPerson]] = {}
        for person in self.pool:
            self.households.setdefault(person.household.index, []).append(person)

    # --- people

    def persons_build(self) -> list[DemoPerson]:
        persons: list[DemoPerson] = []
        household = 0
        while len(persons) < self.size:
            persons.extend(self.household_build(household, first=len(persons)))
            household += 1
        return persons[: self.size]

    def household_build(self, index: int, *, first: int) -> list[DemoPerson]:
        rng = seeded(self.seed, f"household:{index}")
        weights = [3 if v.district == CAM_LAM else 1 for v in self.villages]
        village = rng.choices(self.villages, weights=weights)[0]
        family = weighted(rng, FAMILY_NAMES)
        house = Household(index, village, family, f"Số {rng.randint(1, 250)}, {village.name}")
        size = weighted(rng, HOUSEHOLD_SIZES)
        head_sex = rng.choice(("male", "male", "female"))
        head_year = rng.randint(1955, 1996)
        members = [(head_sex, head_year, family)]
        if size >= 2:
            spouse_sex = "female" if head_sex == "male" else "male"
            members.append((spouse_sex, head_year + rng.randint(-6, 4), weighted(rng, FAMILY_NAMES)))
        if size >= 5 and head_year > 1970:
            members.append(
                (rng.choice(("male", "female")), head_year - rng.randint(22, 30), weighted(rng, FAMILY_NAMES))
            )
        while len(members) < size:
            members.append(
                (rng.choice(("male", "female")), min(head_year + rng.randint(20, 36), 2019), family)
            )
        head_phone = None
        persons = []
        for offset, (sex, year, family_name) in enumerate(members):
            person = self.person_build(
                first + offset, house, sex=sex, year=year, family=family_name, guardian=head_phone
            )
            head_phone = head_phone or person.phone
            persons.append(person)
        return persons

    def person_build(self, index, house, *, sex, year, family, guardian) -> DemoPerson:
        rng = seeded(self.seed, f"person:{index}")
        name = full_name_for(rng, sex, family)
        born = date(year, rng.randint(1, 12), rng.randint(1, 28))
        person = DemoPerson(index, house, name, sex, born, national_id_for(rng, index, sex, year), "")
        person.phone = phone_for(rng, index) if year <= 2005 or not guardian else guardian
        park, share = PARKS_BY_DISTRICT.get(house.village.district, ("", 0))
        if park and 1966 <= year <= 2003 and rng.random() < share:
            person.workplace, person.workshop = park, rng.choice(WORKSHOPS)
            person.shift = rng.choice(SHIFTS)
        return person

    # --- time

    def at(self, days_ago: int, hour: int, minute: int = 0) -> datetime:
        day = self.today - timedelta(days=days_ago)
        moment = datetime.combine(day, time(hour), tzinfo=self.tz) + timedelta(minutes=minute)
        return min(moment, timezone.now() - timedelta(minutes=5))

    def day(self, days_ago: int) -> str:
        return (self.today - timedelta(days=days_ago)).isoformat()

    # --- phase 1: everyday records

    def everyday(self) -> Phase:
        phase = Phase("everyday")
        for person in self.persons:
            rng = seeded(self.seed, f"person:{person.index}:records")
            phase.records += self.declarations(person, rng)
            doses = self.vaccinations(person, rng)
            phase.records += doses
            phase.records += self.arrivals(person, rng, doses=doses)
        return phase

    def person_spec(self, slug: str) -> dict:
        return self.schemas[slug].spec("person")

    def declaration(self, person, name, *, venue, at, phone=None, with_id=True, symptoms=(), exposure=False):
        schema = self.schemas[HEALTH_DECLARATION.slug]
        data = {
            schema.key("person", "person"): person.field_value(
                self.person_spec(HEALTH_DECLARATION.slug), phone=phone, with_id=with_id
            ),
            schema.key("place", "place"): venue,
            schema.key("exposure", "exposure"): exposure,
            schema.key("consent", "consent"): True,
        }
        if symptoms:
            data[schema.key("symptoms", "symptoms")] = list(symptoms)
        return Record(name, HEALTH_DECLARATION.slug, data, at, qr=venue)

    def declarations(self, person: DemoPerson, rng: random.Random) -> list[Record]:
        """At markets near home (and now and then in the city); workers at their park's gate."""
        records = []
        for n in range(1 if rng.random() < 0.8 else 2):
            venues = VENUES_BY_DISTRICT.get(person.village.district, CITY_VENUES)
            venue = rng.choice(CITY_VENUES if rng.random() < 0.1 else venues)
            at = self.at(rng.randint(1, 12), rng.choice((6, 7, 8, 9, 16, 17)), rng.randint(0, 59))
            symptoms = [rng.choice(("ho", "dau_hong"))] if rng.random() < 0.03 else []
            records.append(
                self.declaration(person, f"hd:{person.index}:{n}", venue=venue, at=at, symptoms=symptoms)
            )
        if person.workplace:
            hour, minute = person.shift
            for days_ago in range(2, 5 if person.workplace == SUOI_DAU else 3):
                at = self.at(days_ago, hour, minute + rng.randint(0, 50))
                records.append(
                    self.declaration(person, f"gate:{person.index}:{days_ago}", venue=person.workplace, at=at)
                )
        if person.adult and person.national_id and rng.random() < 0.01:  # a new SIM, no ID: a near duplicate
            at = self.at(rng.randint(1, 5), 10, rng.randint(0, 59))
            other_phone = phone_for(rng, person.index + 5_000_000)
            venue = rng.choice(VENUES_BY_DISTRICT.get(person.village.district, CITY_VENUES))
            records.append(
                self.declaration(
                    person, f"hd:{person.index}:dup", venue=venue, at=at, phone=other_phone, with_id=False
                )
            )
        return records

    def vaccinations(self, person: DemoPerson, rng: random.Random) -> list[Record]:
        if not (person.adult and person.national_id) or rng.random() >= 0.45:
            return []
        vaccine, _weight, interval, lot = weighted(rng, [(v, v[1]) for v in VACCINES])
        site = VILLAGE_SITES.get(person.village.commune) or VACCINATION_SITES.get(
            person.village.district, "TC-TTYT-NHATRANG"
        )
        first = rng.randint(25, 80)
        days = [first] + ([first - interval] if first - interval >= 1 and rng.random() < 0.5 else [])
        records = []
        for dose, days_ago in enumerate(days, start=1):
            data = {
                "person": person.field_value(self.person_spec(VACCINATION.slug)),
                "vaccine": vaccine,
                "dose": str(dose),
                "vaccination_date": self.day(days_ago),
                "site": site,
                "lot_number": f"{lot}{rng.randint(1000, 9999)}",
            }
            if rng.random() < 0.05:
                data["reaction"] = "Đau tại chỗ tiêm, sốt nhẹ 37,8 °C sau 6 giờ, tự hết."
            at = self.at(days_ago, rng.randint(8, 16), rng.randint(0, 59))
            records.append(
                Record(
                    f"vx:{person.index}:{dose}",
                    VACCINATION.slug,
                    data,
                    at,
                    DATA_ENTRY,
                    areas=(person.village.code,),
                )
            )
        return records

    def arrivals(self, person: DemoPerson, rng: random.Random, *, doses: list[Record]) -> list[Record]:
        """Some adults come home through a checkpoint, a share of them from a hot province."""
        if not (person.adult and person.national_id) or rng.random() >= 0.07:
            return []
        origin = weighted(rng, [(code, spec[0]) for code, spec in ORIGINS.items()])
        _weight, plate_prefix, checkpoints = ORIGINS[origin]
        checkpoint = rng.choice(checkpoints)
        days_ago = rng.randint(1, 6)
        vaccinated = sum(1 for d in doses if d.data["vaccination_date"] < self.day(days_ago))
        data = {
            "traveller": person.field_value(self.person_spec(CHECKPOINT.slug)),
            "direction": "in",
            "checkpoint": checkpoint,
            "origin": origin,
            "destination": person.village.code,
            "reason": rng.choice(TRIP_REASONS),
            "travel_permit": rng.random() < 0.95,
            "vaccination_status": ("chua_tiem", "1_mui", "2_mui")[vaccinated],
            "visited_outbreak_area": origin in OUTBREAK_ORIGINS,
        }
        if checkpoint in NO_PLATE_CHECKPOINTS:
            data["vehicle"] = "khac"
        else:
            data["vehicle"] = rng.choice(("o_to_ca_nhan", "xe_khach", "xe_may", "xe_tai_luong_xanh"))
            data["vehicle_plate"] = plate_for(rng, plate_prefix, data["vehicle"])
        if data["visited_outbreak_area"]:
            data["outbreak_areas_visited"] = self.choice_label(CHECKPOINT.slug, "origin", origin)
        data = rekeyed(self.schemas[CHECKPOINT.slug], data)
        at = self.at(days_ago, rng.randint(5, 21), rng.randint(0, 59))
        return [
            Record(f"ck:{person.index}", CHECKPOINT.slug, data, at, DATA_ENTRY, areas=(person.village.code,))
        ]

    def choice_label(self, slug: str, role: str, value: str) -> str:
        choices = self.schemas[slug].spec(role).get("choices", [])
        return next((c["label"] for c in choices if c["value"] == value), value)

    # --- phases 2 and 3: the industrial-park cluster

    def cluster_cases(self) -> tuple[DemoPerson | None, DemoPerson | None]:
        """The index case (a Suối Dầu worker in its busiest workshop) and the colleague it infects."""
        workers = [p for p in self.pool if p.workplace == SUOI_DAU]
        if len(workers) < 3:
            return None, None
        rng = seeded(self.seed, f"cluster:{len(self.pool)}")
        workshop = Counter(p.workshop for p in workers).most_common(1)[0][0]
        colleagues = [p for p in workers if p.workshop == workshop]
        index_case = rng.choice(colleagues)
        others = [p for p in colleagues if p.household.index != index_case.household.index]
        second = rng.choice(others) if others else None
        return index_case, second

    def index_case(self) -> Phase:
        phase = Phase("index case")
        case, second = self.cluster_cases()
        if case is None:
            return phase
        rng = seeded(self.seed, f"cluster:{len(self.pool)}:index")
        phase.records.append(
            self.test_result(case, self.cluster_name("positive:index"), days_ago=3, positive=True, rng=rng)
        )
        contacts = self.index_contacts(case, second)
        phase.records.append(
            self.interview(
                case,
                self.cluster_name("interview:index"),
                contacts,
                days_ago=2,
                sample_days_ago=3,
                onset_days_ago=4,
                rng=rng,
            )
        )
        return phase

    def contacts_interviewed(self) -> Phase:
        """The tracing team asks the index case's workshop colleagues (F1) for their own
        contacts: their households become F2 (and home quarantine, by the F2 rule)."""
        phase = Phase("contacts interviewed")
        case, second = self.cluster_cases()
        if case is None:
            return phase
        rng = seeded(self.seed, f"cluster:{len(self.pool)}:contacts-interviewed")
        colleagues = [
            p
            for p, _relationship, setting, _days in self.index_contacts(case, second)
            if p is not None and p is not second and setting == "workplace"
        ]
        with_family = [p for p in colleagues if len(self.households[p.household.index]) > 1]
        for person in with_family[:CONTACTS_INTERVIEWED]:
            household = [p for p in self.households[person.household.index] if p is not person]
            phase.records.append(
                self.interview(
                    person,
                    self.cluster_name(f"interview:contact:{person.index}"),
                    [(p, "family", "household", 2) for p in household],
                    days_ago=2,
                    sample_days_ago=None,
                    onset_days_ago=None,
                    rng=rng,
                    subject="contact",
                )
            )
        return phase

    def second_generation(self) -> Phase:
        phase = Phase("second generation")
        case, second = self.cluster_cases()
        if second is None:
            return phase
        rng = seeded(self.seed, f"cluster:{len(self.pool)}:second")
        phase.records.append(
            self.test_result(second, self.cluster_name("positive:second"), days_ago=1, positive=True, rng=rng)
        )
        household = [p for p in self.households[second.household.index] if p is not second]
        park = [p for p in self.pool if p.workplace == SUOI_DAU and p.workshop != second.workshop][:40]
        contacts = [(p, "family", "household", 1) for p in household]
        contacts += [(p, "colleague", "industrial_park", 2) for p in rng.sample(park, min(2, len(park)))]
        contacts.append((None, "other", "other", 2))
        phase.records.append(
            self.interview(
                second,
                self.cluster_name("interview:second"),
                contacts,
                days_ago=1,
                sample_days_ago=1,
                onset_days_ago=None,
                rng=rng,
            )
        )
        tested = [p for p, *_ in self.index_contacts(case, second) if p is not None and p is not second]
        for n, person in enumerate(tested):
            record = self.test_result(
                person,
                self.cluster_name(f"negative:{person.index}"),
                days_ago=1,
                positive=False,
                rng=rng,
                pool=f"SD-{self.day(1)}-{n // 5 + 1}",
            )
            phase.records.append(record)
        return phase

    def cluster_name(self, name: str) -> str:
        """The cluster's records are named per pool: a smaller pool picks other people."""
        return f"cluster{len(self.pool)}:{name}"

    def index_contacts(self, case, second) -> list[tuple]:
        """10 to 20 contacts: the household, workshop colleagues, other park workers met in the
        canteen, a neighbour, and the shuttle-bus driver nobody registered."""
        rng = seeded(self.seed, f"cluster:{len(self.pool)}:contacts")
        household = [p for p in self.households[case.household.index] if p is not case]
        workers = [p for p in self.pool if p.workplace == SUOI_DAU and p is not case and p not in household]
        same_shop = [p for p in workers if p.workshop == case.workshop and p is not second]
        park = [p for p in workers if p.workshop != case.workshop]
        neighbours = [
            p
            for p in self.pool
            if p.village == case.village and p.household.index != case.household.index and p.adult
        ]
        contacts = [(p, "family", "household", 3) for p in household]
        if second is not None:
            contacts.append((second, "colleague", "workplace", 3))
        contacts += [(p, "colleague", "workplace", 3) for p in rng.sample(same_shop, min(len(same_shop), 8))]
        contacts += [(p, "colleague", "industrial_park", 4) for p in rng.sample(park, min(len(park), 3))]
        contacts += [(p, "neighbour", "other", 5) for p in rng.sample(neighbours, min(len(neighbours), 1))]
        contacts.append((None, "other", "transport", 4))
        extra = [p for p in workers if p not in [c[0] for c in contacts]]
        while len(contacts) < 10 and extra:
            contacts.append((extra.pop(0), "colleague", "industrial_park", 4))
        return contacts[:20]

    def test_result(self, person, name, *, days_ago, positive, rng, pool="") -> Record:
        data = {
            "person": person.field_value(self.person_spec(TESTING.slug)),
            "test_type": "rt_pcr_gop" if pool else "rt_pcr_don",
            "sample_date": self.day(days_ago),
            "sampling_site": "XN-TTYT-CAMLAM",
            "result": "positive" if positive else "negative",
            "lab": "Khoa Xét nghiệm, CDC Khánh Hòa",
        }
        if pool:
            data["pooled_sample_id"] = pool
        if positive:
            data["ct_value"] = round(rng.uniform(16, 30), 2)
        at = self.at(max(days_ago - 1, 0), 20, rng.randint(0, 59))
        return Record(name, TESTING.slug, data, at, LAB, areas=(person.village.code,), approve=positive)

    def interview(
        self, case, name, contacts, *, days_ago, sample_days_ago, onset_days_ago, rng, subject="case"
    ) -> Record:
        """A tracing interview of a case, or (``subject="contact"``) of an F1 asked for their
        own contacts: no sample, onset or itinerary then."""
        schema = self.schemas[TRACING.slug]
        contacts_spec = schema.spec("contacts")
        data = {
            schema.key("person", "case"): case.field_value(self.person_spec(TRACING.slug)),
            schema.key("workplace", "workplace"): case.workplace,
            schema.key("workshop", "workshop"): case.workshop,
            contacts_spec.get("key", "contacts"): [
                self.contact_item(contacts_spec.get("fields", []), person, *rest, rng=rng, n=n)
                for n, (person, *rest) in enumerate(contacts)
            ],
        }
        subject_spec = schema.spec("interview_subject")
        if subject_spec:
            data[subject_spec["key"]] = schema.choice(subject_spec, subject, {}) or subject
        if subject == "case":
            data[schema.key("sample_date", "sample_date")] = self.day(sample_days_ago)
            data[schema.key("itinerary", "itinerary")] = self.itinerary(case, rng, until=sample_days_ago)
            if onset_days_ago is not None:
                data[schema.key("onset_date", "onset_date")] = self.day(onset_days_ago)
        at = self.at(days_ago, 15, rng.randint(0, 59))
        return Record(name, TRACING.slug, data, at, TRACING_TEAM, areas=(case.village.code,), approve=True)

    def itinerary(self, case, rng, *, until) -> list[dict]:
        hour, minute = case.shift
        stops = [
            {
                "date": self.day(d),
                "location": "Khu công nghiệp Suối Dầu, " + case.workshop.lower(),
                "time": f"{hour:02d}:{minute:02d}",
            }
            for d in range(until + 4, until, -1)
        ]
        market = {
            "date": self.day(until + 2),
            "location": rng.choice(("Chợ Cam Đức", "Chợ Suối Tân")),
            "time": "17:30",
        }
        return sorted([*stops, market], key=lambda s: (s["date"], s["time"]))

    def contact_item(self, fields, person, relationship, setting, days_ago, *, rng, n) -> dict:
        schema = self.schemas[TRACING.slug]
        relationship_spec, setting_spec = schema.spec("relationship", fields), schema.spec("setting", fields)
        if person is None:  # someone the registry does not know yet
            sex = rng.choice(("male", "female"))
            item = {
                "full_name": full_name_for(rng, sex),
                "phone": phone_for(rng, 7_000_000 + self.seed % 1000 * 100 + n),
                "birth_year": rng.randint(1965, 2000),
            }
        else:
            item = {"full_name": person.full_name, "phone": person.phone, "birth_year": person.birth_year}
            if person.village.district == CAM_LAM:  # the tracing team enters addresses in its district
                item[schema.key("area", "address_area", fields)] = person.village.code
        item[schema.key("exposure_date", "exposure_date", fields)] = self.day(days_ago)
        for spec, meaning, aliases in (
            (relationship_spec, relationship, RELATIONSHIP_VALUES),
            (setting_spec, setting, SETTING_VALUES),
        ):
            value = schema.choice(spec, meaning, aliases) if spec else None
            if value is not None:
                item[spec["key"]] = value
        return item

    # --- phase 4: quarantine check-ins

    def checkins(self) -> Phase:
        """Daily check-ins of the cluster's contacts (in a facility) and of the travellers from
        hot provinces (at home) over the last days; one of them has a fever."""
        phase = Phase("check-ins")
        case, second = self.cluster_cases()
        if case is not None:
            contacts = [p for p, *_ in self.index_contacts(case, second) if p is not None and p is not second]
            facilities = self.facilities_of(contacts)
            for person in contacts:
                name = self.cluster_name(f"checkin:{person.index}")
                facility = facilities.get(person.index, DEFAULT_FACILITY)
                phase.records += self.person_checkins(person, name, days=(1, 0), facility=facility)
        arrivals = [r for r in self.everyday().records if r.slug == CHECKPOINT.slug]
        hot = [
            r
            for r in arrivals
            if r.data.get(self.schemas[CHECKPOINT.slug].key("origin", "origin")) in self.hot_origins
        ]
        for n, record in enumerate(hot):
            person = self.persons[int(record.name.split(":")[1])]
            arrived = (self.today - record.at.date()).days
            days = tuple(range(min(arrived - 1, 2), -1, -1))  # from the day after, three at most
            name = f"checkin:home:{person.index}"
            phase.records += self.person_checkins(person, name, days=days, fever_last=n == 0)
        return phase

    def person_checkins(self, person, name, *, days, facility="", fever_last=False) -> list[Record]:
        rng = seeded(self.seed, f"checkins:{person.index}")
        schema = self.schemas[QUARANTINE_CHECKIN.slug]
        records = []
        for n, days_ago in enumerate(days):
            fever = fever_last and n == len(days) - 1
            data = {
                schema.key("person", "person"): person.field_value(self.person_spec(QUARANTINE_CHECKIN.slug)),
                schema.key("quarantine_type", "quarantine_type"): "facility" if facility else "home",
                schema.key("temperature", "temperature"): 38.4
                if fever
                else round(rng.uniform(36.2, 37.1), 1),
                schema.key("spo2", "spo2"): 96 if fever else rng.randint(97, 99),
            }
            if facility:
                data[schema.key("place", "facility")] = facility
            if fever:
                data[schema.key("symptoms", "symptoms")] = ["sot", "ho"]
            at = self.at(days_ago, 8, rng.randint(0, 45))
            users = FACILITY_STAFF if facility else DATA_ENTRY
            records.append(
                Record(
                    f"{name}:{days_ago}",
                    QUARANTINE_CHECKIN.slug,
                    data,
                    at,
                    users,
                    areas=(person.village.code,),
                )
            )
        return records

    def phases(self) -> list[Callable[[], Phase]]:
        """In the order the rules need: orders exist before their check-ins arrive."""
        return [
            self.everyday,
            self.index_case,
            self.contacts_interviewed,
            self.second_generation,
            self.checkins,
        ]


def order_facilities(persons: list[DemoPerson]) -> dict[int, str]:
    """The facility of each person's active quarantine order, where the rules made one, so that
    their check-ins say where they are. Persons as the registry matched them: phone, name, year."""
    rows = QuarantineOrder.objects.filter(
        status=QuarantineOrder.STATUS_ACTIVE,
        facility__isnull=False,
        person__phone__in={p.phone for p in persons},
    ).values_list("person__phone", "person__full_name", "person__birth_year", "facility__code")
    found = {(phone, name, year): code for phone, name, year, code in rows}
    keys = {p.index: (p.phone, p.full_name, p.birth_year) for p in persons}
    return {index: found[key] for index, key in keys.items() if key in found}


# The demo checkpoint form's keys whose role is named otherwise (most keys are their role).
ROLE_OF = {"traveller": "person", "checkpoint": "place"}


def rekeyed(schema: Schema, data: dict) -> dict:
    """``data`` keyed as the demo form names its fields, keyed as the live form does by role."""
    return {schema.key(ROLE_OF.get(key, key), key): value for key, value in data.items()}


def national_id_for(rng: random.Random, index: int, sex: str, year: int) -> str:
    """A CCCD (12 digits: birth province, century and sex, year, serial), an old 9-digit CMND,
    or none (children, and a few adults without papers at hand). Unique by ``index``."""
    if year > 2007:
        return ""
    kind = rng.random()
    serial = f"{(index * 7919 + 104729) % 1_000_000:06d}"
    if kind < 0.8:
        province = "056" if rng.random() < 0.9 else rng.choice(("052", "054", "058", "079"))
        century_sex = (0 if year < 2000 else 2) + (1 if sex == "female" else 0)
        return f"{province}{century_sex}{year % 100:02d}{serial}"
    if kind < 0.92:
        return f"225{serial}"
    return ""


def phone_for(rng: random.Random, index: int) -> str:
    """A Vietnamese mobile number in E.164 (+849…), unique by ``index``."""
    operator = rng.choice("0134678")
    return f"+849{operator}{(index * 104729 + 1234567) % 10_000_000:07d}"


def plate_for(rng: random.Random, prefix: str, vehicle: str) -> str:
    digits = f"{rng.randint(100, 999)}.{rng.randint(10, 99)}"
    if vehicle == "xe_may":
        return f"{prefix}-{rng.choice('BCDEFGHKLMNPSTUVX')}{rng.randint(1, 9)} {digits}"
    series = {"xe_khach": "B", "xe_tai_luong_xanh": "C"}.get(vehicle, rng.choice("AFGH"))
    return f"{prefix}{series}-{digits}"


# --- putting records in, as the web does ------------------------------------------------------


@dataclass
class Outcome:
    created: Counter = field(default_factory=Counter)
    replayed: Counter = field(default_factory=Counter)
    conflicts: list[str] = field(default_factory=list)
    approved: int = 0
    waiting: list[str] = field(default_factory=list)  # still in review: no approver could act


class Filer:
    """Submits records through forms_engine's services with the demo users, and approves them."""

    def __init__(self, *, seed: int):
        self.seed = seed
        names = set(DATA_ENTRY + LAB + TRACING_TEAM + FACILITY_STAFF + APPROVERS)
        self.users = get_user_model().objects.in_bulk(names, field_name="username")
        missing = names - set(self.users)
        if missing:
            raise LookupError(f"demo users missing ({', '.join(sorted(missing))}): load the demo first")
        self.areas = {}
        self.outcome = Outcome()

    def client_id(self, record: Record) -> uuid.UUID:
        return client_id_for(self.seed, record.name)

    def filer_of(self, record: Record):
        """The first of the record's users whose area holds every area it names."""
        if not record.users:
            return None
        paths = self.area_paths(record.areas)
        for name in record.users:
            user = self.users[name]
            scope = user_area_path(user)
            if scope is not None and all(path.startswith(scope) for path in paths):
                return user
        return self.users[record.users[-1]]

    def area_paths(self, codes) -> list[str]:
        unknown = [c for c in codes if c not in self.areas]
        if unknown:
            self.areas.update(Area.objects.filter(code__in=unknown).values_list("code", "path"))
        return [self.areas[c] for c in codes if c in self.areas]

    def file(self, record: Record) -> Submission | None:
        """``record`` submitted as POST /api/v1/forms/{slug}/submissions takes it."""
        user = self.filer_of(record)
        form, version = form_for_caller(slug=record.slug, user=user)
        if refusal := form_refusal(form, version):
            raise LookupError(f"{record.slug}: {refusal.payload['detail']}")
        result = validator_for(form, version, user=user).validate(record.data)
        if result.errors:
            raise ValueError(f"{record.name} ({record.slug}) is not valid: {result.errors}")
        body = {
            "client_id": self.client_id(record),
            "data": record.data,
            "source": Submission.SOURCE_WEB,
            "client_created_at": record.at,
        }
        submission = submission_prepare(
            form=form, version=version, body=body, result=result, qr_place=place_in_use(record.qr), user=user
        )
        outcome = submission_create(submission)
        if not outcome.same_data:
            self.outcome.conflicts.append(record.name)
            return None
        (self.outcome.created if outcome.created else self.outcome.replayed)[record.slug] += 1
        return outcome.submission

    def approve(self, submission: Submission, name: str) -> None:
        """Each step of its workflow approved by the first demo approver who may act on it."""
        for _step in range(10):
            submission = Submission.objects.get(pk=submission.pk)
            if submission.status != Submission.STATUS_IN_REVIEW:
                return
            for username in APPROVERS:
                user = self.users[username]
                task_state = approvable_task_state(submission, user)
                if task_state is not None:
                    task_state.task.specific.on_action(task_state, user, "approve")
                    self.outcome.approved += 1
                    break
            else:
                self.outcome.waiting.append(name)
                return

    def file_all(self, records: list[Record]) -> None:
        """In transactions of CHUNK records: their events go to the jobs in batches."""
        for start in range(0, len(records), CHUNK):
            with transaction.atomic():
                for record in records[start : start + CHUNK]:
                    submission = self.file(record)
                    if submission is not None and record.approve:
                        self.approve(submission, record.name)


def user_area_path(user) -> str | None:
    scope = area_scope(user=user)
    if scope is True:
        return ""
    return scope.path if scope is not None else None


def client_id_for(seed: int, name: str) -> uuid.UUID:
    return uuid.uuid5(ID_NAMESPACE, f"{seed}:{name}")


def outbox_settle(*, rounds: int = 50) -> None:
    """Wait until the jobs of every recorded event have run, including the events those jobs
    record (a new case's expansion). In-process queues ran them on commit; with Redis the
    events are relayed and run here by a burst worker (a worker running alongside shares them)."""
    if queues_are_synchronous():
        relay_pending()  # anything recorded outside a transaction's commit
        return
    from rq import SimpleWorker

    queues = [get_queue(name) for name in QUEUE_NAMES]
    for _round in range(rounds):
        relayed = relay_pending()
        SimpleWorker(queues, connection=queues[0].connection).work(burst=True, with_scheduler=False)
        if not relayed and not Event.objects.filter(relayed_at=None).exists():
            return


# --- the entry point ----------------------------------------------------------------------------


def schemas_load() -> dict[str, Schema]:
    from forms_engine.models import FormPage

    slugs = [
        d.slug for d in (CHECKPOINT, HEALTH_DECLARATION, QUARANTINE_CHECKIN, TESTING, TRACING, VACCINATION)
    ]
    forms = {f.slug: f for f in FormPage.objects.live().filter(slug__in=slugs)}
    missing = set(slugs) - set(forms)
    if missing:
        raise LookupError(f"demo forms missing ({', '.join(sorted(missing))}): load the demo first")
    return {slug: Schema(form.current_version.schema) for slug, form in forms.items()}


def scenario_day(*, seed: int) -> date | None:
    """The day a first run fixed for this seed, from its first record, if stored."""
    today = timezone.localdate()
    villages = villages_load()
    probe = Scenario(seed=seed, people=1, today=today, villages=villages, schemas=schemas_load())
    first = probe.everyday().records[0]
    stored = (
        Submission.objects.filter(client_id=client_id_for(seed, first.name))
        .values_list("client_created_at", flat=True)
        .first()
    )
    if stored is None:
        return None
    return timezone.localtime(stored).date() + (today - first.at.date())


def demo_tracing_run(
    *,
    seed: int = DEFAULT_SEED,
    people: int = DEFAULT_PEOPLE,
    today: date | None = None,
    settle=outbox_settle,
    log=print,
) -> Outcome:
    """Generate the scenario and put it in; returns what was created, replayed and approved."""
    today = today or scenario_day(seed=seed) or timezone.localdate()
    scenario = Scenario(
        seed=seed,
        people=people,
        today=today,
        villages=villages_load(),
        schemas=schemas_load(),
        hot_origins=TracingSettings.load().hot_origin_values() or OUTBREAK_ORIGINS,
        facilities_of=order_facilities,
    )
    filer = Filer(seed=seed)
    for build in scenario.phases():
        started = clock.monotonic()
        phase = build()
        filer.file_all(phase.records)
        settle()
        log(f"{phase.name}: {len(phase.records)} records in {clock.monotonic() - started:.1f} s")
    return filer.outcome
