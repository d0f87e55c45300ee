"""Rule recognizers added to presidio's defaults: compiled patterns with checksums and context.

One `RuleRecognizer` per language runs every pattern in a single pass over the text, so the
added cost is a handful of compiled regex scans per text, not one presidio recognizer each.
"""

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from hybrid_pipelines.checksums import (
    DATE_SHAPE,
    card_valid,
    digits_of,
    iban_valid,
    ipv4_valid,
    nir_shaped,
    nir_valid,
    phone_shaped,
    siret_valid,
)

logger = logging.getLogger(__name__)

CONTEXT_WINDOW = 48


@dataclass(frozen=True)
class Rule:
    """One pattern: the entity it finds, its score, and optional checks.

    `group` picks the part of the match that is the entity. `validator` gets the matched
    value and may reject it. With `context`, the rule scores `context_score` when the
    context pattern occurs just before the match, and is dropped there when
    `context_required` and the context is absent.
    """

    entity: str
    regex: re.Pattern
    score: float
    group: int | str = 0
    validator: Callable[[str], bool] | None = None
    context: re.Pattern | None = None
    context_required: bool = False
    context_score: float = 0.85
    isolated: bool = False


# A value inside a row of number groups ("13:42 93 2930 293 39 102 ...") is a table cell.
DIGIT_BEFORE = re.compile(r"(?<![\w/.:-])\d{2,}[ \t]{1,3}$")
DIGIT_AFTER = re.compile(r"[ \t]{1,3}\d{2,}(?![\w/.:-])")


class RuleRecognizer(EntityRecognizer):
    """Runs a list of compiled `Rule`s over the text; no NLP artifacts needed."""

    def __init__(self, rules: Sequence[Rule], language: str, name: str) -> None:
        self.rules = tuple(rules)
        entities = sorted({rule.entity for rule in self.rules})
        super().__init__(supported_entities=entities, supported_language=language, name=name)

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list:
        wanted = set(entities) if entities else None
        metadata = {
            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
        }
        results = []
        for rule in self.rules:
            if wanted is not None and rule.entity not in wanted:
                continue
            for match in rule.regex.finditer(text):
                start, end = match.span(rule.group)
                if start < 0 or start == end:
                    continue
                value = text[start:end]
                if rule.isolated and (
                    DIGIT_BEFORE.search(text[max(0, start - 24) : start])
                    or DIGIT_AFTER.match(text, end)
                ):
                    continue
                if rule.validator is not None and not rule.validator(value):
                    continue
                score = rule.score
                if rule.context is not None:
                    window = text[max(0, start - CONTEXT_WINDOW) : start]
                    if rule.context.search(window):
                        score = max(score, rule.context_score)
                    elif rule.context_required:
                        continue
                results.append(
                    RecognizerResult(rule.entity, start, end, score, recognition_metadata=metadata)
                )
        return results


# ---------------------------------------------------------------- shared vocabulary

COUNTRIES = (
    "Afghanistan|Albania|Algeria|Andorra|Angola|Anguilla|Antarctica|Antigua and Barbuda|"
    "Argentina|Armenia|Aruba|Australia|Austria|Azerbaijan|Bahamas|Bahrain|Bangladesh|Barbados|"
    "Belarus|Belgium|Belize|Benin|Bermuda|Bhutan|Bolivia|Bosnia and Herzegovina|Botswana|"
    "Bouvet Island|Brazil|Brunei Darussalam|Brunei|Bulgaria|Burkina Faso|Burundi|Cambodia|"
    "Cameroon|Canada|Cape Verde|Cabo Verde|Cayman Islands|Central African Republic|Chad|Chile|"
    "China|Christmas Island|Cocos Islands|Colombia|Comoros|Congo|Cook Islands|Costa Rica|"
    "Cote d'Ivoire|Côte d'Ivoire|Ivory Coast|Croatia|Cuba|Curacao|Cyprus|Czech Republic|Czechia|"
    "Denmark|Djibouti|Dominica|Dominican Republic|Ecuador|Egypt|El Salvador|Equatorial Guinea|"
    "Eritrea|Estonia|Eswatini|Ethiopia|Falkland Islands|Faroe Islands|Fiji|Finland|France|"
    "French Guiana|French Polynesia|French Southern Territories|Gabon|Gambia|Georgia|Germany|"
    "Ghana|Gibraltar|Greece|Greenland|Grenada|Guadeloupe|Guam|Guatemala|Guernsey|Guinea-Bissau|"
    "Guinea|Guyana|Haiti|Holy See|Honduras|Hong Kong|Hungary|Iceland|India|Indonesia|Iran|Iraq|"
    "Ireland|Isle of Man|Israel|Italy|Jamaica|Japan|Jersey|Jordan|Kazakhstan|Kenya|Kiribati|"
    "North Korea|South Korea|Korea|Kosovo|Kuwait|Kyrgyz Republic|Kyrgyzstan|Lao People's "
    "Democratic Republic|Laos|Latvia|Lebanon|Lesotho|Liberia|Libyan Arab Jamahiriya|Libya|"
    "Liechtenstein|Lithuania|Luxembourg|Macao|Macau|North Macedonia|Macedonia|Madagascar|Malawi|"
    "Malaysia|Maldives|Mali|Malta|Marshall Islands|Martinique|Mauritania|Mauritius|Mayotte|"
    "Mexico|Micronesia|Moldova|Monaco|Mongolia|Montenegro|Montserrat|Morocco|Mozambique|Myanmar|"
    "Namibia|Nauru|Nepal|Netherlands Antilles|Netherlands|New Caledonia|New Zealand|Nicaragua|"
    "Nigeria|Niger|Niue|Norfolk Island|Northern Mariana Islands|Norway|Oman|Pakistan|Palau|"
    "Palestinian Territory|Palestine|Panama|Papua New Guinea|Paraguay|Peru|Philippines|Pitcairn "
    "Islands|Pitcairn|Poland|Portugal|Puerto Rico|Qatar|Reunion|Réunion|Romania|Russian "
    "Federation|Russia|Rwanda|Saint Barthelemy|Saint Helena|Saint Kitts and Nevis|Saint Lucia|"
    "Saint Martin|Saint Pierre and Miquelon|Saint Vincent and the Grenadines|Samoa|San Marino|"
    "Sao Tome and Principe|São Tomé and Príncipe|Saudi Arabia|Senegal|Serbia|Seychelles|"
    "Sierra Leone|Singapore|Slovakia|Slovakia \\(Slovak Republic\\)|Slovenia|Solomon Islands|"
    "Somalia|South Africa|South Georgia and the South Sandwich Islands|South Sudan|Spain|"
    "Sri Lanka|Sudan|Suriname|Svalbard & Jan Mayen Islands|Svalbard|Swaziland|Sweden|"
    "Switzerland|Syrian Arab Republic|Syria|Taiwan|Tajikistan|Tanzania|Thailand|Timor-Leste|"
    "Togo|Tokelau|Tonga|Trinidad and Tobago|Tunisia|Turkey|Türkiye|Turkmenistan|Turks and "
    "Caicos Islands|Tuvalu|Uganda|Ukraine|United Arab Emirates|United Kingdom|United States of "
    "America|United States Minor Outlying Islands|United States Virgin Islands|United States|"
    "Uruguay|Uzbekistan|Vanuatu|Venezuela|Vietnam|Viet Nam|British Virgin Islands|Virgin Islands|"
    "Wallis and Futuna|Western Sahara|Yemen|Zambia|Zimbabwe|England|Scotland|Wales|"
    "Northern Ireland|Great Britain|USA|U\\.S\\.A\\.|UK|"
    "Allemagne|Angleterre|Autriche|Belgique|Brésil|Chine|Espagne|États-Unis|Etats-Unis|Grèce|"
    "Hongrie|Irlande|Italie|Japon|Maroc|Algérie|Tunisie|Pays-Bas|Pologne|Roumanie|Russie|"
    "Suède|Suisse|Turquie|Sénégal|Côte d'Ivoire|Guyane|Martinique|Guadeloupe|Corse"
)

