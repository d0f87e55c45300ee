"""Users' presidio faults from issue 4, each as a kind of fault with several instances."""

import pytest

from hybrid_pipelines.checksums import iban_valid, luhn_valid, nir_valid
from hybrid_pipelines.pii import Finding, PiiDetector, resolve_overlaps

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def detector() -> PiiDetector:
    return PiiDetector(languages=["en", "fr"])


def covering(findings: list[Finding], text: str, value: str) -> list[Finding]:
    start = text.index(value)
    end = start + len(value)
    return [item for item in findings if item.start <= start and item.end >= end]


def overlapping(findings: list[Finding], text: str, value: str) -> list[Finding]:
    start = text.index(value)
    end = start + len(value)
    return [item for item in findings if item.start < end and start < item.end]


def person_parts(text: str, span: str) -> list[Finding]:
    """What the French name trimming makes of a PERSON span found at `span` in `text`."""
    from hybrid_pipelines.pii import _french_name_parts

    start = text.index(span)
    return _french_name_parts(text, Finding(start, start + len(span), "PERSON", 0.9))


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("my name is Paul Martin and my phone is +351 912345678", "+351 912345678"),
        ("reach me on +44 20 7946 0958 after six", "+44 20 7946 0958"),
        ("Rückruf bitte unter +49 30 1234567.", "+49 30 1234567"),
        ("mon portable est le +33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("office: +1 (415) 555-0132", "+1 (415) 555-0132"),
        ("llámame al +34 612 345 678 mañana", "+34 612 345 678"),
    ],
)
def test_international_mobiles_are_phone_numbers_not_bank_accounts(detector, text, phone):
    findings = detector.detect(text, "en")

    assert [item.entity_type for item in covering(findings, text, phone)] == ["PHONE_NUMBER"]
    assert not [
        item
        for item in overlapping(findings, text, phone)
        if item.entity_type in {"IBAN_CODE", "US_BANK_NUMBER", "CREDIT_CARD"}
    ]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("call me at desk630-555-0147 today", "630-555-0147"),
        ("ring ext(212) 555-0199 now", "(212) 555-0199"),
        ("Tel:+44 20 7946 0958", "+44 20 7946 0958"),
        ("my mobile0612345678 is on", "0612345678"),
    ],
)
def test_phone_glued_to_a_word_is_still_a_phone(detector, text, phone):
    findings = detector.detect(text, "en")

    assert [item.entity_type for item in covering(findings, text, phone)] == ["PHONE_NUMBER"]


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("write to h.dupont@mailbox.org", "h.dupont@mailbox.org"),
        ("cc jane.doe+billing@example.co.uk please", "jane.doe+billing@example.co.uk"),
        ("contact: it-support@sub.domain.fr.", "it-support@sub.domain.fr"),
    ],
)
def test_email_is_one_span_without_an_overlapping_url(detector, text, email):
    findings = detector.detect(text, "en")

    hits = overlapping(findings, text, email)
    assert len(hits) == 1
    assert hits[0].entity_type == "EMAIL_ADDRESS"
    assert text[hits[0].start : hits[0].end] == email


@pytest.mark.parametrize(
    "text",
    [
        "alice@example.com bob@example.org carol@example.net",
        "alice@example.com, bob@example.org; carol@example.net",
        "From: alice@example.com To: bob@example.org Cc: carol@example.net",
    ],
)
def test_every_email_is_found(detector, text):
    findings = detector.detect(text, "en")

    for email in ("alice@example.com", "bob@example.org", "carol@example.net"):
        assert [item.entity_type for item in covering(findings, text, email)] == ["EMAIL_ADDRESS"]


@pytest.mark.parametrize(
    ("text", "iban"),
    [
        ("IBAN: AT611904300234573201", "AT611904300234573201"),
        ("pay to DE89370400440532013000 today", "DE89370400440532013000"),
        ("IBAN GB29 NWBK 6016 1331 9268 19", "GB29 NWBK 6016 1331 9268 19"),
        ("RIB : FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606"),
    ],
)
@pytest.mark.parametrize("language", ["en", "fr"])
def test_iban_is_an_iban_not_a_location(detector, text, iban, language):
    findings = detector.detect(text, language)

    assert [item.entity_type for item in covering(findings, text, iban)] == ["IBAN_CODE"]
    assert not [item for item in findings if item.entity_type == "LOCATION"]


