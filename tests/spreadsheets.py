"""Text that a spreadsheet would run as a formula, for the tests of every CSV and XLSX export."""

#: Values a person can type (a name, a title) that begin with a formula trigger.
FORMULA_VALUES = [
    "=1+1",
    '=HYPERLINK("http://x","y")',
    "@SUM(A1)",
    "+1",
    "-1",
    "\tTab-led",
    "\rCR-led",
]


def as_text(value: str) -> str:
    """What every export must write instead of ``value``: an apostrophe in front."""
    return "'" + value
