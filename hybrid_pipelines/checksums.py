"""Checksums and shapes of identifiers, shared by the recognizers and the egress gate."""

import re


def digits_of(value: str) -> str:
    return "".join(character for character in value if character.isdigit())


def luhn_valid(number: str) -> bool:
    """Luhn check on the digits of `number` (card numbers, SIREN, SIRET)."""
    digits = digits_of(number)
    if not digits:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban_valid(value: str) -> bool:
    """Country length and the ISO 13616 mod-97 check."""
    compact = re.sub(r"[\s.-]", "", value).upper()
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(character, 36)) for character in rearranged)
    return int(numeric) % 97 == 1


# Separators and a labelled key ("clé 36") are not part of the number.
NIR_NOISE = re.compile(r"[\s.:-]|cl[ée]", re.IGNORECASE)


def nir_valid(value: str, *, require_key: bool = False) -> bool:
    """French NIR: sex, month and department plausible; the key when there is one (or
    always, with `require_key`)."""
    compact = NIR_NOISE.sub("", value).upper()
    if len(compact) not in (13, 15) or compact[0] not in "123478":
        return False
    month = int(compact[3:5]) if compact[3:5].isdigit() else -1
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    body = compact[:13].replace("2A", "19").replace("2B", "18")
    if not body.isdigit():
        return False
    if len(compact) == 13:
        return not require_key
    return compact[13:].isdigit() and 97 - int(body) % 97 == int(compact[13:])


def nir_shaped(value: str) -> bool:
    """13 or 15 characters that start like a NIR (sex digit then birth year and month)."""
    compact = NIR_NOISE.sub("", value).upper()
    if len(compact) not in (13, 15) or compact[0] not in "12":
        return False
    month = compact[3:5]
    return month.isdigit() and (1 <= int(month) <= 12 or 20 <= int(month) <= 99)


def phone_shaped(value: str) -> bool:
    """7 to 15 digits and not a date such as 12-11-1970 or 2019-03-01."""
    digits = digits_of(value)
    if not 7 <= len(digits) <= 15:
        return False
    return not DATE_SHAPE.fullmatch(value.strip())


def card_valid(value: str) -> bool:
    digits = digits_of(value)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def siret_valid(value: str) -> bool:
    digits = digits_of(value)
    return len(digits) in (9, 14) and luhn_valid(digits) and len(set(digits)) > 2


def ipv4_valid(value: str) -> bool:
    return all(0 <= int(part) <= 255 for part in value.split("."))


DATE_SHAPE = re.compile(
    r"(?:\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)\d\d|(?:19|20)\d\d[-/.]\d{1,2}[-/.]\d{1,2})"
)