@pytest.mark.parametrize(
    "text",
    [
        "ticket 6033391 closed at 08:51:06 by the batch",
        "job 4471 finished at 23:10 by cron",
        "order 88123 shipped at 07:45:00 by the warehouse",
        "Incident INC0042 escalated at 14h32 by the scheduler",
    ],
)
def test_times_and_ticket_numbers_are_not_people(detector, text):
    findings = detector.detect(text, "en")

    assert not [item for item in findings if item.entity_type == "PERSON"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Internes : JALONNET Christine (Interne)", "JALONNET Christine"),
        ("vu avec le Dr Catherine LEBAS ce jour", "Catherine LEBAS"),
        ("Tel : 01 42 16 00 00", "01 42 16 00 00"),
        ("Dr L. MARTEAU 01.42.16.40.10", "01.42.16.40.10"),
        ("joignable au 0618382522.", "0618382522"),
        ("né le vingt quatre août deux mille dix-sept", "vingt quatre août deux mille dix-sept"),
        ("47 boulevard de l'Hôpital, 75013 Paris", "75013"),
    ],
)
def test_french_clinical_identifiers(detector, text, value):
    findings = detector.detect(text, "fr")

    assert covering(findings, text, value) or overlapping(findings, text, value)


def _with_nir_key(body: str) -> str:
    return body + f"{97 - int(body) % 97:02d}"


@pytest.mark.parametrize(
    "spacing",
    [
        lambda nir: nir,
        lambda nir: " ".join(nir),
        lambda nir: (
            f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
        ),
        lambda nir: f"{nir[:7]} {nir[7:10]} {nir[10:13]}{nir[13:]}",
    ],
)
def test_french_nir_in_any_spacing(detector, spacing):
    nir = _with_nir_key("1850275123456")
    text = f"Numéro de sécurité sociale : {spacing(nir)} ."

    findings = detector.detect(text, "fr")

    assert covering(findings, text, spacing(nir))


def test_checksums():
    assert iban_valid("AT611904300234573201")
    assert not iban_valid("AT611904300234573202")
    assert luhn_valid("4111 1111 1111 1111")
    assert not luhn_valid("4111 1111 1111 1112")
    assert nir_valid(_with_nir_key("2840507152362"[:13]))
    assert not nir_valid("1850275123456" + "00")


def test_merge_keeps_the_best_type_over_the_union():
    findings = [Finding(0, 5, "PERSON", 0.6), Finding(3, 9, "IBAN_CODE", 1.0)]

    assert resolve_overlaps(findings, merge=True) == [Finding(0, 9, "IBAN_CODE", 1.0)]
    assert resolve_overlaps(findings) == [Finding(3, 9, "IBAN_CODE", 1.0)]


# ---------------------------------------------------------------- issue-4 follow-up kinds


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Tel : 0 4 - 1 8 - 2 7 - 3 6 - 5 9\nSuite", "0 4 - 1 8 - 2 7 - 3 6 - 5 9"),
        ("Secrétariat 0 3 . 2 2 . 4 7 . 8 1 . 9 0", "0 3 . 2 2 . 4 7 . 8 1 . 9 0"),
        ("Standard 0 6 4 2 1 7 5 3 8 9\n12-03-2020", "0 6 4 2 1 7 5 3 8 9"),
    ],
)
def test_french_phone_digit_by_digit(detector, text, phone):
    findings = detector.detect(text, "fr")

    assert covering(findings, text, phone)


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("How can we reach you? You can call 41 27 58", "41 27 58"),
        ("Nobody is answering at 84 306512", "84 306512"),
        ("my number is 7265 3391", "7265 3391"),
    ],
)
def test_short_phone_after_a_calling_word(detector, text, phone):
    findings = detector.detect(text, "en")

    assert [item.entity_type for item in covering(findings, text, phone)] == ["PHONE_NUMBER"]


@pytest.mark.parametrize(
    "text",
    [
        "(1)10:05 27 3841 562 18 204 315 27 604 11 3027 0415 22 61\n(1)10:15 ...",
        "Série 14 2861 377 45 901 662 08 513 2024 73 16 8830 5 12",
    ],
)
def test_rows_of_number_groups_are_not_phones_or_nir(detector, text):
    findings = detector.detect(text, "fr")

    assert not [item for item in findings if item.entity_type in {"PHONE_NUMBER", "FR_NIR"}]


@pytest.mark.parametrize(
    ("text", "nir"),
    [
        ("Né le 0 4 0 3 1 9 8 1 1 81 03 75 112 408 14/02/21", "1 81 03 75 112 408"),
        ("07-07-2010\n2 64 11 69 123 457\n1 2 0 7", "2 64 11 69 123 457"),
    ],
)
def test_nir_next_to_dates_is_found(detector, text, nir):
    findings = detector.detect(text, "fr")

    assert covering(findings, text, nir)


