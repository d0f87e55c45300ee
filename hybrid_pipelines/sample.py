"""Writes the bundled sample inbox: English and French documents with personal data, labels,
every supported format and a few bad files, generated with Faker from a fixed seed."""

import csv
import json
import random
from email.message import EmailMessage
from pathlib import Path

from faker import Faker

ENGLISH_SENSITIVE = [
    "Hi, this is {name}. Please update my phone to {phone} and send the invoice to {email}.",
    "Patient {name}, born {date}, was admitted on {date2} with chest pain; contact {phone}.",
    "Employee {name} (SSN {ssn}) asked for a salary review; address: {address}.",
    "Refund card {card} for customer {name}, e-mail {email}.",
    "Wire the deposit to IBAN {iban} in the name of {name}.",
]
ENGLISH_PUBLIC = [
    "The quarterly maintenance window starts on Saturday at 22:00 for all regions.",
    "Our new product line ships with a two-year warranty and free returns.",
    "Reminder: the cafeteria will be closed for renovation next week.",
    "The release notes for version 4.2 list three performance fixes.",
    "Please use the shared printer on the third floor for large jobs.",
]
FRENCH_SENSITIVE = [
    "Mme {name}, née le {date}, a été hospitalisée à {city}. Tél : {phone}.",
    "Le patient {name} (NIR {nir}) est suivi pour une hypertension ; courriel {email}.",
    "Contrat de travail de {name}, domicilié {address}, IBAN {iban}.",
    "Compte rendu : M. {name} a consulté le {date2} ; rappeler au {phone}.",
]
FRENCH_PUBLIC = [
    "La réunion d'équipe est déplacée à jeudi matin en salle B.",
    "Le nouveau règlement intérieur entre en vigueur le mois prochain.",
    "Les résultats trimestriels seront présentés lors du comité de direction.",
    "Merci de vider le réfrigérateur de la cuisine avant vendredi.",
]


def _nir(rng: random.Random) -> str:
    body = (
        f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}"
        f"{rng.randint(1, 95):02d}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    )
    key = 97 - int(body) % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def _fill(template: str, fake: Faker, rng: random.Random) -> str:
    return template.format(
        name=fake.name(),
        phone=fake.phone_number(),
        email=fake.email(),
        date=fake.date_of_birth().strftime("%d/%m/%Y"),
        date2=fake.date_this_year().isoformat(),
        ssn=fake.ssn() if hasattr(fake, "ssn") else "",
        address=fake.address().replace("\n", ", "),
        card=fake.credit_card_number(),
        iban=fake.iban(),
        city=fake.city(),
        nir=_nir(rng),
    )


def write_sample_inbox(inbox: Path, seed: int = 42) -> dict[str, int]:
    """Create the sample inbox; returns how many documents and bad files it holds."""
    rng = random.Random(seed)
    english, french = Faker("en_US"), Faker("fr_FR")
    english.seed_instance(seed)
    french.seed_instance(seed)
    inbox.mkdir(parents=True, exist_ok=True)

    records = []
    for round_number in range(4):
        for template in ENGLISH_SENSITIVE:
            records.append((_fill(template, english, rng), True))
        for template in FRENCH_SENSITIVE:
            records.append((_fill(template, french, rng), True))
        for template in ENGLISH_PUBLIC + FRENCH_PUBLIC:
            records.append((f"{template} (ref. {round_number + 1})", False))
    rng.shuffle(records)

    jsonl_part, csv_part, text_part = records[:30], records[30:50], records[50:58]
    with open(inbox / "messages.jsonl", "w", encoding="utf-8") as handle:
        for text, label in jsonl_part:
            handle.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
    with open(inbox / "tickets.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket", "text", "label"])
        for number, (text, label) in enumerate(csv_part, start=1):
            writer.writerow([number, text, "sensitive" if label else "public"])
    for number, (text, _label) in enumerate(text_part, start=1):
        (inbox / f"note_{number:02d}.{'md' if number % 2 else 'txt'}").write_text(text + "\n")
    (inbox / "records.json").write_text(
        json.dumps(
            [{"full_text": text, "sensitive": label} for text, label in records[58:]],
            ensure_ascii=False,
            indent=1,
        )
    )

    message = EmailMessage()
    message["From"] = english.email()
    message["To"] = english.email()
    message["Subject"] = "Address change"
    message.set_content(_fill(ENGLISH_SENSITIVE[0], english, rng))
    (inbox / "address_change.eml").write_bytes(bytes(message))

    (inbox / "empty.txt").write_text("")
    (inbox / "scan.txt").write_bytes(b"\x00\x01PK\x03\x04binary")
    with open(inbox / "messages.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"text": "truncated record\n')

    return {"documents": len(records) + 1, "bad_files": 2, "bad_records": 1}
