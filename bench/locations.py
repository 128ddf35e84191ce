"""Production locations as garment brands write them, for measuring the register (services/
register): a labelled set of location pairs with realistic spelling variants, and registers of
any size.

Factories are made from the words of each sourcing country (a name, a legal form, a street, a
city); a company writes a factory in one of the ways brands do: legal form abbreviated or written
out or dropped, punctuation and case changed, words swapped, a typo, diacritics dropped, a
district or postcode added or left out, "No." before a plot number. Pairs that are NOT one place
are the hard ones: the same group's other unit ("Unit 1" / "Unit 2"), another factory of a similar
name in the same city, the same name in another city.

    python -m bench.locations --write   regenerates bench/data/location-pairs.csv (committed)
"""

import argparse
import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

PAIRS_FILE = Path(__file__).with_name("data") / "location-pairs.csv"
SEED = 20261204
COLUMNS = ("pair", "same", "kind", "country_a", "name_a", "address_a", "country_b", "name_b",
           "address_b")

COUNTRIES: dict[str, dict[str, list[str]]] = {
    "IN": {"first": ["Sri", "Shree", "Lakshmi", "Ganesh", "Saravana", "Royal", "Sun", "Star",
                     "Kumaran", "Velan", "Annai", "Bharath", "Siva", "Jaya", "Vijay", "KPR"],
           "trade": ["Garments", "Knits", "Exports", "Textiles", "Apparels", "Fashions",
                     "Clothing", "Knit Wear", "Processors", "Spinning Mills"],
           "form": ["Pvt. Ltd.", "Private Limited", "Ltd.", "LLP", ""],
           "street": ["Avinashi Road", "Palladam Road", "Kangeyam Road", "Perumanallur Road",
                      "SIDCO Industrial Estate", "Mangalam Road", "Gandhi Nagar"],
           "city": ["Tiruppur", "Coimbatore", "Bengaluru", "Noida", "Ludhiana", "Chennai"],
           "unit": ["Plot", "Door No.", "S.F. No.", "Survey No."]},
    "BD": {"first": ["Dhaka", "Padma", "Meghna", "Jamuna", "Rupa", "Sonar", "Fakir", "Hams",
                     "Ananta", "Square", "Envoy", "Mondol", "Akij", "Shanta", "Tusuka"],
           "trade": ["Apparels", "Knitting", "Fashions", "Garments", "Denims", "Knit Composite",
                     "Sweaters", "Textile Mills"],
           "form": ["Ltd.", "Limited", "(Pvt.) Ltd.", ""],
           "street": ["Tongi Industrial Area", "Kashimpur Road", "Ashulia Highway",
                      "BSCIC Industrial Estate", "Savar EPZ", "Konabari"],
           "city": ["Gazipur", "Dhaka", "Narayanganj", "Savar", "Chattogram"],
           "unit": ["Plot", "House", "Holding"]},
    "CN": {"first": ["Shaoxing", "Ningbo", "Jiangsu", "Zhejiang", "Hengli", "Youngor",
                     "Huafu", "Shenzhou", "Jinjiang", "Xiamen", "Dongguan", "Weiqiao"],
           "trade": ["Textile", "Garment", "Knitting", "Dyeing", "Apparel", "Printing & Dyeing",
                     "Clothing", "Fashion"],
           "form": ["Co., Ltd.", "Company Limited", "Co. Ltd", "Group Co., Ltd.", ""],
           "street": ["Keqiao Development Zone", "Binhai Industrial Park", "Renmin Road",
                      "Jiefang Road", "Zhongshan Road", "Huancheng North Road"],
           "city": ["Shaoxing", "Ningbo", "Suzhou", "Dongguan", "Guangzhou", "Quanzhou"],
           "unit": ["No.", "Building", "Room"]},
    "TR": {"first": ["Anadolu", "Ege", "Akdeniz", "Y\u0131lmaz", "Özdemir", "Çelik", "Başaran",
                     "Gökçe", "Karadeniz", "Şahin", "Ünlü", "Doğan"],
           "trade": ["Örme", "Tekstil", "Konfeksiyon", "Giyim", "Boya", "İplik"],
           "form": ["A.Ş.", "San. ve Tic. A.Ş.", "Sanayi ve Ticaret A.Ş.", "Ltd. Şti.", ""],
           "street": ["Organize Sanayi Bölgesi", "Atatürk Caddesi", "Cumhuriyet Mahallesi",
                      "Sanayi Sitesi", "İstiklal Caddesi"],
           "city": ["Denizli", "İstanbul", "Bursa", "Gaziantep", "İzmir", "Kahramanmaraş"],
           "unit": ["No", "Parsel", "Ada"]},
    "VN": {"first": ["Viet", "Saigon", "Hoa Binh", "Phong Phu", "Thanh Cong", "Nha Be",
                     "Hung Yen", "Song Hong", "Dong Nai", "Binh Duong", "Hanoi"],
           "trade": ["Garment", "Textile", "Fashion", "Knitting", "Apparel"],
           "form": ["Joint Stock Company", "JSC", "Co., Ltd", "Corporation", ""],
           "street": ["Tan Tao Industrial Park", "VSIP", "Song Than Industrial Zone",
                      "Nhon Trach Industrial Park", "Pho Noi A Industrial Park"],
           "city": ["Ho Chi Minh City", "Binh Duong", "Dong Nai", "Hung Yen", "Nam Dinh"],
           "unit": ["Lot", "Road", "No."]},
}