US_STATES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|"
    "Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|"
    "Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|"
    "New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|"
    "Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|"
    "Washington|West Virginia|Wisconsin|Wyoming"
)

# A name-like word: capitalised or upper case, letters with inner hyphens or apostrophes.
UPPER = "A-ZÀ-ÖØ-ÞŁŚŽČŠĆŘŐŰ"
LOWER = "a-zß-öø-ÿłśžčšćřőűğıęąńėůž"
CAP_WORD = rf"[{UPPER}][{LOWER}]+(?:[-'’][{UPPER}]?[{LOWER}]+)*"
UPPER_WORD = rf"[{UPPER}]{{2,}}(?:[-'’][{UPPER}]{{2,}})*"
# An upper-case word that can be a name: three letters or more with a vowel, or a particle.
UPPER_NAME = (
    rf"(?:(?=[{UPPER}]*[AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜ])[{UPPER}]{{3,}}(?:[-'’][{UPPER}]{{2,}})*"
    rf"|(?:LE|LA|DE|DU|DA|DI|AL|EL|VAN|VON|MC)(?=[ \t][{UPPER}]{{3,}}))"
)
NAME_WORD = rf"(?:{CAP_WORD}|{UPPER_WORD})"
INITIAL = rf"[{UPPER}](?:-[{UPPER}])?\."

IGNORE = re.IGNORECASE
M = re.MULTILINE


def _compile(pattern: str, flags: int = 0) -> re.Pattern:
    return re.compile(pattern, flags)


# ---------------------------------------------------------------- rules for every language


def common_rules() -> list[Rule]:
    """Identifiers whose format does not depend on the language of the text."""
    email = r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"
    spaced_email = r"[\w.+-]+ ?@ ?[\w-]+(?: ?\. ?[\w-]+)*(?: ?\. ?[A-Za-z]{2,})"
    return [
        Rule("EMAIL_ADDRESS", _compile(email), 1.0),
        Rule("EMAIL_ADDRESS", _compile(rf"(?<![\w@])(?={spaced_email})(?:{spaced_email})"), 0.8),
        # Typed or scanned with a slip: "x@host,fr", "x@hostfr", "x (at) host.fr".
        Rule(
            "EMAIL_ADDRESS",
            _compile(
                r"(?<![\w@.+-])[^\W\d_][\w.+-]* ?(?:@|\((?:at|@)\)|\[(?:at|@)\]) ?[\w-]+"
                # a comma stands for a dot only when glued: "host,fr", never "host, then"
                r"(?:(?: ?\. ?|,)[\w-]+)*",
                IGNORE,
            ),
            0.7,
        ),
        Rule(
            "IBAN_CODE",
            _compile(r"\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?\b", IGNORE),
            1.0,
            validator=iban_valid,
        ),
        Rule(
            "CREDIT_CARD",
            _compile(r"(?<![\d-])(?:\d{4}[ -]?){3}\d{1,7}(?![\d-])|(?<!\d)\d{4}[ -]\d{6}[ -]\d{5}"),
            1.0,
            validator=card_valid,
        ),
        Rule(
            "IP_ADDRESS",
            _compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"),
            0.9,
            validator=ipv4_valid,
        ),
        Rule(
            "IP_ADDRESS",
            _compile(r"(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}(?::|[0-9a-f]{1,4})(?![\w:])", IGNORE),
            0.7,
            validator=lambda value: value.count(":") >= 3 or "::" in value,
        ),
        # International numbers: +CC then groups; a word glued before is allowed.
        Rule(
            "PHONE_NUMBER",
            _compile(
                r"(?<![\d+])(?:\+|00)[1-9]\d{0,2}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?"
                r"\d{1,5}(?:[\s.-]?\d{1,5}){1,5}(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?!\d)"
            ),
            0.9,
            validator=phone_shaped,
        ),
        # Grouped numbers with separators, optionally an area code in brackets or an extension.
        Rule(
            "PHONE_NUMBER",
            _compile(
                r"(?<![\d+/.:-])(?:\(\d{1,4}\)[ \t.-]?|\d{1,4}[ \t.-])\d{2,5}"
                r"(?:[ \t.-]\d{2,5}){0,4}"
                r"(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?![\d/:]|[.-]\d)"
            ),
            0.55,
            validator=phone_shaped,
            isolated=True,
            context=_compile(
                r"(?:phone|call|mobile|cell|tel|fax|office|contact|reach|number|dial|text|"
                r"whatsapp|sms|téléphone|joignable|portable|numéro)\W{0,5}(?:\w+\W+){0,4}$",
                IGNORE,
            ),
            context_score=0.8,
        ),
        # North American numbers, also glued to a word before: desk630-555-0147.
        Rule(
            "PHONE_NUMBER",
            _compile(
                r"(?<![\d+])(?:1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
                r"(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?!\d)"
            ),
            0.7,
        ),
        # Digits only, 10 to 13 long, with a phone word before.
        Rule(
            "PHONE_NUMBER",
            _compile(r"(?<![\d+])\d{10,13}(?!\d)"),
            0.3,
            context=_compile(
                r"(?:phone|call|mobile|cell|tel|fax|contact|reach|téléphone|joignable|portable)"
                r"\W{0,5}(?:\w+\W+){0,4}$",
                IGNORE,
            ),
            context_required=True,
            context_score=0.75,
        ),
        Rule(
            "US_SSN",
            _compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ]?)(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])"),
            0.4,
            context=_compile(
                r"(?:ssn|social security|social|security number)\W*(?:\w+\W+){0,3}$", IGNORE
            ),
            context_score=0.9,
        ),
        Rule(
            "US_DRIVER_LICENSE",
            _compile(r"\b(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{4,16}[A-Z0-9]\b", IGNORE),
            0.2,
            context=_compile(
                r"(?:driver'?s?|driving)\W+(?:license|licence|permit)\W+(?:(?:number|no|#|is|id)"
                r"\W+){0,3}$|\b(?:DL|license|licence)\s*(?:number|no|#)?\s*[:#]?\s*$",
                IGNORE,
            ),
            context_required=True,
            context_score=0.85,
        ),
        Rule(
            "DOMAIN_NAME",
            _compile(
                r"(?<![\w@.-])(?:https?://)?(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*"
                r"\.(?:com|org|net|edu|gov|io|info|biz|fr|de|uk|co|eu|nl|be|ch|es|it|ru|pt|ai|app"
                r"|dev|me|us|ca|au)\b(?:/[\w./?=&%-]*)?(?![\w@])",
                IGNORE,
            ),
            0.6,
        ),
        # A title before a person's name: Mr John Smith, Dr. J. Martin, Mme DUPONT.
        Rule(
            "PERSON",
            _compile(
                rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Drs|Prof|Pr|Sir|Dame|Mme|Mlle|Mmes|Me|M|Docteur|"
                rf"Doctor|Professeur|Professor|Monsieur|Madame|Mademoiselle)\.?[ \t]+"
                rf"((?:(?:{INITIAL}|[{UPPER}]\b)[ \t]?){{0,2}}(?:(?:de|van|von|der|den|du|da|le|la)"
                rf"[ \t])?{NAME_WORD}(?:(?:[ \t]+|-)(?:(?:de|van|von|der|den|du|da)[ \t])?"
                rf"{NAME_WORD}){{0,2}})"
            ),
            0.8,
            group=1,
            validator=lambda value: not TITLE_THEN_COMMON.match(value),
        ),
    ]


