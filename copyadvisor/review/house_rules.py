"""House rules: a library's own style rules, written in Vale's rule format.

A library may carry rules next to its documents, one YAML file per rule, in Vale's
``StylesPath/<Style>/<Rule>.yml`` layout::

    corpus/styles/Acme/Members.yml   ->  rule id House.Acme.Members

Two of Vale's extension points are supported, with Vale's semantics (see
``docs/house-rules.md``):

- ``extends: existence``: ``tokens`` (regex alternatives, matched on word boundaries
  unless ``nonword``), ``raw``, ``append``, ``exceptions``, ``ignorecase``; the draft's
  words are flagged, with no suggestion;
- ``extends: substitution``: ``swap`` (regex key -> replacement; ``a|b`` offers both;
  ``$1`` refers to a group of the key), ``exceptions``, ``ignorecase``, ``nonword``,
  ``capitalize``; the replacement is the suggestion, with the draft's capitalisation.

Common keys: ``message`` (``%s`` placeholders filled as Vale does), ``level``
(suggestion | warning | error, default warning), ``link``, ``description``, ``scope``
(text, paragraph, sentence, raw, summary, or a negated scope), ``limit``. ``action`` and
``vocab`` are accepted and not applied. Any other ``extends`` (capitalization,
conditional, consistency, metric, occurrence, readability, repetition, script,
sequence, spelling), markup scopes (heading, table, list ...), ``pos``, and keys Vale
itself does not know are rejected with a message naming the file; a file that is not
valid YAML is rejected with its line. One bad file never stops the others.

A rule is tied to the library passage that justifies it through Vale's own ``link`` key
(Vale rejects unknown keys, so a copyadvisor-only key would break the file for Vale):
``link: acme-style.md#people-who-pay-us`` names a library document (file name or id) and,
optionally, a heading in it. Without such a link (or for a web URL), the justification
is the library passage that mentions the rule's words most, marked as found by words.
"""

from __future__ import annotations

import logging
import re as std_re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, Optional, Sequence

import regex
import yaml

from .lexicon import match_case
from ..types import Passage

log = logging.getLogger(__name__)

STYLES_FOLDER = "styles"
RULE_PREFIX = "House"
LEVELS = ("suggestion", "warning", "error")
DEFAULT_LEVEL = "warning"  # Vale's default when a rule has no level
SUPPORTED_EXTENDS = ("existence", "substitution")
UNSUPPORTED_EXTENDS = ("capitalization", "conditional", "consistency", "metric", "occurrence", "readability",
                       "repetition", "script", "sequence", "spelling")
# Vale's Definition keys (every rule), then each extension point's own keys; Vale rejects any other key.
COMMON_KEYS = {"extends", "message", "level", "link", "description", "scope", "action", "limit", "name", "selector"}
EXTENSION_KEYS = {
    "existence": {"tokens", "raw", "append", "exceptions", "ignorecase", "nonword", "vocab"},
    "substitution": {"swap", "exceptions", "ignorecase", "nonword", "vocab", "capitalize", "pos"},
}
IGNORED_KEYS = {"action": "copyadvisor makes its own fix (the swap value; none for existence)",
                "vocab": "Vale vocabularies are not read",
                "selector": "not used by existence or substitution"}