@dataclass(frozen=True)
class Factory:
    country: str
    name: str
    form: str
    unit_word: str
    number: int
    street: str
    city: str
    postcode: str

    def written(self) -> tuple[str, str]:
        name = f"{self.name} {self.form}".strip()
        return name, f"{self.unit_word} {self.number}, {self.street}, {self.city}"


def factory(rng: random.Random, country: str) -> Factory:
    words = COUNTRIES[country]
    name = f"{rng.choice(words['first'])} {rng.choice(words['trade'])}"
    return Factory(country, name, rng.choice(words["form"]), rng.choice(words["unit"]),
                   rng.randint(1, 480), rng.choice(words["street"]), rng.choice(words["city"]),
                   str(rng.randint(100000, 999999)))


FORMS = {"Pvt. Ltd.": ["Private Limited", "Pvt Ltd", "P. Ltd."], "Ltd.": ["Limited", "Ltd"],
         "Private Limited": ["Pvt. Ltd.", "Pvt Ltd"], "Limited": ["Ltd.", "Ltd"],
         "(Pvt.) Ltd.": ["Pvt Ltd", "Private Ltd"], "Co., Ltd.": ["Company Limited", "Co Ltd"],
         "Company Limited": ["Co., Ltd.", "Co. Ltd"], "Co. Ltd": ["Co., Ltd."],
         "Group Co., Ltd.": ["Group Company Limited"], "A.Ş.": ["AS", "A.S."],
         "San. ve Tic. A.Ş.": ["Sanayi ve Ticaret A.Ş.", "San. Tic. A.S."],
         "Sanayi ve Ticaret A.Ş.": ["San. ve Tic. A.Ş."], "Ltd. Şti.": ["Limited Şirketi"],
         "Joint Stock Company": ["JSC", "J.S.C."], "JSC": ["Joint Stock Company"],
         "Co., Ltd": ["Company Limited"], "Corporation": ["Corp."], "LLP": ["L.L.P."]}
ASCII = str.maketrans("ÖöÇçŞşĞğÜüİıÂâ", "OoCcSsGgUuIiAa")