@pytest.mark.parametrize(
    ("text", "title", "name"),
    [
        ("Monsieur DURANTEL Gaspard\nTel 01 02 03 04 05", "Monsieur", "DURANTEL Gaspard"),
        ("Professeur VARNIER A.\n0534454345", "Professeur", "VARNIER A."),
        ("Interne Lucette MORVANIC\nSecrétariat 01-37-11-22-33", "Interne", "Lucette MORVANIC"),
        ("Dr Odile BRESSANGE (PH)\nTel : 05 12 71 16 24", "(PH)", "Odile BRESSANGE"),
    ],
)
def test_french_titles_and_roles_are_not_masked_with_the_name(detector, text, title, name):
    findings = detector.detect(text, "fr")

    assert overlapping(findings, text, name)
    assert not overlapping(findings, text, title)


@pytest.mark.parametrize(
    "word",
    ["Secrétariat", "Accueil", "IPP", "Équipe", "Échantillon", "Anormal", "Consultant"],
)
def test_french_clinical_words_are_not_names(detector, word):
    text = f"Compte rendu.\n{word} : voir plus bas."
    findings = detector.detect(text, "fr")

    assert not [
        item
        for item in overlapping(findings, text, word)
        if item.entity_type in {"PERSON", "LOCATION", "ORGANIZATION"}
    ]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("mr. quillfeather is a retired teacher", "mr. quillfeather"),
        ("As promised, here's zorbalin's address:", "zorbalin"),
        ('tomas: "who are you?"\nvelka:"i am fine"', "velka"),
        ("a short film starring ondrasek", "ondrasek"),
    ],
)
def test_english_names_in_context_any_case(detector, text, name):
    findings = detector.detect(text, "en")

    assert [item.entity_type for item in covering(findings, text, name)] == ["PERSON"]


@pytest.mark.parametrize(
    ("text", "org"),
    [
        ("the contract went to brambleworth llc last year", "brambleworth llc"),
        ("She spent a year at Quorvex as an intern.", "Quorvex"),
        ("The Hollinfield Mutual office is at 5 Main Road", "Hollinfield Mutual"),
    ],
)
def test_english_organisations_by_suffix_or_context(detector, text, org):
    findings = detector.detect(text, "en")

    assert covering(findings, text, org)


def test_common_nouns_before_possessive_are_not_names(detector):
    text = "In case of my child's account, we need a form."
    findings = detector.detect(text, "en")

    assert not overlapping(findings, text, "child")


@pytest.mark.parametrize(
    "template",
    [
        "N° sécu : {a} {b} {c} {d} {e} {f} {key}",
        "NIR {a}-{b}-{c}-{d}-{e}-{f}-{key}",
        "NSS: {a} {b} {c} {d} {e} {f} clé {key}",
        "Sécu {a}.{b}.{c}.{d}.{e}.{f}.{key}",
        "N°SS:{a}{b}{c}{d}{e}{f}{key}",
    ],
)
def test_nir_with_any_separator_or_a_labelled_key_is_a_nir(detector, template):
    for body in ("1850578006084", "2690375112233"):
        parts = dict(
            zip(
                "abcdef",
                (body[0], body[1:3], body[3:5], body[5:7], body[7:10], body[10:13]),
                strict=True,
            )
        )
        text = template.format(**parts, key=_with_nir_key(body)[13:])
        value = text.split(parts["a"], 1)[1]
        value = parts["a"] + value

        found = covering(detector.detect(text, "fr"), text, value)

        assert [item.entity_type for item in found] == ["FR_NIR"], text


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("Mail : jean.dupont@aphp,fr", "jean.dupont@aphp,fr"),
        ("Mail : jean.dupont@aphpfr", "jean.dupont@aphpfr"),
        ("contact jean.dupont(at)aphp.fr demain", "jean.dupont(at)aphp.fr"),
        ("write to j.smith [at] example.org today", "j.smith [at] example.org"),
        ("mail: tlabelle @ medimail . com", "tlabelle @ medimail . com"),
    ],
)
def test_emails_typed_with_a_slip_are_still_emails(detector, text, email):
    found = covering(detector.detect(text, "fr"), text, email)

    assert [item.entity_type for item in found] == ["EMAIL_ADDRESS"]