TITLE_THEN_COMMON = re.compile(
    r"^(?:le|la|les|un|une|des|the|and|et|ou|or|Président|President)\b", IGNORE
)


# ---------------------------------------------------------------- English


def english_rules() -> list[Rule]:
    street_types = (
        r"Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|"
        r"Square|Sq|Terrace|Way|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Trail|Crescent|Close|Row|"
        r"Alley|Plaza|Gardens|Grove|Hill|Park|Walk|Mews|Green|Estates|Heights|Turnpike|Pike|"
        r"Loop|Path|Ridge|View|Crossing|Expressway|Freeway|Str|Rue|Via|Calle|Strasse|Straße|"
        r"straat|laan|weg|gasse|vej|vegen|gatan|gata|gade|tie|katu|utca|ulica|ul"
    )
    unit = UNIT
    return [
        # Number, street words, number: "19 pierre delannoyplaats 211", "56 ul. Karpacka 69".
        Rule(
            "ADDRESS",
            _compile(
                rf"(?<![\w.,-])\d{{1,5}}[A-Z]?(?:\s\d{{1,5}})?\s(?:[^\W\d_][\w.'’-]*\s){{1,5}}"
                rf"\d{{1,5}}[A-Z]?\b(?:,?\s*{unit})?",
                IGNORE,
            ),
            0.6,
            validator=lambda value: not NUMBER_PHRASE.search(value),
        ),
        # Number then words ending in a street type: "15 Millicent Drive".
        Rule(
            "ADDRESS",
            _compile(
                rf"(?<![\w.,-])\d{{1,5}}[A-Z]?(?:\s\d{{1,5}})?\s(?:[^\W\d_][\w.'’-]*\s){{0,4}}"
                rf"(?:{street_types})\.?(?![\w])(?:,?\s*{unit})?",
                IGNORE,
            ),
            0.7,
        ),
        # A capitalised street name without a number: "Almeida Street".
        Rule(
            "ADDRESS",
            _compile(
                rf"\b{CAP_WORD}(?:\s{CAP_WORD}){{0,2}}\s(?:Street|Road|Avenue|Boulevard|Lane|"
                rf"Drive|Square|Terrace|Parkway|Highway)\b"
            ),
            0.6,
        ),
        Rule("ADDRESS", _compile(rf"\b{UNIT}", IGNORE), 0.6),
        Rule("ADDRESS", _compile(r"\bP\.?\s?O\.?\s?Box\s+\d+", IGNORE), 0.8),
        Rule("ADDRESS", _compile(r"\b(?:PSC|Unit)\s\d{3,5},?\sBox\s\d{3,5}", IGNORE), 0.8),
        Rule("ADDRESS", _compile(r"\b(?:USNS|USNV|USS|USCGC)\s[A-Z][a-z]+"), 0.8),
        Rule("ADDRESS", _compile(r"\b(?:FPO|APO|DPO)\s(?:AA|AE|AP)\s\d{5}\b"), 0.8),
        Rule("ADDRESS", _compile(r"\bthe corner of [^\n,.]{3,60}", IGNORE), 0.6),
        # "City, ST 12345" and a country followed by a postal code at the end of a line.
        Rule("ADDRESS", _compile(rf"\b{CAP_WORD},?\s[A-Z]{{2}}\s\d{{5}}(?:-\d{{4}})?\b"), 0.7),
        Rule(
            "LOCATION",
            _compile(rf"(?<![\w-])(?:{COUNTRIES})(?:\s\d{{4,6}})?(?![\w-])", IGNORE),
            0.6,
            validator=lambda value: not value.isupper() or len(value) > 3 or value in COUNTRY_CODES,
        ),
        Rule("LOCATION", _compile(rf"\b(?:{US_STATES})\b"), 0.6),
        # A postal code alone at the end of an address line.
        Rule("ADDRESS", _compile(r"(?<=[^\W\d_])[,\s]+\d{5}(?:-\d{4})?[ \t]*$", M), 0.55),
        # Names given in a sentence: "my name is roberto yamamura", "call me philipp".
        Rule(
            "PERSON",
            _compile(
                rf"\b(?:my name is|name is|call me|under (?:my \w+'s )?name|name:|named|"
                rf"called|signed by|contact person:?|people call me)\s+({LOOSE_NAME})",
                IGNORE,
            ),
            0.7,
            group=1,
        ),
        Rule(
            "PERSON",
            _compile(
                rf"\b(?:I am|I'm|[Tt]his is|[Ss]aid|[Ss]ays|[Aa]sked|[Bb]y|[Tt]o|[Ww]ith|[Tt]ell|"
                rf"[Gg]iven|[Mm]eet|[Ff]rom|[Hh]i|[Hh]ello|[Dd]ear)\s+({CAP_WORD}(?:\s(?:(?:de|van|"
                rf"von|der|den|da|del|di|le|la)\s)*{CAP_WORD}){{0,2}})(?=\s*(?:[,.!?;:)]|\s(?:is|"
                rf"was|his|her|and|will|has|had|said|says|from|about|the)\b|$))",
                M,
            ),
            0.55,
            group=1,
            validator=_not_english_word,
        ),
        # A capitalised name opening a sentence before a verb: "Marek is from Gallup".
        Rule(
            "PERSON",
            _compile(
                rf"(?:^|(?<=[.!?]\s))[>\s]*({CAP_WORD}(?:\s(?:(?:de|van|von|der|den|da)\s)*"
                rf"{CAP_WORD}){{0,2}})(?=,?\s(?:is|was|will|has|had|shouted|said|says|can|"
                rf"spent|lives|works|wrote|told|asked|became|joined)\b)",
                M,
            ),
            0.55,
            group=1,
            validator=_not_english_word,
        ),
        # Places given in a sentence: "grew up in lubbeek", "home city ROSSÖN".
        Rule(
            "LOCATION",
            _compile(
                rf"\b(?:grew up in|home city|home town|hometown|lives in|living in|live in|"
                rf"moved to|born in|arrived at|arrived in|city of|town of|located in|based in|"
                rf"visiting|trip to|flew to|travel(?:l?ed|l?ing)? to|street in)\s+({LOOSE_NAME})",
                IGNORE,
            ),
            0.6,
            group=1,
        ),
        # Address blocks: the lines after a unit line (city, country) and the short lines of
        # names and companies just above a street line.
        Rule(
            "LOCATION",
            _compile(
                rf"{UNIT}[ \t]*\n(?:[ \t>?]*\n)?[ \t>?]*([^\W\d_][^\n\d]{{1,40}}?)[ \t]*$",
                IGNORE | M,
            ),
            0.6,
            group=1,
        ),
        Rule(
            "PERSON",
            _compile(
                r"^[ \t>?]*((?:[^\W\d_][^\n\d:;!?]{1,40}\n[ \t>?]*){1,3})\n?[ \t>?]*\d{1,5}"
                r"[A-Z]?\s(?:\d{1,5}\s)?[^\W\d_]",
                IGNORE | M,
            ),
            0.55,
            group=1,
            validator=lambda value: all(
                len(line.split()) <= 6 for line in value.strip().splitlines()
            ),
        ),
        # A city after a street and a comma: "55 Halsey Road, HAYBOROUGH".
        Rule(
            "LOCATION",
            _compile(rf"(?<=\d),\s((?:{NAME_WORD})(?:\s{NAME_WORD}){{0,2}})"),
            0.55,
            group=1,
        ),
        # Phone numbers labelled after the number: "24 428557-Office", "61 51 81 fax".
        Rule(
            "PHONE_NUMBER",
            _compile(
                r"(?<![\w+])\+?[\d(][\d\s().-]{3,22}\d(?:\s?x\d{1,6})?(?=[\s-]*(?:office|fax|"
                r"mobile|cell|home|work|tel)\b)",
                IGNORE,
            ),
            0.75,
            validator=lambda value: len(digits_of(value)) >= 6,
        ),
        # Speaker labels in a dialogue, any case: 'Jill: "I am ...', 'carol:"i'm'.
        Rule(
            "PERSON",
            _compile(r"^[>\s]*([^\W\d_][\w'’-]+)\s?:\s?\\?[\"“]", M),
            0.7,
            group=1,
            validator=_not_english_word,
        ),
        # A title and the name after it, any case; the title is part of the span (PREFIX).
        Rule(
            "PERSON",
            _compile(rf"\b(?:[Mm]rs?|[Mm]s|[Mm]x|[Dd]r|[Pp]rof|MR|MRS|MS|DR)\.?[ \t]+{LOOSE_NAME}"),
            0.75,
            validator=lambda value: _not_english_word(value.split(None, 1)[-1]),
        ),
        # Possessive before a family or ownership word: "Jane's daughter", "kian's address".
        Rule(
            "PERSON",
            _compile(
                r"(?<![\w'’])(?<!\bmy )(?<!\bour )(?<!\bhis )(?<!\bher )(?<!\bthe )(?<!\byour )"
                r"(?<!\btheir )([^\W\d_][\w-]+)(?:'|’|\\')s\s(?:address|daughter|son|mother|"
                r"father|mom|mum|dad|wife|husband|brother|sister|friend|boyfriend|girlfriend|"
                r"partner|account|phone|number|e-?mail|birthday|house|home|car|parents|uncle|"
                r"aunt|cousin|niece|nephew|grandmother|grandfather|grandma|grandpa|baby|child|"
                r"kids|children|fianc[ée]e?|boss|assistant|colleague)\b",
                IGNORE,
            ),
            0.65,
            group=1,
            validator=_not_english_word,
        ),
        # Names after strong cues, any case: "starring morrow", "directed by x y".
        Rule(
            "PERSON",
            _compile(
                rf"\b(?:starring|co-starring|directed by|written by|produced by|performed by|"
                rf"composed by|sung by|everyone calls me|shouted at|add|correct it to|"
                rf"it's under|under the name(?: of)?|your name\?)\s+({LOOSE_NAME})"
                rf"(?=\s+as\b|\s*[,.!?;:)\n\"]|\s*$)",
                IGNORE | M,
            ),
            0.6,
            group=1,
            validator=_not_english_word,
        ),
        # Companies by their legal suffix: "Logixdata LLC", "frost llc", "3 Round Stones Inc".
        Rule(
            "ORGANIZATION",
            _compile(
                r"\b(?:(?!(?:and|or|in|at|for|is|was|from|the|a|an|which|became|they|have|has|"
                r"meet|of|to|by|with|version|recorded|later|city|home)\b)[^\W_][\w&'’-]*[ \t])"
                r"{1,4}(?:Inc|LLC|L\.L\.C|Ltd|Limited|GmbH|SA|SAS|SARL|SpA|S\.p\.A|BV|NV|Oy|PLC|"
                r"LLP|Corp|Corporation)\b\.?",
                IGNORE,
            ),
            0.6,
            validator=_company_name,
        ),
        # Organisations after employment cues: "spent a year at X", "later became X".
        Rule(
            "ORGANIZATION",
            _compile(
                rf"\b(?:a year at|years at|worked at|works at|working at|worked for|works for|"
                rf"working for|employed (?:at|by)|joined|later became|recorded for|intern(?:ed)? "
                rf"at)\s+({LOOSE_NAME})",
                IGNORE,
            ),
            0.6,
            group=1,
            validator=_not_english_word,
        ),
        Rule(
            "ORGANIZATION",
            _compile(rf"\b[Tt]he\s({LOOSE_NAME})\s(?:office|headquarters|HQ)\s(?:is|was|are)\b"),
            0.6,
            group=1,
            validator=_not_english_word,
        ),
        # Short numbers with a calling cue: "You can call 33 93 31", "answering at 96 237271".
        Rule(
            "PHONE_NUMBER",
            _compile(r"(?<![\d+])\d{2,6}(?:[ .-]\d{2,8}){0,3}(?![\d/:]|[.,]\d)"),
            0.3,
            validator=lambda value: 5 <= len(digits_of(value)) <= 15,
            context=_compile(
                r"(?:call|phone|reach|dial|ring|text|answering|number|tel|mobile|cell)"
                r"(?:\s(?:me|us|him|her|them|at|on|is|was|under))*\W{0,3}$",
                IGNORE,
            ),
            context_required=True,
            context_score=0.75,
        ),
        Rule(
            "TITLE",
            _compile(
                r"^[ \t>?]*((?:[A-Z][a-z]+|[a-z]+)(?:[ \t][a-z,]+){0,5}[ \t](?:manager|engineer|"
                r"officer|coordinator|administrator|director|installer|assistant|analyst|"
                r"consultant|designer|developer|technician|specialist|supervisor|clerk|"
                r"operator|nurse|teacher|accountant|architect|scientist|surveyor|therapist|"
                r"inspector|adviser|advisor|cashier|editor|librarian|pharmacist|physician|"
                r"producer|programmer|psychologist|representative|researcher|secretary|"
                r"technologist|worker|attendant|counselor|planner|buyer|executive))[ \t]*$",
                M,
            ),
            0.6,
            group=1,
        ),
        Rule("DATE_TIME", _compile(r"\b\d{1,2}/\d{1,2}/(?:19|20)?\d\d\b"), 0.6),
        Rule(
            "DATE_TIME",
            _compile(r"\b(?:19|20)\d\d-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d)?)?\b"),
            0.6,
        ),
        Rule(
            "DATE_TIME",
            _compile(r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b", IGNORE),
            0.6,
        ),
    ]


COUNTRY_CODES = {"USA", "UK", "U.S.A."}
UNIT = (
    r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm|Floor|Fl|Bldg|Building)\.?\s*#?\s*"
    r"\d+[A-Z]?\b"
)
LOOSE_NAME = (
    r"(?!(?:a|an|the|not|from|in|at|on|sorry|here|good|fine|so|very|interested|looking|"
    r"writing|calling|trying|having|just|still|also|originally|moving|contacting|going|"
    r"when|what|there|this|that|my|your|our|their|his|her)\b)"
    r"[^\W\d_][\w'’-]+(?:\s(?!(?:and|or|but|from|in|at|on|to|is|was|for|who|with|please|"
    r"i|the|a|fan|concert|version|this|that|last|next|since|because|when|where|it|"
    r"they|we|he|she|you|are|were|has|had|have|will|would|can|could|so|as|by|of|became|"
    r"become|becomes|office|invested)\b)"
    r"[^\W\d_][\w'’-]+){0,2}"
)
ENGLISH_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "it",
        "its",
        "he",
        "she",
        "they",
        "we",
        "you",
        "i",
        "my",
        "your",
        "his",
        "her",
        "their",
        "our",
        "what",
        "who",
        "whom",
        "which",
        "when",
        "where",
        "why",
        "how",
        "yes",
        "no",
        "not",
        "and",
        "or",
        "but",
        "if",
        "then",
        "so",
        "as",
        "is",
        "was",
        "are",
        "were",
        "be",
        "been",
        "has",
        "had",
        "have",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "hello",
        "hi",
        "dear",
        "thanks",
        "thank",
        "please",
        "sorry",
        "okay",
        "ok",
        "well",
        "oh",
        "also",
        "just",
        "only",
        "very",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "today",
        "tomorrow",
        "yesterday",
        "god",
        "lord",
        "sir",
        "madam",
        "mister",
        "miss",
        "everyone",
        "everybody",
        "someone",
        "somebody",
        "nobody",
        "all",
        "some",
        "capitalized",
        "wisdom",
        "discipline",
    ]
)