def variant(rng: random.Random, f: Factory) -> tuple[str, str]:
    """How another brand writes the same factory: two to four of the usual differences."""
    name_words = f.name.split()
    form = f.form
    unit_word, number, street, city = f.unit_word, str(f.number), f.street, f.city
    extra = ""
    changes = rng.sample(["form", "case", "punct", "typo", "ascii", "postcode", "no",
                          "drop_form", "city", "swap", "district"], rng.randint(2, 4))
    for change in changes:
        if change == "form" and form in FORMS:
            form = rng.choice(FORMS[form])
        elif change == "drop_form":
            form = ""
        elif change == "typo" and len(name_words[-1]) > 4:
            w = name_words[-1]
            i = rng.randrange(1, len(w) - 1)
            name_words[-1] = w[:i] + w[i + 1:] if rng.random() < 0.5 else \
                w[:i] + w[i + 1] + w[i] + w[i + 2:]
        elif change == "postcode":
            extra = f" {f.postcode}"
        elif change == "no" and not unit_word.endswith("No.") and unit_word != "No":
            unit_word = f"{unit_word} No."
        elif change == "city":
            city = ""
        elif change == "swap" and "," not in street:
            street = street.replace("Road", "Rd").replace("Industrial", "Ind.")
        elif change == "district":
            extra += ", " + rng.choice(["Phase II", "Block B", "Zone 2 North", "Ward 7"])
    name = " ".join([*name_words, form]).strip()
    address = ", ".join(p for p in (f"{unit_word} {number}", street, city) if p) + extra
    if "case" in changes:
        name, address = name.upper(), address.upper()
    if "punct" in changes:
        name, address = name.replace(".", "").replace(",", ""), address.replace(",", " ")
    if "ascii" in changes:
        name, address = name.translate(ASCII), address.translate(ASCII)
    return name, address


def different(rng: random.Random, f: Factory) -> tuple[str, Factory]:
    """Another place that looks like `f`: the hard negatives."""
    kind = rng.choice(["other_unit", "similar_name", "same_name_elsewhere"])
    words = COUNTRIES[f.country]
    if kind == "other_unit":
        return kind, replace(f, name=f"{f.name} Unit {rng.randint(1, 3)}",
                             number=f.number + rng.randint(1, 40))
    if kind == "similar_name":
        trade = rng.choice([t for t in words["trade"] if t not in f.name])
        return kind, replace(f, name=f"{f.name.split()[0]} {trade}",
                             number=rng.randint(1, 480))
    city = rng.choice([c for c in words["city"] if c != f.city])
    return kind, replace(f, city=city, street=rng.choice(words["street"]),
                         number=rng.randint(1, 480))


def pairs(n: int, seed: int = SEED) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    for i in range(n):
        f = factory(rng, rng.choice(sorted(COUNTRIES)))
        name_a, address_a = f.written()
        if rng.random() < 0.5:
            same, kind = "1", "variant"
            name_b, address_b = variant(rng, f)
        else:
            same = "0"
            kind, g = different(rng, f)
            name_b, address_b = variant(rng, g) if rng.random() < 0.5 else g.written()
        if kind == "other_unit":  # the first is a unit too, of another number
            name_a = f"{f.name} Unit {rng.randint(4, 6)} {f.form}".strip()
        yield {"pair": str(i + 1), "same": same, "kind": kind, "country_a": f.country,
               "name_a": name_a, "address_a": address_a, "country_b": f.country,
               "name_b": name_b, "address_b": address_b}


def factories(n: int, seed: int = SEED) -> list[Factory]:
    rng = random.Random(seed)
    return [factory(rng, rng.choice(sorted(COUNTRIES))) for _ in range(n)]


def company_lists(companies: int, locations: int, pool: list[Factory], seed: int = SEED
                  ) -> list[list[dict[str, str]]]:
    """`companies` location lists holding `locations` listings in all, over the factories of
    `pool`, which several companies share (each listing written its company's way)."""
    rng = random.Random(seed)
    lists: list[list[dict[str, str]]] = [[] for _ in range(companies)]
    for n in range(locations):
        f = pool[n] if n < len(pool) else rng.choice(pool)
        name, address = f.written() if rng.random() < 0.6 else variant(rng, f)
        lists[n % companies].append({"country": f.country, "name": name, "address": address,
                                     "city": f.city})
    return lists


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"regenerate {PAIRS_FILE}")
    parser.add_argument("--pairs", type=int, default=2000)
    args = parser.parse_args()
    if args.write:
        PAIRS_FILE.parent.mkdir(exist_ok=True)
        with PAIRS_FILE.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(pairs(args.pairs))
        print(f"{args.pairs} pairs written to {PAIRS_FILE}")


if __name__ == "__main__":
    main()