@pytest.mark.parametrize("text", ["RDV à 10h@domicile", "price 5@3 units"])
def test_an_at_sign_after_a_number_is_not_an_email(detector, text):
    findings = detector.detect(text, "fr")

    assert "EMAIL_ADDRESS" not in {item.entity_type for item in findings}


@pytest.mark.parametrize(
    ("text", "date", "outside"),
    [
        ("Suivi :\n10 - 04/05/2018 : bilan", "04/05/2018", "10 - "),
        ("Vu le 20 mai 2019 en consultation", "20 mai 2019", "le "),
        ("Examens :\n3 - 12/11/2021 scanner", "12/11/2021", "3 - "),
    ],
)
def test_french_dates_exclude_item_numbers_and_articles(detector, text, date, outside):
    findings = detector.detect(text, "fr")

    assert covering(findings, text, date)
    assert not overlapping(findings, text, outside)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient : M. Daniel Moreno, né le 3 mars.", "Daniel Moreno"),
        ("Adressé par le Dr.Fromentin pour avis", "Fromentin"),
    ],
)
def test_a_title_before_a_name_is_not_masked(detector, text, name):
    findings = detector.detect(text, "fr")

    assert all(covering(findings, text, word) for word in name.split())
    title_end = text.index(name) - 1
    assert not any(item.start < title_end for item in findings if item.end > title_end - 2)


@pytest.mark.parametrize(
    ("text", "span", "name"),
    [
        ("CC : Déo François sont venus hier", "Déo François sont", "Déo François"),
        ("Vu pour Marie Dupont avec sa fille", "pour Marie Dupont avec", "Marie Dupont"),
        ("Adressé à Jean Le Gall", "Jean Le Gall", "Jean Le Gall"),
    ],
)
def test_lowercase_function_words_are_trimmed_from_french_names(text, span, name):
    parts = person_parts(text, span)

    assert text[parts[0].start : parts[-1].end] == name


@pytest.mark.parametrize(
    ("span", "parts"),
    [
        ("SOLLIVA Jean Pierre", ["SOLLIVA", "Jean", "Pierre"]),
        ("Petit-Clerc Marguerite", ["Petit-Clerc", "Marguerite"]),
        ("Jean de la Fontaine", ["Jean", "de la Fontaine"]),
        ("E.J. Jouan", ["E.J.", "Jouan"]),
        ("M. Rolande Beuvain", ["Rolande", "Beuvain"]),
    ],
)
def test_french_names_come_out_one_part_per_word(span, parts):
    text = f"Vu ce jour {span}, revu demain."
    found = person_parts(text, span)

    assert [text[part.start : part.end] for part in found] == parts
    assert {part.entity_type for part in found} == {"PERSON"}


@pytest.mark.parametrize(
    ("text", "span", "parts"),
    [
        ("Avis du Dr M. FROMONT demain", "M. FROMONT", ["M.", "FROMONT"]),
        ("Avis du Pr. M. Chene demain", "M. Chene", ["M.", "Chene"]),
        ("Avis de M. Paul FROMONT demain", "M. Paul FROMONT", ["Paul", "FROMONT"]),
        ("Avis de M. FROMONT demain", "M. FROMONT", ["M.", "FROMONT"]),
        ("Patiente : M. DAUBERT Anne", "M. DAUBERT Anne", ["M.", "DAUBERT", "Anne"]),
        ("Avis de M. M. Dupont demain", "M. Dupont", ["M.", "Dupont"]),
    ],
)
def test_m_dot_is_monsieur_only_before_a_full_name(text, span, parts):
    found = person_parts(text, span)

    assert [text[part.start : part.end] for part in found] == parts


@pytest.mark.parametrize(
    ("text", "public", "personal"),
    [
        (
            "En application de la Loi du 18 août 2013, patient né le 3 juin 1950.",
            "18 août 2013",
            "3 juin 1950",
        ),
        (
            "Décret n°2013-1066 du 3 juin 2013. IPP 40012345.",
            "2013-1066",
            "40012345",
        ),
        ("N° FINESS\n750712184\nIPP : 80012345", "750712184", "80012345"),
    ],
)
def test_legal_texts_and_establishment_numbers_identify_no_one(detector, text, public, personal):
    findings = detector.detect(text, "fr")

    assert not overlapping(findings, text, public)
    assert covering(findings, text, personal)


