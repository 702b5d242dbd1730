"""Demo frameworks: one for para-professional social service workers, built around the duties
the workforce performs, and a smaller national framework crosswalked to it.

Written for the demo; the wording draws on the common shape of para-professional social
service competency frameworks (coordination, assessment, referral, case management,
alternative care, psychosocial support, community mobilisation, advocacy).
"""

from django.db import transaction

from competencies import services
from competencies.interchange import AssociationData, FrameworkData, ItemData, LevelData
from competencies.models import CompetencyItem, Framework
from lms.models import Institution

SCALE = [
    LevelData("Not yet competent", code="0", description="Cannot yet do this without help."),
    LevelData("Developing", code="1", description="Does this with supervision."),
    LevelData(
        "Competent", code="2", description="Does this on their own, safely.", is_proficient=True
    ),
    LevelData("Proficient", code="3", description="Does this well and can guide others."),
]

# code, statement, [(code, statement, [indicator statements])]
PARA_PROFESSIONAL_TREE = [
    (
        "PP.1",
        "Child safeguarding, ethics and values",
        [
            (
                "PP.1.1",
                "Applies the best interests of the child in every decision",
                [
                    "Explains the best-interests principle in their own words",
                    "Asks for and records the child's views in age-appropriate ways",
                ],
            ),
            (
                "PP.1.2",
                "Keeps information confidential and shares it only as procedures allow",
                [
                    "Stores case records securely",
                    "Shares information only with consent or where a child is at risk",
                ],
            ),
            (
                "PP.1.3",
                "Recognises and reports signs of violence, abuse, exploitation and neglect",
                [
                    "Names the signs of physical, emotional and sexual abuse and of neglect",
                    "Follows the reporting procedure within the required time",
                ],
            ),
        ],
    ),
    (
        "PP.2",
        "Coordination with other service providers",
        [
            (
                "PP.2.1",
                "Maps the services available to children and families in the area",
                [
                    "Keeps an up-to-date service directory for the community",
                ],
            ),
            (
                "PP.2.2",
                "Takes part in case conferences and multi-agency meetings",
                [
                    "Presents a case clearly and agrees actions with other providers",
                    "Follows up agreed actions and reports back",
                ],
            ),
        ],
    ),
    (
        "PP.3",
        "Strengths-based assessment",
        [
            (
                "PP.3.1",
                "Identifies the strengths and resources of the child, family and community",
                [
                    "Uses a strengths-based assessment tool with the family",
                    "Records at least three family strengths in the assessment",
                ],
            ),
            (
                "PP.3.2",
                "Assesses risks to the child's safety and well-being",
                [
                    "Completes a safety assessment and rates the level of risk",
                    "Recognises when immediate protective action is needed",
                ],
            ),
        ],
    ),
    (
        "PP.4",
        "Referral to services",
        [
            (
                "PP.4.1",
                "Refers children and families to the services they need",
                [
                    "Completes a referral form with consent",
                    "Accompanies or supports the family to reach the service",
                ],
            ),
            (
                "PP.4.2",
                "Follows up referrals until the service is received",
                [
                    "Tracks referrals and their outcome in the case record",
                ],
            ),
        ],
    ),
    (
        "PP.5",
        "Case management",
        [
            (
                "PP.5.1",
                "Opens and documents a case according to procedures",
                [
                    "Opens a case file with the child's and family's details",
                    "Keeps case notes up to date after every contact",
                ],
            ),
            (
                "PP.5.2",
                "Develops and reviews a case plan with the child and family",
                [
                    "Sets goals, actions and timelines with the family",
                    "Reviews the plan at agreed intervals",
                ],
            ),
            (
                "PP.5.3",
                "Closes or transfers a case safely",
                [
                    "Checks case goals are met before closure",
                ],
            ),
        ],
    ),
    (
        "PP.6",
        "Children in alternative care and reintegration",
        [
            (
                "PP.6.1",
                "Monitors children in kinship, foster and residential care",
                [
                    "Visits the child in care at the agreed frequency",
                    "Speaks with the child alone and records their views",
                ],
            ),
            (
                "PP.6.2",
                "Supports the safe reintegration of children into their families",
                [
                    "Prepares the child and family before reunification",
                    "Follows up the family after reunification",
                ],
            ),
        ],
    ),
    (
        "PP.7",
        "Counselling and psychosocial support",
        [
            (
                "PP.7.1",
                "Provides basic psychosocial support to children and caregivers",
                [
                    "Uses active listening and psychological first aid",
                    "Recognises distress that needs specialised help and refers",
                ],
            ),
            (
                "PP.7.2",
                "Supports positive parenting and caregiver well-being",
                [
                    "Facilitates a parenting session using an approved curriculum",
                ],
            ),
        ],
    ),
    (
        "PP.8",
        "Community mobilisation on harmful norms",
        [
            (
                "PP.8.1",
                "Engages community members to prevent violence against children",
                [
                    "Facilitates a community dialogue on a harmful practice",
                    "Works with leaders and groups to agree community action",
                ],
            ),
        ],
    ),
    (
        "PP.9",
        "Policy work and advocacy",
        [
            (
                "PP.9.1",
                "Explains the child protection laws and policies relevant to the work",
                [
                    "Describes the duties the law gives social service workers",
                ],
            ),
            (
                "PP.9.2",
                "Brings gaps in services to the attention of decision makers",
                [
                    "Documents service gaps with evidence from cases",
                ],
            ),
        ],
    ),
]