PROSE_SCOPES = ("text", "paragraph", "sentence", "raw", "summary")
MARKUP_SCOPES = ("heading", "table", "figure", "list", "alt", "title", "blockquote")
WORD_TEMPLATE = r"(?m)\b(?:%s)\b"  # Vale's default WordTemplate
NONWORD_TEMPLATE = r"(?m)(?:%s)"
CAPTURE_OPEN = regex.compile(r"(?<!\\)\((?!\?)")  # Vale's convertCaptureGroups
BACKREFERENCE = regex.compile(r"\$(\d+|\{\w+\})")
SENTENCE = regex.compile(r"[^.!?…。！？]+(?:[.!?…。！？]+[\"'”’)\]]*|$)")
PARAGRAPH = regex.compile(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*")


class HouseRuleError(ValueError):
    """A rule file cannot be used; ``str()`` names the file (and the line when known)."""

    def __init__(self, path: str, message: str, line: Optional[int] = None):
        self.path, self.line, self.reason = path, line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


@dataclass(frozen=True)
class DocRef:
    """What a justification needs to know about a library document."""

    id: str
    path: str
    title: str
    lang: str


@dataclass(frozen=True)
class Justification:
    """The library passage a rule rests on."""

    passage_id: str
    doc_id: str
    doc_title: str
    lang: str
    quote: str
    how: str  # "link": the rule's link names the document; "words": the passage mentions the rule's words

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Swap:
    key: str  # the regex as written (capture groups kept, for $1)
    value: str  # the replacement as written; "a|b" offers a or b


@dataclass
class RuleMatch:
    """One place a rule fires in a text (offsets are Python string indices)."""

    start: int
    end: int
    text: str
    message: str
    suggestion: Optional[str]  # None for existence rules
    replacements: list[str]


@dataclass
class HouseRule:
    id: str  # House.<Style>.<Rule>
    style: str
    name: str  # Vale's name: <Style>.<Rule>
    path: str  # relative to the styles folder's parent, e.g. styles/Acme/Members.yml
    extends: str
    level: str
    message: str
    link: str
    description: str
    scope: str  # text | paragraph | sentence | raw
    ignorecase: bool
    capitalize: bool
    limit: int
    pattern: "regex.Pattern"
    swaps: list[Swap] = field(default_factory=list)  # substitution: in the pattern's group order
    groups: list[int] = field(default_factory=list)  # substitution: the pattern's group number of each swap
    exceptions: Optional["regex.Pattern"] = None
    justification: Optional[Justification] = None
    notes: list[str] = field(default_factory=list)  # keys accepted but not applied, links not resolved

    # --- checking a text ----------------------------------------------------------

    def check(self, text: str) -> list[RuleMatch]:
        found: list[RuleMatch] = []
        for offset, segment in segments(text, self.scope):
            for match in self.pattern.finditer(segment):
                if match.end() == match.start():
                    continue
                observed = match.group(0)
                if observed.strip() != observed:  # Vale trims what it reports; keep the span on the words
                    lead = len(observed) - len(observed.lstrip())
                    observed = observed.strip()
                    start = offset + match.start() + lead
                else:
                    start = offset + match.start()
                if not observed or is_exception(self.exceptions, observed):
                    continue
                hit = self.substitute(match, observed) if self.extends == "substitution" else \
                    RuleMatch(start, start + len(observed), observed, vale_format(self.message, observed), None, [])
                if hit is None:
                    continue
                hit.start, hit.end = start, start + len(observed)
                found.append(hit)
                if self.limit and len(found) >= self.limit:
                    return found
        return found

    def substitute(self, match, observed: str) -> Optional[RuleMatch]:
        swap = next(s for s, g in zip(self.swaps, self.groups) if match.start(g) != -1)
        expected = swap.value
        if BACKREFERENCE.search(expected):
            expected = expand_backreferences(swap.key, expected, observed, self.ignorecase)
        if self.capitalize and observed[:1].isupper():
            expected = "|".join(part[:1].upper() + part[1:] for part in expected.split("|"))
        if same_token(expected, observed):
            return None
        options = [keep_case(option, observed) for option in expected.split("|")]
        if observed in options:
            return None
        message = vale_format(self.message, sentence_of(options), observed)
        return RuleMatch(0, 0, observed, message, options[0], options)

    # --- what the rule is about ---------------------------------------------------------

    def words_in(self, text: str) -> list[str]:
        """The rule's words that ``text`` mentions, in any case: what it flags, what it suggests, its name."""
        seen: dict[str, None] = {}
        for match in self.search_pattern.finditer(text):
            if match.group(0).strip():
                seen[match.group(0).strip().lower()] = None
        for swap in self.swaps:
            for option in swap.value.split("|"):
                if option.strip() and not BACKREFERENCE.search(option) and \
                        regex.search(rf"(?<!\w){regex.escape(option.strip())}(?!\w)", text, regex.IGNORECASE):
                    seen[option.strip().lower()] = None
        name_words = " ".join(regex.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", self.name.split(".", 1)[1]))
        if len(name_words) >= 4 and regex.search(rf"(?<!\w){regex.escape(name_words)}s?(?!\w)", text, regex.IGNORECASE):
            seen[name_words.lower()] = None
        return list(seen)

    @property
    def search_pattern(self) -> "regex.Pattern":
        """The rule's pattern, case-insensitive (questions and library passages are not copy)."""
        return regex.compile(self.pattern.pattern, self.pattern.flags | regex.IGNORECASE)

    def to_dict(self) -> dict:
        return {
            "id": self.id, "style": self.style, "name": self.name, "path": self.path, "extends": self.extends,
            "level": self.level, "message": self.message, "link": self.link, "description": self.description,
            "scope": self.scope, "swap": {s.key: s.value for s in self.swaps},
            "justification": self.justification.to_dict() if self.justification else None, "notes": list(self.notes),
        }


@dataclass
class RelevantRule:
    """A house rule a question touches, with the passage that justifies it (for the advisor to cite)."""

    rule: HouseRule
    words: list[str]  # the rule's words found in the question, lower case
    passage: Optional[Justification]

    def to_dict(self) -> dict:
        return {"rule": self.rule.id, "level": self.rule.level, "message": self.rule.message,
                "words": self.words, "passage": self.passage.to_dict() if self.passage else None}


@dataclass
class HouseRules:
    folder: Optional[Path]
    rules: list[HouseRule] = field(default_factory=list)
    problems: list[HouseRuleError] = field(default_factory=list)  # files left out, each naming the file

    def __bool__(self) -> bool:
        return bool(self.rules)

    def check(self, text: str) -> list[tuple[HouseRule, RuleMatch]]:
        """Every place any rule fires in ``text``, in rule order (not de-overlapped)."""
        return [(rule, hit) for rule in self.rules for hit in rule.check(text)]

    def relevant(self, question: str, limit: int = 3) -> list[RelevantRule]:
        return relevant_house_rules(question, self, limit)

    def justifying(self) -> set[str]:
        """The ids of the library passages that justify a rule (a house style guide's rules)."""
        return {rule.justification.passage_id for rule in self.rules if rule.justification}

    def rule(self, rule_id: str) -> HouseRule:
        return next(r for r in self.rules if r.id == rule_id)


NO_RULES = HouseRules(folder=None)


# --- loading --------------------------------------------------------------------------


def load_house_rules(folder: Path, documents: Sequence[DocRef] = (), passages: Sequence[Passage] = ()) -> HouseRules:
    """Every ``<folder>/<Style>/<Rule>.yml``; bad files are left out and listed in ``problems``.

    ``documents`` and ``passages`` are the library's, for the justifications (without them
    rules load unjustified). A missing folder is simply no rules."""
    folder = Path(folder)
    result = HouseRules(folder)
    if not folder.is_dir():
        return result
    base = folder.parent
    seen: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_file() and path.suffix in (".yml", ".yaml"):
            result.problems.append(HouseRuleError(relative(path, base), "a rule file belongs in a style folder: "
                                                  f"{folder.name}/<Style>/{path.name}"))
            continue
        if not path.is_dir() or path.name == "config":  # Vale keeps vocabularies etc. in styles/config
            continue
        for rule_path in sorted(path.iterdir()):
            name = relative(rule_path, base)
            if rule_path.suffix == ".yaml":
                result.problems.append(HouseRuleError(name, "Vale reads only .yml rule files: rename it to "
                                                      f"{rule_path.stem}.yml"))
                continue
            if rule_path.suffix != ".yml" or not rule_path.is_file():
                continue
            try:
                rule = load_rule(rule_path, name)
                if rule.id in seen:
                    raise HouseRuleError(name, f"rule {rule.name} is already defined by {seen[rule.id]}")
                seen[rule.id] = name
                rule.justification = justify(rule, documents, passages)
                rule.check("Warm up, 1 rule.")  # the regex module's first match is slow: not in the first review
                result.rules.append(rule)
            except HouseRuleError as problem:
                log.warning("house rule left out: %s", problem)
                result.problems.append(problem)
    log.info("house rules: %d loaded from %s, %d left out", len(result.rules), folder, len(result.problems))
    return result


def load_rule(path: Path, name: Optional[str] = None) -> HouseRule:
    """One rule file, validated and compiled; :class:`HouseRuleError` names the file otherwise."""
    name = name or str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise HouseRuleError(name, f"not UTF-8 text (bad byte at offset {error.start})") from error
    return parse_rule(text, name, style=path.parent.name, rule=path.name.split(".")[0])


def parse_rule(text: str, name: str, style: str, rule: str) -> HouseRule:
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = " ".join(str(part) for part in (error.context, error.problem) if part) or "not valid YAML"
        raise HouseRuleError(name, f"not valid YAML: {reason}", mark.line + 1 if mark else None) from error
    except yaml.YAMLError as error:
        raise HouseRuleError(name, f"not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise HouseRuleError(name, "a rule file is a YAML mapping of keys (extends, message, ...)", 1)
    data = {str(key).lower(): value for key, value in data.items()}  # Vale matches keys case-insensitively

    extends = data.get("extends")
    if not extends:
        raise HouseRuleError(name, "missing the required 'extends' key")
    extends = str(extends)
    if extends in UNSUPPORTED_EXTENDS:
        raise HouseRuleError(name, f"'extends: {extends}' is a Vale rule copyadvisor does not run; "
                             f"supported: {', '.join(SUPPORTED_EXTENDS)}")
    if extends not in SUPPORTED_EXTENDS:
        raise HouseRuleError(name, f"'extends: {extends}' is not a Vale extension point; "
                             f"copyadvisor supports {', '.join(SUPPORTED_EXTENDS)}")
    if "message" not in data or not isinstance(data["message"], str):
        raise HouseRuleError(name, "missing the required 'message' key (text, with %s for the matched words)")
    unknown = sorted(set(data) - COMMON_KEYS - EXTENSION_KEYS[extends])
    if unknown:
        raise HouseRuleError(name, f"{', '.join(repr(k) for k in unknown)}: not a key of a Vale {extends} rule "
                             "(Vale rejects it too)")
    level = data.get("level", DEFAULT_LEVEL)
    if level not in LEVELS:
        raise HouseRuleError(name, f"'level' must be one of {', '.join(LEVELS)}, not {level!r}")
    if data.get("pos"):
        raise HouseRuleError(name, "'pos' needs part-of-speech tagging, which copyadvisor does not do")
    notes = [f"'{key}' is not applied: {why}" for key, why in IGNORED_KEYS.items() if data.get(key)]
    scope = read_scope(name, data.get("scope"), notes)
    ignorecase = flag(name, data, "ignorecase")
    nonword = flag(name, data, "nonword")
    def line_of(fragment: str) -> Optional[int]:  # where a bad regex is written, for the message
        return next((i for i, line in enumerate(text.splitlines(), 1) if fragment and fragment in line), None)

    for term in strings(name, data, "exceptions"):
        check_regex(name, term, "exceptions", line_of(term))
    exceptions = compile_exceptions(name, strings(name, data, "exceptions"))
    swaps: list[Swap] = []
    groups: list[int] = []
    if extends == "existence":
        tokens = [t for t in strings(name, data, "tokens") if t.strip()]
        raw = "".join(strings(name, data, "raw"))
        for token in tokens:  # (raw pieces are joined first, so they are checked together below)
            check_regex(name, token, "tokens", line_of(token))
        if not tokens and not raw:
            raise HouseRuleError(name, "an existence rule needs 'tokens' (or 'raw')")
        source = make_regexp(ignorecase, not nonword and bool(tokens), raw, flag(name, data, "append"))
        source = source.replace("%s", "|".join(tokens), 1) if "%s" in source else source
        what = "tokens"
    else:
        swap = data.get("swap")
        if not isinstance(swap, dict) or not swap:
            raise HouseRuleError(name, "a substitution rule needs 'swap': a mapping of observed: expected")
        swaps = [Swap(str(k), "" if v is None else str(v)) for k, v in swap.items()]
        swaps.sort(key=lambda s: len(s.key), reverse=True)  # Vale: longest key first
        keys, number = [], 1
        for s in swaps:
            check_regex(name, s.key, "swap", line_of(s.key))
            key = CAPTURE_OPEN.sub("(?:", s.key)  # Vale makes a key's own groups non-capturing
            keys.append("(" + key + ")")
            groups.append(number)
            number += 1 + check_regex(name, key, "swap key").groups  # named groups still capture
        source = make_regexp(ignorecase, not nonword, "", True).replace("%s", "|".join(keys), 1)
        what = "swap"
    pattern = check_regex(name, source, what)
    limit = data.get("limit") or 0
    if not isinstance(limit, int) or limit < 0:
        raise HouseRuleError(name, f"'limit' must be a whole number, not {limit!r}")
    return HouseRule(
        id=f"{RULE_PREFIX}.{style}.{rule}", style=style, name=f"{style}.{rule}", path=name, extends=extends,
        level=level, message=data["message"], link=str(data.get("link") or ""),
        description=str(data.get("description") or ""), scope=scope, ignorecase=ignorecase,
        capitalize=flag(name, data, "capitalize"), limit=limit, pattern=pattern, swaps=swaps,
        groups=groups, exceptions=exceptions, notes=notes,
    )


class UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice (PyYAML would silently keep the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def make_regexp(ignorecase: bool, word: bool, raw: str, append: bool) -> str:
    """Vale's makeRegexp: the word (or non-word) template, raw before or after, (?i) first."""
    template = WORD_TEMPLATE if word else NONWORD_TEMPLATE
    source = template + raw if append else raw + template
    return "(?i)" + source if ignorecase else source


def check_regex(name: str, source: str, what: str, line: Optional[int] = None) -> "regex.Pattern":
    try:
        return regex.compile(source, regex.VERSION1)
    except regex.error as error:
        raise HouseRuleError(name, f"'{what}': {source!r} is not a valid regular expression ({error})", line) from error


def compile_exceptions(name: str, terms: list[str]) -> Optional["regex.Pattern"]:
    """Vale's updateExceptions: case-sensitive unless a term starts with (?i), longest first."""
    if not terms:
        return None
    terms = sorted(terms, key=len, reverse=True)
    scoped = [f"(?i:{t[4:]})" if t.startswith("(?i)") else f"(?-i:{t})" for t in terms]
    return check_regex(name, WORD_TEMPLATE % "|".join(scoped), "exceptions")


def read_scope(name: str, value, notes: list[str]) -> str:
    scopes = [value] if isinstance(value, str) else list(value or ["text"])
    chosen = "text"
    for scope in scopes:
        parts = [p.strip() for p in str(scope).split("&")]
        for part in parts:
            base = part.lstrip("~").split(".")[0]
            if part.startswith("~"):
                notes.append(f"scope '{part}' is read as text: a draft has no markup to leave out")
                continue
            if base in MARKUP_SCOPES:
                raise HouseRuleError(name, f"scope '{part}' needs document markup; copyadvisor reviews plain drafts "
                                     f"(supported scopes: {', '.join(PROSE_SCOPES)})")
            if base not in PROSE_SCOPES:
                raise HouseRuleError(name, f"'{part}' is not a Vale scope copyadvisor knows "
                                     f"(supported: {', '.join(PROSE_SCOPES)})")
            if base in ("sentence", "paragraph", "raw"):
                chosen = base
    return chosen


def flag(name: str, data: dict, key: str) -> bool:
    value = data.get(key, False)
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "yes", "1", "on"):  # Vale decodes weakly typed input
        return True
    if str(value).lower() in ("false", "no", "0", "off", "none"):
        return False
    raise HouseRuleError(name, f"'{key}' must be true or false, not {value!r}")


def strings(name: str, data: dict, key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise HouseRuleError(name, f"'{key}' must be a list of strings")


def relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


# --- matching helpers (Vale's behaviour) ---------------------------------------------------


def segments(text: str, scope: str) -> Iterable[tuple[int, str]]:
    """(offset, piece) the rule runs on: the draft (raw), its paragraphs (text, paragraph) or sentences."""
    if scope == "raw":
        yield 0, text
        return
    for paragraph in PARAGRAPH.finditer(text):
        if scope != "sentence":
            yield paragraph.start(), paragraph.group(0)
            continue
        for sentence in SENTENCE.finditer(paragraph.group(0)):
            if sentence.group(0).strip():
                yield paragraph.start() + sentence.start(), sentence.group(0)


def is_exception(pattern: Optional["regex.Pattern"], observed: str) -> bool:
    return bool(pattern and pattern.search(observed))


def vale_format(message: str, *subs: str) -> str:
    """Fill ``%s`` in order, as Vale's FormatMessage (missing values are empty, %% is %)."""
    queue = list(subs)

    def fill(match):
        return "%" if match.group(0) == "%%" else (queue.pop(0) if queue else "")

    return std_re.sub(r"%%|%s", fill, message)


def sentence_of(options: list[str]) -> str:
    """Vale's ToSentence(..., "or"): a, b or c."""
    if len(options) < 2:
        return options[0] if options else ""
    return ", ".join(options[:-1]) + " or " + options[-1]


def is_phrase(text: str) -> bool:
    return all(ch.isalpha() or ch.isdigit() or ch in " -" for ch in text)


def same_token(expected: str, observed: str) -> bool:
    """Vale's matchToken: the draft already says what the rule expects."""
    if is_phrase(expected):
        return expected == observed
    try:
        return regex.fullmatch(f"(?:{expected})", observed, regex.VERSION1) is not None
    except regex.error:
        return expected == observed


def keep_case(replacement: str, observed: str) -> str:
    """The draft's capitalisation on the replacement, as the built-in rules do ("Users" -> "Members",
    "USERS" -> "MEMBERS"); a replacement with capitals of its own ("JavaScript") is kept as written."""
    if not replacement or any(ch.isupper() for ch in replacement):
        return replacement
    return match_case(replacement, observed)


def expand_backreferences(key: str, value: str, observed: str, ignorecase: bool) -> str:
    """``$1`` / ``${name}`` in a swap value, from the key's groups matched on the observed text."""
    try:
        match = regex.fullmatch(key, observed, (regex.IGNORECASE if ignorecase else 0) | regex.VERSION1) or \
            regex.search(key, observed, (regex.IGNORECASE if ignorecase else 0) | regex.VERSION1)
    except regex.error:
        match = None
    if match is None:
        return value

    def group(ref):
        name = ref.group(1).strip("{}")
        try:
            return match.group(int(name) if name.isdigit() else name) or ""
        except (IndexError, regex.error):
            return ""

    return BACKREFERENCE.sub(group, value)


# --- justification ---------------------------------------------------------------------------


def justify(rule: HouseRule, documents: Sequence[DocRef], passages: Sequence[Passage]) -> Optional[Justification]:
    """The passage the rule's ``link`` names (its document, its heading), else the one that mentions its words."""
    by_doc = {d.id: d for d in documents}
    target, _, fragment = rule.link.partition("#")
    local = bool(target) and not regex.match(r"^[a-z][a-z0-9+.-]*:", target, regex.IGNORECASE)
    if local:
        doc = find_document(target, documents)
        if doc is None:
            rule.notes.append(f"link '{rule.link}' names no library document; justified by the rule's words")
        else:
            own = [p for p in passages if p.doc_id == doc.id]
            if fragment:
                under = [p for p in own if slug(fragment) in {slug(h) for h in p.heading.split(" › ")}]
                if under:
                    own = under
                else:
                    rule.notes.append(f"link '{rule.link}': no heading '{fragment}' in {doc.path}")
            if own:
                best = max(own, key=lambda p: len(rule.words_in(p.text)))  # first passage on a tie
                return justification(best, doc, "link")
    scored = [(len(words), p) for p in passages if (words := rule.words_in(p.text))]
    if rule.extends == "substitution":  # a passage that says both what to avoid and what to say instead
        scored = [(n, p) for n, p in scored if n >= 2]
    if not scored:
        return None
    best = max(scored, key=lambda item: item[0])[1]
    doc = by_doc.get(best.doc_id) or DocRef(best.doc_id, best.doc_id, best.doc_id, best.lang)
    return justification(best, doc, "words")


def find_document(target: str, documents: Sequence[DocRef]) -> Optional[DocRef]:
    name = PurePosixPath(target).name
    stem = PurePosixPath(name).stem
    for doc in documents:
        if doc.path == target or PurePosixPath(doc.path).name == name or doc.id == target:
            return doc
    return next((doc for doc in documents if doc.id == stem), None)


def justification(passage: Passage, doc: DocRef, how: str) -> Justification:
    return Justification(passage.id, passage.doc_id, doc.title, passage.lang, quote_of(passage.text), how)


def slug(text: str) -> str:
    """GitHub-style heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = regex.sub(r"[^\w\s-]", "", text.strip().lstrip("#").strip().lower())
    return regex.sub(r"\s+", "-", text)


def quote_of(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


# --- for the advisor and the library -----------------------------------------------------------


def relevant_house_rules(question: str, rules: HouseRules, limit: int = 3) -> list[RelevantRule]:
    """The house rules ``question`` touches by word (the words a rule flags or suggests, or its
    name, e.g. "users", "members", "leverage", "Oxford comma"), most words first, then the
    stricter level; each with the library passage that justifies it, for the answer to cite."""
    if not rules or not isinstance(question, str) or not question.strip():
        return []
    found = [RelevantRule(rule, words, rule.justification) for rule in rules.rules if (words := rule.words_in(question))]
    found.sort(key=lambda r: (-len(r.words), -LEVELS.index(r.rule.level)))
    return found[:limit]


def library_documents(manifest_documents: Iterable[dict]) -> list[DocRef]:
    return [DocRef(str(d.get("id")), str(d.get("path")), str(d.get("title") or d.get("id")), str(d.get("lang")))
            for d in manifest_documents]


def load_library_rules(corpus: Path, index) -> HouseRules:
    """The rules in ``<corpus>/styles``, justified by the passages of a loaded index. Never raises:
    anything unexpected becomes a problem, and the library works without rules."""
    folder = Path(corpus) / STYLES_FOLDER
    try:
        return load_house_rules(folder, library_documents(index.manifest.get("documents", [])), index.passages)
    except Exception as error:  # the library must keep working whatever a rules folder holds
        log.exception("house rules not loaded")
        return HouseRules(folder, problems=[HouseRuleError(STYLES_FOLDER, f"not loaded: {type(error).__name__}: {error}")])


def load_corpus_rules(corpus: Path) -> HouseRules:
    """The rules in ``<corpus>/styles``, justified by the corpus's own passages (no index needed)."""
    from ..retrieval.corpus import CorpusError, load_corpus
    from ..retrieval.terms import build_passages

    try:
        documents = load_corpus(Path(corpus), strict=False).documents
    except CorpusError as error:
        log.warning("house rules without justifications: %s", error)
        documents = []
    refs = [DocRef(d.id, d.path, d.title, d.lang) for d in documents]
    return load_house_rules(Path(corpus) / STYLES_FOLDER, refs, build_passages(documents) if documents else [])


def overview_rows(rules: HouseRules) -> list[list]:
    """One row per rule for the Library tab: style, rule, level, kind, message, justifying document and passage."""
    rows = []
    for rule in rules.rules:
        j = rule.justification
        source = f"{j.doc_title} ({j.passage_id}{', by words' if j.how == 'words' else ''})" if j else "none"
        rows.append([rule.style, rule.name.split(".", 1)[1], rule.level, rule.extends, rule.message, source,
                     j.quote if j else "", "; ".join(rule.notes)])
    return rows
