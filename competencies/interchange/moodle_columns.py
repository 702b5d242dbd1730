"""The columns of Moodle's competency-framework CSV (admin tool ``tool_lpimportcsv``) and the
values Moodle writes in them, shared by the reader and the writer."""

from competencies.models import CompetencyItem, Framework, ScaleLevel

PARENT = "Parent ID number"
ID_NUMBER = "ID number"
SHORT_NAME = "Short name"
DESCRIPTION = "Description"
DESCRIPTION_FORMAT = "Description format"
SCALE_VALUES = "Scale values"
SCALE_CONFIGURATION = "Scale configuration"
RULE_TYPE = "Rule type (optional)"
RULE_OUTCOME = "Rule outcome (optional)"
RULE_CONFIG = "Rule config (optional)"
CROSS_REFERENCES = "Cross-referenced competency ID numbers"
EXPORTED_ID = "Exported ID (optional)"
IS_FRAMEWORK = "Is framework"
TAXONOMY = "Taxonomy"

#: The columns of Moodle's framework CSV, in the order Moodle writes (and reads) them, with
#: the English names of today's Moodle. Older versions spell them "Parent id number",
#: "Shortname", "Cross referenced competency id numbers"…; other languages translate them.
MOODLE_HEADERS = [
    PARENT,
    ID_NUMBER,
    SHORT_NAME,
    DESCRIPTION,
    DESCRIPTION_FORMAT,
    SCALE_VALUES,
    SCALE_CONFIGURATION,
    RULE_TYPE,
    RULE_OUTCOME,
    RULE_CONFIG,
    CROSS_REFERENCES,
    EXPORTED_ID,
    IS_FRAMEWORK,
    TAXONOMY,
]

RULE_ALL = "core_competency\\competency_rule_all"
RULE_POINTS = "core_competency\\competency_rule_points"
RULE_TYPES = {RULE_ALL.lower(): "all", RULE_POINTS.lower(): "points"}
RULE_CLASSES = {"all": RULE_ALL, "points": RULE_POINTS}
#: Moodle's rule outcome "complete the competency": what our rules mean.
OUTCOME_COMPLETE = "2"

#: Moodle's taxonomy words and the kind each becomes here.
TAXONOMY_KINDS = {
    "behaviour": "indicator",
    "competency": "competency",
    "concept": "competency",
    "domain": "domain",
    "indicator": "indicator",
    "level": "competency",
    "outcome": "competency",
    "practice": "competency",
    "proficiency": "competency",
    "skill": "competency",
    "value": "competency",
}
MAX_TAXONOMY_LEVELS = 6  # Moodle refuses more

FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN = "0", "1", "2", "4"
FORMATS = {FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN}

# Field sizes of our tables, checked here so a file never reaches the database with a value
# it cannot hold.
MAX_ITEM_CODE = CompetencyItem._meta.get_field("code").max_length
MAX_FRAMEWORK_CODE = Framework._meta.get_field("code").max_length
MAX_TITLE = Framework._meta.get_field("title").max_length
MAX_SHORT_NAME = CompetencyItem._meta.get_field("abbreviated_statement").max_length
MAX_LEVEL_NAME = ScaleLevel._meta.get_field("name").max_length
MAX_LEVELS = 1000
#: Moodle shortens longer short names on import.
MOODLE_SHORT_NAME_LENGTH = 100

TRUE = {"1", "true", "yes"}
FALSE = {"", "0", "false", "no"}