@pytest.mark.parametrize(
    ("text", "personal"),
    [
        ("Anticoagulant arrêté du 3 mars 2024, repris ensuite.", "3 mars 2024"),
        ("Préviscan arrêté du 10/03/2024 avant la coloscopie.", "10/03/2024"),
        ("Règlement du 15/03/2024 par carte bancaire.", "15/03/2024"),
        ("SDRE : arrêté n° 2024-0312 du 12/03/2024.", "2024-0312"),
        ("SDRE : arrêté n° 2024-0312 du 12/03/2024.", "12/03/2024"),
        ("Directive anticipée du 02/02/2023 signée.", "02/02/2023"),
        ("FINESS : 0612345678", "0612345678"),
        ("Loi n° 80012345", "80012345"),
    ],
)
def test_words_that_only_look_like_a_legal_reference_keep_the_data_masked(detector, text, personal):
    findings = detector.detect(text, "fr")

    assert covering(findings, text, personal)


def test_public_references_are_a_french_rule_only(detector):
    text = "see the advance directive no 555-123-4567 for details"

    assert covering(detector.detect(text, "en"), text, "555-123-4567")


def test_numbers_in_a_measurement_grid_are_not_identifiers(detector):
    grid = (
        "(1)15:01 2 93 2930 293 29 293 029 931 9329 920 92 12 32\n"
        "(1)16:01 38 1930 193 20 1930 193 20 1930 193 20 193 31"
    )
    phones = "Tél 01 45 67 89 10 / 06 12 34 56 78"
    vitals = "12/03/2021 14:30 37 120 80 98 12 13 14"
    text = f"Surveillance\n{grid}\n{phones}\n2 8 7 1 1 3 2 8 3 2 0 5 6 12\n{vitals}"
    findings = detector.detect(text, "fr")

    assert not overlapping(findings, text, grid)
    assert covering(findings, text, "01 45 67 89 10")
    assert covering(findings, text, "06 12 34 56 78")
    assert covering(findings, text, "2 8 7 1 1 3 2 8 3 2 0 5 6 12")
    assert covering(findings, text, "12/03/2021")


@pytest.mark.parametrize(
    "text",
    [
        "IPP;Tel;Age;Poids;Taille;PAS;PAD;FC;SpO2;Temp;Glyc\n"
        "80012345;0612345678;45;72;175;120;80;72;98;37;105\n",
        "Constantes\n06 12 34 56 78 ; 75013 ; 45 ; 72 ; 175 ; 120 ; 80 ; 72 ; 37\n",
        "Né en\n1985 72 175 120 80 72 37 98 1\n",
        "(1)15:01 2 93 2930 293 29 293 0612345678 920 92 12 32\n"
        "(1)16:01 38 1930 193 20 1930 193 20 1930 193 20 193 31",
    ],
)
def test_identifiers_in_exports_and_single_rows_of_numbers_stay_masked(detector, text):
    findings = detector.detect(text, "fr")
    identifiers = [value for value in ("80012345", "0612345678", "06 12 34 56 78", "1985")]

    for value in identifiers:
        if value in text:
            assert covering(findings, text, value), value


@pytest.mark.parametrize("relative", ["Père", "Mère", "Epoux", "Fille"])
def test_family_roles_are_not_masked_with_the_name(detector, relative):
    text = f"Personne à prévenir\n{relative} : RHARDA Lahsen 06 79 12 58 44"
    findings = detector.detect(text, "fr")

    assert overlapping(findings, text, "RHARDA")
    assert not overlapping(findings, text, relative)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Mme Frère, 82 ans, hospitalisée.", "Frère"),
        ("Patiente : Marie Frère", "Frère"),
        ("Monsieur FRERE revu ce jour", "FRERE"),
    ],
)
def test_family_words_that_are_surnames_stay_names(detector, text, name):
    findings = detector.detect(text, "fr")

    assert covering(findings, text, name)


@pytest.mark.parametrize(
    ("span", "parts"),
    [
        ("père J.G HODGE", ["J.G", "HODGE"]),
        ("Dupont née Frère", ["Dupont", "Frère"]),
        ("Jean et Marie Dupont", ["Jean", "Marie", "Dupont"]),
        ("Anne Le Gall", ["Anne", "Le Gall"]),
    ],
)
def test_non_name_words_inside_a_french_name_are_left_out(span, parts):
    text = f"Contact : {span} ce jour"
    found = person_parts(text, span)

    assert [text[part.start : part.end] for part in found] == parts


def test_a_lone_surrogate_neither_crashes_detection_nor_moves_offsets(detector):
    text = "Mme \ud800ZQXSUR, tel 06 12 34 56 78"
    findings = detector.detect(text, "fr")

    assert covering(findings, text, "06 12 34 56 78")