NUMBER_PHRASE = re.compile(
    r"\b(?:years?|months?|weeks?|days?|hours?|minutes?|songs?|times?|percent|mg|ml|kg|km|"
    r"points?|people|items?|pages?|of|out|and|to|or|x)\s\d+\w*$",
    IGNORE,
)


# ---------------------------------------------------------------- French

MONTHS_FR = (
    r"janvier|janv|f[ée]vrier|f[ée]vr?|mars|avril|avr|mai|juin|juillet|juil|ao[uû]t|"
    r"septembre|sept|octobre|oct|novembre|nov|d[ée]cembre|d[ée]c"
)
NUMBER_WORDS_FR = (
    r"premier|1er|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|"
    r"quatorze|quinze|seize|vingt|trente|quarante|cinquante|soixante|cent|mille|et"
)
STREET_FR = (
    r"rue|avenue|av|bd|boulevard|chemin|ch|all[ée]e|place|pl|impasse|imp|route|rte|quai|"
    r"cours|square|passage|voie|r[ée]sidence|lotissement|cit[ée]|faubourg|fbg|rond-point|"
    r"sentier|villa|hameau|parvis|promenade|esplanade|mont[ée]e|rampe|traverse|sq|"
    r"lieu-dit|lieu dit|domaine|zone|za|zi|zac"
)
# The NIR's two-digit key is sometimes labelled: "1 85 05 78 006 084 clé 36".
NIR_KEY_WORD = r"cl[ée]\s?:?\s?"
CLINICAL_TITLES = r"Dr|Drs|Docteur|Pr|Professeur|Prof|M|Mr|Mme|Mlle|Monsieur|Madame|Mademoiselle"