# code, statement, crosswalk to the para-professional framework (exactMatchOf)
NATIONAL_TREE = [
    (
        "NPS.A",
        "Protection and safeguarding",
        None,
        [
            ("NPS.A1", "Identifies and reports child protection concerns", "PP.1.3"),
            ("NPS.A2", "Respects confidentiality", "PP.1.2"),
        ],
    ),
    (
        "NPS.B",
        "Working with families",
        None,
        [
            ("NPS.B1", "Assesses families using a strengths-based approach", "PP.3.1"),
            ("NPS.B2", "Manages cases from opening to closure", "PP.5.2"),
            ("NPS.B3", "Refers and follows up", "PP.4.1"),
        ],
    ),
    (
        "NPS.C",
        "Community work",
        None,
        [
            ("NPS.C1", "Mobilises communities against harmful practices", "PP.8.1"),
        ],
    ),
]


def para_professional_data(*, creator: str) -> FrameworkData:
    items = []
    for d_order, (d_code, d_text, competencies) in enumerate(PARA_PROFESSIONAL_TREE):
        items.append(
            ItemData(key=d_code, code=d_code, kind="domain", full_statement=d_text, order=d_order)
        )
        for c_order, (c_code, c_text, indicators) in enumerate(competencies):
            items.append(
                ItemData(
                    key=c_code, code=c_code, full_statement=c_text, parent_key=d_code, order=c_order
                )
            )
            for i_order, i_text in enumerate(indicators):
                code = f"{c_code}.{chr(ord('a') + i_order)}"
                items.append(
                    ItemData(
                        key=code,
                        code=code,
                        kind="indicator",
                        full_statement=i_text,
                        parent_key=c_code,
                        order=i_order,
                    )
                )
    return FrameworkData(
        title="Para-Professional Social Service Workforce Competencies",
        code="PSSW",
        version="1.0",
        creator=creator,
        description=(
            "What a para-professional social service worker — a community case worker, child "
            "and youth care worker or trained volunteer — needs to know and do to protect "
            "children and support families."
        ),
        licence="CC BY 4.0",
        licence_uri="https://creativecommons.org/licenses/by/4.0/",
        levels=list(SCALE),
        items=items,
    )


def national_data(*, para_professional: Framework) -> FrameworkData:
    ours = {
        item.code: str(item.identifier)
        for item in CompetencyItem.objects.filter(framework=para_professional)
    }
    items, associations = [], []
    for d_order, (d_code, d_text, _, competencies) in enumerate(NATIONAL_TREE):
        items.append(
            ItemData(key=d_code, code=d_code, kind="domain", full_statement=d_text, order=d_order)
        )
        for c_order, (c_code, c_text, match) in enumerate(competencies):
            items.append(
                ItemData(
                    key=c_code, code=c_code, full_statement=c_text, parent_key=d_code, order=c_order
                )
            )
            if match:
                associations.append(
                    AssociationData("exactMatchOf", origin_key=c_code, destination_key=ours[match])
                )
    return FrameworkData(
        title="National Para Social Worker Standards",
        code="NPSW",
        version="2024",
        creator="National Council for Social Service Professions",
        description="The council's national standards, crosswalked to the institution's framework.",
        levels=list(SCALE),
        items=items,
        associations=associations,
    )


@transaction.atomic
def seed() -> None:
    institution = Institution.objects.filter(slug="ubuntu-institute").first()
    if institution is None or Framework.objects.filter(code="PSSW").exists():
        return
    para = services.framework_import(
        data=para_professional_data(creator=institution.name), owner_institution=institution
    )
    services.framework_publish(framework=para)
    national = services.framework_import(data=national_data(para_professional=para))
    services.framework_publish(framework=national)
