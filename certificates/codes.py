"""Certificate codes: unguessable, yet easy to read aloud, type on a phone and check by eye.

A code is 16 symbols of Crockford's base-32 alphabet (80 random bits) and one check symbol,
printed in groups: ``7KQ4-M2XD-9HRT-W3ZP-6``. Reading one back forgives case, spaces and dashes,
and the letters people confuse with digits (O → 0, I and L → 1), as Crockford intended. The
check symbol (Luhn mod 32) catches every single mistyped symbol and every swap of two
neighbours but ``0Z``/``Z0``, so a typo is told apart from a code nobody issued.
"""

import secrets
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
DATA_LENGTH = 16  # 16 × 5 bits = 80 bits
CODE_LENGTH = DATA_LENGTH + 1
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", " -_.\t\n\u00a0\u2010\u2011\u2012\u2013\u2014")


def check_symbol(data: str) -> str:
    """Luhn mod N (N = 32) over ``data``: all single errors, all adjacent swaps but 0Z/Z0."""
    factor, total, n = 2, 0, len(ALPHABET)
    for symbol in reversed(data):
        addend = factor * _VALUE[symbol]
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def code_generate() -> str:
    """A new random code (canonical form, no dashes)."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return data + check_symbol(data)


def code_display(code: str) -> str:
    """``7KQ4M2XD9HRTW3ZP6`` → ``7KQ4-M2XD-9HRT-W3ZP-6``."""
    groups = [code[i : i + 4] for i in range(0, DATA_LENGTH, 4)]
    return "-".join([*groups, code[DATA_LENGTH:]])


@dataclass(frozen=True)
class ParsedCode:
    code: str  # canonical form when ok, else what was read
    ok: bool
    problem: str = ""  # "", "length", "symbol", "check"


def code_parse(text: str) -> ParsedCode:
    """Read a typed code. ``problem`` says why it cannot be a code we issued."""
    cleaned = (text or "").upper().translate(_IGNORED).translate(_CONFUSABLE)
    if len(cleaned) != CODE_LENGTH:
        return ParsedCode(cleaned, False, "length")
    if any(symbol not in _VALUE for symbol in cleaned):
        return ParsedCode(cleaned, False, "symbol")
    if check_symbol(cleaned[:DATA_LENGTH]) != cleaned[DATA_LENGTH]:
        return ParsedCode(cleaned, False, "check")
    return ParsedCode(cleaned, True)