def french_rules() -> list[Rule]:
    digit_gap = r"(?:[ \t.\-]{0,2}|[ \t][.\-][ \t])"
    return [
        # French phone numbers in any grouping, O typed for 0 included: 01.42.21.32.74,
        # 01 0192 4830, 0618382522, +33 (0)6 12 34 56 78, (33) 1 20 49 98 13.
        Rule(
            "PHONE_NUMBER",
            _compile(
                rf"(?<![\d+])(?:(?:\+|00)\s?33\s?(?:\(0\)\s?)?|\(33\)\s?|[0O]{digit_gap})[1-9]"
                rf"(?:{digit_gap}[\dO]){{8}}(?![ \t]?\d)"
            ),
            0.8,
            validator=lambda value: not DATE_SHAPE.fullmatch(value),
        ),
        # Short internal numbers given with a phone word: "joignables au 73389", "poste 4521".
        Rule(
            "PHONE_NUMBER",
            _compile(r"(?<![\d])\d{4,5}(?![\d/])"),
            0.3,
            context=_compile(
                r"(?:joignables?|poste|bip|t[ée]l[ée]phone|t[ée]l|dect|appeler|fax)\W*(?:au\s*)?$",
                IGNORE,
            ),
            context_required=True,
            context_score=0.7,
        ),
        # NIR, plain or with any spacing; the key is checked when present.
        Rule(
            "FR_NIR",
            _compile(
                # A lookahead, so that a candidate the key rejects does not hide one that
                # starts inside it ("02-09-2011 2 770780 059560").
                r"(?<![\d])(?=([12378](?:[ \t.-]?[\dAB]){12}"
                rf"(?:[ \t.-]?(?:{NIR_KEY_WORD})?\d[ \t.-]?\d)?(?!\d|[/.-]\d)))",
                IGNORE,
            ),
            0.95,
            group=1,
            validator=nir_valid,
            isolated=True,
        ),
        Rule(
            "FR_NIR",
            _compile(
                r"(?<![\d])[12](?:[ \t]{0,2}[\dAB]){12}"
                rf"(?:[ \t]{{0,2}}(?:{NIR_KEY_WORD})?\d[ \t]{{0,2}}\d)?(?!\d|[/.-]\d)",
                IGNORE,
            ),
            0.4,
            validator=nir_shaped,
            isolated=True,
            context=_compile(
                r"(?:s[ée]curit[ée] sociale|\bNIR\b|\bNSS\b|N°\s?SS\b|\bSS\b|assur[ée]|"
                r"identification|"
                r"assurance maladie|immatriculation|ans|sécu|secu)\W*(?:\w+\W+){0,3}$",
                IGNORE,
            ),
            context_score=0.75,
        ),
        # Runs of single spaced digits (dates, NIR, identifiers typed digit by digit).
        Rule("ID_NUMBER", _compile(r"(?<![\d])\d(?: {1,2}\d){6,}(?![\d])"), 0.6),
        Rule(
            "FR_SIRET",
            _compile(r"(?<![\d])\d{3}\s?\d{3}\s?\d{3}(?:\s?\d{5})?(?![\d])"),
            0.3,
            validator=siret_valid,
            context=_compile(r"(?:siret|siren|rcs|finess|rpps|adeli)\W*(?:\w+\W+){0,2}$", IGNORE),
            context_score=0.8,
        ),
        # Hospital identifiers: IPP, NDA, RPPS, FINESS, visit and file numbers.
        Rule(
            "MEDICAL_RECORD_NUMBER",
            _compile(r"(?<![\w])[A-Z]?\d{4,12}(?![\d])"),
            0.3,
            context=_compile(
                r"(?:\bIPP|\bNDA|\bIP|\bNIP|dossier|s[ée]jour|visite|rpps|finess|adeli|"
                r"identifiant|n[°o]|num[ée]ro|patient)\W{0,6}(?:\w+\W+){0,2}$",
                IGNORE,
            ),
            context_required=True,
            context_score=0.7,
        ),
        # Long bare numbers in a clinical note are identifiers (IPP, NDA) more often than not.
        Rule("MEDICAL_RECORD_NUMBER", _compile(r"(?<![\w.,])\d{8,12}(?![\w.,]\d)"), 0.55),
        # Dates: numeric with separators and spacing, written months, numbers in words.
        Rule(
            "DATE_TIME",
            _compile(
                r"(?<![\d.,])(?:[0-3]?\d\s?[/.\-|]\s?[01]?\d(?:\s?[/.\-|]\s?(?:19|20)?\d\d)?"
                r"|(?:19|20)\d\d\s?[/.\-]\s?[01]?\d\s?[/.\-]\s?[0-3]?\d)(?![\d]|[.,]\d)"
                # never the head of a longer date: "10 - 04/05/2018" is an item number and a date
                r"(?!\s?[/.\-]\s?\d)"
            ),
            0.6,
            validator=_plausible_numeric_date,
        ),
        Rule(
            "DATE_TIME",
            _compile(
                rf"\b(?:(?:[0-3]?\d|1er|(?:{NUMBER_WORDS_FR})(?:[\s-](?:{NUMBER_WORDS_FR}))*)"
                rf"\s?)?(?:{MONTHS_FR})\.?(?:\s?(?:(?:19|20)?\d\d|(?:{NUMBER_WORDS_FR})"
                rf"(?:[\s-](?:{NUMBER_WORDS_FR}))*))?\b",
                IGNORE,
            ),
            0.6,
            validator=_french_date_words,
        ),
        Rule(
            "DATE_TIME",
            _compile(
                rf"\b(?:{NUMBER_WORDS_FR})(?:[\s-](?:{NUMBER_WORDS_FR}))*\s(?:[01]?\d)\s"
                rf"(?:19|20)\d\d\b",
                IGNORE,
            ),
            0.6,
        ),
        Rule("DATE_TIME", _compile(r"(?<![\w/.,-])(?:19|20)\d\d(?![\w/]|[.,]\d)"), 0.5),
        # Street addresses: "12, Avenue du Général de Gaulle", "28 bis chemin Etienne".
        Rule(
            "ADDRESS",
            _compile(
                rf"\b(?:\d{{1,4}}|{NUMBER_WORDS_FR})(?:\s?(?:bis|ter|[A-D]\b))?,?\s"
                rf"(?:{STREET_FR})\.?[ \t](?:[^\W\d_][\w'’.-]*[ \t]?){{1,6}}?(?=[ \t]*(?:,|\n|\(|"
                rf"\d{{2}}[ \t]?\d{{3}}\b|$|[ \t][-–][ \t]|\.[ \t]|[ \t](?:à|au|dans|avec|pour|et|"
                rf"est|a)\b))",
                IGNORE | M,
            ),
            0.75,
        ),
        # Postal code then city: "75013 Paris", "92 100 BOULOGNE-BILLANCOURT", "2B476, Bastia".
        Rule(
            "FR_POSTAL_CODE",
            _compile(
                rf"(?<![\d\w])(?:\d{{5}}|\d{{2}}\s\d{{3}}|2[AB]\d{{3}})"
                rf"(?=,?\s+(?:{NAME_WORD}|Saint|St))"
            ),
            0.6,
        ),
        Rule(
            "LOCATION",
            _compile(
                rf"(?<=\d)(?:,?[ \t]+)((?:{NAME_WORD})(?:[ \t-](?:sur|sous|en|le|la|les|de|du|"
                rf"d'|{NAME_WORD})){{0,4}}(?:[ \t](?:Cedex|CEDEX)(?:[ \t]\d+)?)?)",
            ),
            0.55,
            group=1,
            context=_compile(r"(?:\b\d{5}|\b\d{2}\s\d{3}|\b2[AB]\d{3}),?\s*$"),
            context_required=True,
            context_score=0.7,
        ),
        Rule(
            "FR_POSTAL_CODE",
            _compile(r"(?<![\d\w])(?:\d{5}|\d{2}\s\d{3})(?![\d\w])"),
            0.3,
            context=_compile(
                r"(?:code postal|cp|dans le|adresse|domicil\w*|habite|{})\W*$".format(
                    "|".join(("rue", "avenue", "bd", "chemin"))
                ),
                IGNORE,
            ),
            context_required=True,
            context_score=0.6,
        ),
        # Hospitals and clinics with their name.
        Rule(
            "ORGANIZATION",
            _compile(
                rf"\b(?i:H[ôo]pital|Hôpitaux|Clinique|CHU|CHR|CHI|Centre hospitalier|"
                rf"Groupe hospitalier|GH|Institut|Fondation|Maison de sant[ée]|EHPAD)"
                rf"(?:[ \t](?i:universitaire|priv[ée]e?|de la|de l'|du|des|de|d'|la|le|les))*[ \t]?"
                rf"(?:{NAME_WORD}|Saint|St|Ste|Val)(?:[ \t-](?:de la|de l'|du|des|de|d'|la|le|"
                rf"les|sur|en|{NAME_WORD})){{0,4}}(?<!\sde)(?<!\sdu)(?<!\sla)(?<!\sle)"
            ),
            0.7,
            validator=lambda value: any(character.isupper() for character in value[1:]),
        ),
        # Upper-case surname with a capitalised first name, either order: "JALONNET Christine",
        # "Amy LEBRUN"; upper-case runs of two to four words: "PIERRE BALOUIN".
        Rule(
            "PERSON",
            _compile(
                rf"\b(?:{UPPER_NAME}(?:[ \t]{UPPER_NAME}){{0,2}}[ \t]{CAP_WORD}"
                rf"(?:[ \t-]{CAP_WORD})?|{CAP_WORD}(?:[ \t-]{CAP_WORD})?[ \t]{UPPER_NAME}"
                rf"(?:[ \t]{UPPER_NAME}){{0,2}})\b"
            ),
            0.7,
            validator=_not_clinical_words,
        ),
        Rule(
            "PERSON",
            _compile(rf"(?<![\w-]){UPPER_NAME}(?:[ \t]{{1,2}}{UPPER_NAME}){{1,3}}(?![\w-])"),
            0.6,
            validator=_not_clinical_words,
        ),
        # Initials with a surname: "C. Carlizian", "P-A. POULMANI", "Clerc J.C.".
        Rule(
            "PERSON",
            _compile(
                # "M." before a name is Monsieur, a title, not an initial.
                rf"\b(?!M\.[ \t])(?:{INITIAL}[ \t]?){{1,2}}{NAME_WORD}"
                rf"|\b{NAME_WORD}[ \t](?:{INITIAL}){{1,3}}"
            ),
            0.65,
            validator=_not_clinical_words,
        ),
        # Names in context: "patient(e) X Y", "né(e) ... ", "signé par X", "Contact : X".
        Rule(
            "PERSON",
            _compile(
                rf"\b(?i:patiente?|pour|par|chez|avec|contact|contacts importants|r[ée]f[ée]rent|"
                rf"nom|pr[ée]nom|interne|externe|m[ée]decin|infirmi[èe]re?|cadre|p[èe]re|"
                rf"m[èe]re|[ée]poux|[ée]pouse|fils|fille|nom du patient)[ \t]?:?[ \t]"
                rf"((?:{NAME_WORD})(?:[ \t-]{NAME_WORD}){{1,2}})"
            ),
            0.7,
            group=1,
            validator=_not_clinical_words,
        ),
    ]


def _not_english_word(value: str) -> bool:
    return value.split()[0].lower() not in ENGLISH_WORDS


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


COMPANY_SUFFIXES = _word_set(
    "inc llc l.l.c ltd limited gmbh sa sas sarl spa s.p.a bv nv oy plc llp corp corporation"
)


def _company_name(value: str) -> bool:
    """At least one word before the suffix that is not a common English word."""
    words = [word.strip(".,'’").lower() for word in value.split()]
    body = [word for word in words[:-1] if word not in COMPANY_SUFFIXES]
    return (
        bool(body)
        and any(word not in ENGLISH_WORDS for word in body)
        and body[0]
        not in {
            "a",
            "the",
            "our",
            "my",
            "your",
            "this",
            "that",
        }
    )


def _plausible_numeric_date(value: str) -> bool:
    parts = [part for part in re.split(r"\s?[/.\-|]\s?", value.strip()) if part]
    if len(parts) < 2:
        return False
    if len(parts[0]) == 4:
        return 1 <= int(parts[1]) <= 12
    day, month = int(parts[0]), int(parts[1])
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return False
    if len(parts) == 2:
        return (len(parts[0]) == 2 and len(parts[1]) == 2) or "/" in value
    return True


def _french_date_words(value: str) -> bool:
    words = value.lower().split()
    if len(words) == 1:
        return bool(re.search(r"\d", value)) and len(value) > 4
    return len(value) > 5 and not re.fullmatch(r"(?:le\s)?(?:mai|mars|sept)\s?", value.lower())


CLINICAL_WORDS = frozenset(
    [
        "IRM",
        "TDM",
        "ECG",
        "EEG",
        "EMG",
        "RAS",
        "HTA",
        "AVC",
        "IDM",
        "BPCO",
        "SAS",
        "TSH",
        "CRP",
        "NFS",
        "VS",
        "HB",
        "HBA1C",
        "PCR",
        "ADN",
        "ARN",
        "VIH",
        "VHC",
        "VHB",
        "SIDA",
        "HIV",
        "CR",
        "CRH",
        "CRO",
        "USIC",
        "USI",
        "REA",
        "SAU",
        "SAMU",
        "SMUR",
        "UF",
        "PH",
        "CCA",
        "ASP",
        "PU",
        "MCU",
        "AP",
        "HP",
        "APHP",
        "AP-HP",
        "CHU",
        "CHR",
        "IPP",
        "NDA",
        "NIR",
        "RPPS",
        "FINESS",
        "ADELI",
        "INS",
        "SSR",
        "EHPAD",
        "HAD",
        "ORL",
        "ATCD",
        "TTT",
        "CAT",
        "RDV",
        "DR",
        "PR",
        "MME",
        "MLLE",
        "MR",
        "OK",
        "NB",
        "PS",
        "PO",
        "IV",
        "IM",
        "SC",
        "INJ",
        "SOL",
        "CP",
        "MG",
        "ML",
        "KG",
        "UI",
        "DCI",
        "AMM",
        "BIOANALYSE",
        "BIOLOGIE",
        "SERVICE",
        "HOPITAL",
        "HÔPITAL",
        "CENTRE",
        "CLINIQUE",
        "UNITE",
        "UNITÉ",
        "CONSULTATION",
        "COMPTE",
        "RENDU",
        "OPERATOIRE",
        "OPÉRATOIRE",
        "HOSPITALISATION",
        "URGENCES",
        "URGENCE",
        "DOSSIER",
        "MEDICAL",
        "MÉDICAL",
        "PATIENT",
        "PATIENTE",
        "NOM",
        "PRENOM",
        "PRÉNOM",
        "DATE",
        "NAISSANCE",
        "SEXE",
        "ADRESSE",
        "TEL",
        "TÉL",
        "FAX",
        "MAIL",
        "EMAIL",
        "EXAMEN",
        "EXAMENS",
        "RESULTATS",
        "RÉSULTATS",
        "TRAITEMENT",
        "TRAITEMENTS",
        "ANTECEDENTS",
        "ANTÉCÉDENTS",
        "CONCLUSION",
        "DIAGNOSTIC",
        "MOTIF",
        "HISTOIRE",
        "ALLERGIES",
        "BILAN",
        "SYNTHESE",
        "SYNTHÈSE",
        "ORDONNANCE",
        "PRESCRIPTION",
        "INTERVENTION",
        "CHIRURGIE",
        "ANESTHESIE",
        "ANESTHÉSIE",
        "PLAN",
        "SUIVI",
        "COURRIER",
        "LETTRE",
        "SORTIE",
        "ENTREE",
        "ENTRÉE",
        "MODE",
        "DE",
        "DU",
        "DES",
        "LA",
        "LE",
        "LES",
        "ET",
        "EN",
        "AU",
        "AUX",
        "UN",
        "UNE",
        "SUR",
        "SOUS",
        "POUR",
        "PAR",
        "AVEC",
        "SANS",
        "CHEZ",
        "NON",
        "OUI",
        "FRANCE",
        "PARIS",
        "CEDEX",
        "BP",
        "CS",
        "TSA",
        "RUE",
        "AVENUE",
        "BD",
        "BOULEVARD",
        "CHEMIN",
        "ALLEE",
        "ALLÉE",
        "PLACE",
        "ROUTE",
        "QUAI",
        "STUDIO",
        "APPT",
        "BAT",
        "BÂT",
        "ETAGE",
        "ÉTAGE",
        "ESC",
        "H",
        "F",
        "M",
    ]
)


def _not_clinical_words(value: str) -> bool:
    words = re.findall(r"[^\W\d_][\w'’-]*", value)
    name_like = [word for word in words if word.upper().strip(".") not in CLINICAL_WORDS]
    return len(name_like) >= 1 and sum(len(word) for word in name_like) >= 3


# ---------------------------------------------------------------- NER filtered by POS

NAME_POS = frozenset({"PROPN", "X", "INTJ"})
LINK_POS = frozenset({"ADP", "DET", "PUNCT", "CCONJ", "SPACE"})


class PosFilteredSpacyRecognizer(SpacyRecognizer):
    """spaCy's entities, without the name-type spans made of common words.

    The small French model tags capitalised nouns and verbs ("Résultats de laboratoire",
    "Examen Clinique") as persons or places; a name-type span is kept only when at least
    half of its content tokens are proper nouns or unknown words. The tags come from the
    same spaCy pass, so this costs nothing extra.
    """

    name_types = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP"})

    def analyze(self, text: str, entities, nlp_artifacts=None):
        results = super().analyze(text, entities, nlp_artifacts)
        doc = getattr(nlp_artifacts, "tokens", None)
        if doc is None:
            return results

        kept = []
        for result in results:
            if result.entity_type in self.name_types:
                span = doc.char_span(result.start, result.end, alignment_mode="expand")
                if span is not None:
                    content = [token for token in span if token.pos_ not in LINK_POS]
                    names = [token for token in content if token.pos_ in NAME_POS]
                    if content and len(names) * 2 < len(content):
                        continue
                    if names:
                        # Trim titles and common words at the edges: "Professeur X Y" -> "X Y".
                        result.start = names[0].idx
                        result.end = names[-1].idx + len(names[-1].text)
            kept.append(result)
        return kept


def replace_ner_recognizers(registry, languages: Sequence[str]) -> None:
    """Swap presidio's SpacyRecognizer for the POS-filtered one in the given languages."""
    for index, recognizer in enumerate(list(registry.recognizers)):
        if type(recognizer) is SpacyRecognizer and recognizer.supported_language in languages:
            registry.recognizers[index] = PosFilteredSpacyRecognizer(
                supported_language=recognizer.supported_language,
                supported_entities=recognizer.supported_entities,
            )


# ---------------------------------------------------------------- registry


def custom_recognizers(language: str) -> list[EntityRecognizer]:
    """Extra recognizers for one language: shared identifiers plus language-specific rules."""
    rules = common_rules()
    if language == "en":
        rules += english_rules()
    elif language == "fr":
        rules += french_rules()
    logger.debug("%d rules for language %s", len(rules), language)
    return [RuleRecognizer(rules, language=language, name=f"HybridRules_{language}")]


# ---------------------------------------------------------------- French non-name vocabulary

# Words that are never a person's or a place's name in a French clinical note: titles and
# roles, document and form labels, departments, common clinical nouns, lab and drug-form
# abbreviations. Compared lower case without accents. Written from general knowledge of
# French hospital documents, not taken from any labelled set.
FRENCH_NOT_NAME_WORDS = _word_set(
    """
    monsieur madame mademoiselle messieurs mesdames docteur docteurs professeur professeurs
    dr drs pr prof mme mmes mlle mr me interne internes externe externes patient patients
    patiente patientes malade pour par chez avec sans contactez contacter contact contacts
    cher chere chers confrere consoeur confreres collegue collegues ne nee nes nees
    rendez rendez-vous rdv prelever prelevement mention adresse adresses tel telephone
    portable mobile fax faxer mail email e-mail courriel standard accueil secretariat
    secretaire service services equipe equipes unite unites pole departement dmu ufr
    consultant consultante consultants chef chefs assistant assistante assistants juniors
    senior seniors cadre cadres sante infirmier infirmiere infirmiers ide aide soignant
    soignante medecin medecins referent referente traitant traitante gynecologue cardiologue
    neurologue pneumologue radiologue anesthesiste chirurgien chirurgienne psychiatre
    psychologue pediatre kinesitherapeute kine dieteticien dieteticienne dietetique
    pharmacien pharmacienne sage-femme biologiste urgentiste geriatre oncologue
    dermatologue rhumatologue nephrologue endocrinologue ophtalmologue orthopediste
    neuro cardio pneumo gastro onco uro derma rhumato pedo psy
    neurologie cardiologie pneumologie radiologie anesthesie chirurgie psychiatrie
    pediatrie gynecologie obstetrique maternite reanimation urgences urgence geriatrie
    oncologie hematologie dermatologie rhumatologie nephrologie endocrinologie
    ophtalmologie orthopedie gastro-enterologie hepatologie medecine biologie laboratoire
    imagerie pharmacie radiotherapie chimiotherapie hospitalisation consultation
    consultations fiche fiches dossier dossiers compte rendu comptes rapport rapports
    courrier lettre ordonnance prescription prescriptions redige redigee redaction signe
    signee valide validee imprime imprimee imprimerie ateliers atelier edition page
    date heure lieu objet motif motifs antecedent antecedents histoire anamnese examen
    examens clinique cliniques bilan bilans resultat resultats conclusion conclusions
    synthese diagnostic diagnostics traitement traitements suivi surveillance evolution
    prochain prochaine nouvelle nouvelles nouveau nouveaux ancien ancienne derniere dernier
    echantillon echantillons prelevements analyse analyses bioanalyse serologie culture
    normal normale normaux anormal anormale positif positive negatif negative inactive
    inactif actif active stable douleur douleurs fievre toux allergie allergies
    clip sonde stent prothese pansement perfusion injection comprime comprimes gelule
    sol inj ser stylo sachet flacon ampoule seringue cp gel creme pommade collyre sirop
    loi decret article arrete code circulaire
    transmis transmise rappel assurance maladie mutuelle
    nom noms prenom prenoms sexe age identite identification numero naissance deces
    ipp nda nir nss ins rpps finess adeli siret siren ssr had ehpad usic usi usc rea sau
    samu smur uf ph cca asp mcu pu phu ahu fh dhu ch chu chr chi ghu aphp ap-hp ap hp
    irm tdm ecg eeg emg etf ett eto rx echo scanner radio biopsie
    nfs crp vs tsh t3 t4 hba1c inr tp tca ldh cpk bnp psa afp ace ca dfg
    hta avc ait idm bpco sas diabete dt1 dt2 irc ira fa ic tvp ep
    ras atcd ttt cat nb ps po iv im sc sl ui mg ml kg dci amm
    oui non et ou de du des la le les un une au aux en sur sous dans
    suite selon voir cf apres avant depuis lors
    """
)

# Lowercase particles of surnames ("de la Fontaine", "Le Gall" once folded).
NAME_PARTICLES = _word_set(
    "de du des d le la les l van von der den di da del della dos das ben ibn al el"
)
FAMILY_ROLE_WORDS = _word_set(
    "pere mere frere soeur epoux epouse conjoint conjointe tuteur tutrice"
)

FRENCH_FOLD = str.maketrans("àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæ", "aaaaaaceeeeiiiinooooouuuuyyoa")
