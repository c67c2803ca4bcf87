"""The clocks visits sets (their `kind`), and which incidents call for what (docs/domain.md §1; Ofsted
2023). The vocabularies themselves are the contracts' (shared/contracts/visits.py)."""

from __future__ import annotations

from shared.contracts.visits import HealthCheckKind, IncidentCategory

STATUTORY_VISIT = "visits.statutory_visit"
FOLLOW_UP_VISIT = "visits.follow_up_visit"
RETURN_HOME_INTERVIEW = "visits.return_home_interview"
COMPLAINT_ACK = "visits.complaint_acknowledgement"
COMPLAINT_STAGE = {1: "visits.complaint_stage1_response", 2: "visits.complaint_stage2_response"}
COMPLAINT_PANEL = "visits.complaint_stage3_panel"
COMPLAINT_PANEL_REPORT = "visits.complaint_stage3_report"
COMPLAINT_PANEL_RESPONSE = "visits.complaint_stage3_response"
COMPLAINT_KINDS = frozenset(
    {COMPLAINT_ACK, *COMPLAINT_STAGE.values(), COMPLAINT_PANEL, COMPLAINT_PANEL_REPORT, COMPLAINT_PANEL_RESPONSE}
)
VISIT_KINDS = frozenset({STATUTORY_VISIT, FOLLOW_UP_VISIT})
WORKLIST_KINDS = frozenset({*VISIT_KINDS, RETURN_HOME_INTERVIEW})  # what a worker goes out for
FOLLOW_UP_KINDS = frozenset({FOLLOW_UP_VISIT, RETURN_HOME_INTERVIEW})
PLAN_REVIEW = "visits.plan_review"
PLAN_ACKNOWLEDGEMENT = "visits.plan_acknowledgement"
PLAN_KINDS = frozenset({PLAN_REVIEW, PLAN_ACKNOWLEDGEMENT})
RISK_ASSESSMENT_REVIEW = "visits.risk_assessment_review"
RISK_REVIEW_AFTER_INCIDENT = "visits.risk_assessment_after_incident"
RISK_KINDS = frozenset({RISK_ASSESSMENT_REVIEW, RISK_REVIEW_AFTER_INCIDENT})
INITIAL_HEALTH_ASSESSMENT = "visits.initial_health_assessment"
HEALTH_ASSESSMENT = "visits.health_assessment"
DENTAL_CHECK = "visits.dental_check"
HEALTH_PLAN_REVIEW = "visits.health_plan_review"
HEALTH_KINDS = frozenset({INITIAL_HEALTH_ASSESSMENT, HEALTH_ASSESSMENT, DENTAL_CHECK, HEALTH_PLAN_REVIEW})
LAC_REVIEW = "visits.looked_after_review"
CONCERN_RESPONSE = "visits.concern_response"
STRATEGY_DISCUSSION = "visits.strategy_discussion"
# The duties of looking after a child (CPPR 2010), which end when the child is no longer looked
# after, health assessments among them; a complaint or a concern about the child is still answered.
LOOKED_AFTER_KINDS = frozenset({*WORKLIST_KINDS, *RISK_KINDS, *PLAN_KINDS, *HEALTH_KINDS, LAC_REVIEW})

# The clocks each kind of health check meets.
HEALTH_CLOCKS_MET: dict[HealthCheckKind, frozenset[str]] = {
    HealthCheckKind.INITIAL_HEALTH_ASSESSMENT: frozenset({INITIAL_HEALTH_ASSESSMENT, HEALTH_ASSESSMENT}),
    HealthCheckKind.REVIEW_HEALTH_ASSESSMENT: frozenset({INITIAL_HEALTH_ASSESSMENT, HEALTH_ASSESSMENT}),
    HealthCheckKind.DENTAL_CHECK: frozenset({DENTAL_CHECK}),
}

# Incidents after which a social worker must see the child (docs/domain.md §1: overdose, self-harm,
# missing, police called; plus exploitation and a child protection enquiry, which are as serious).
FOLLOW_UP_CATEGORIES = frozenset(
    {
        IncidentCategory.OVERDOSE,
        IncidentCategory.SELF_HARM,
        IncidentCategory.MISSING,
        IncidentCategory.POLICE_CALLED,
        IncidentCategory.SEXUAL_EXPLOITATION,
        IncidentCategory.CHILD_PROTECTION_ENQUIRY_STARTED,
    }
)

# A serious incident forces the child's risk assessment to be reviewed (Ofsted 2023: assessments
# "not regularly reviewed or linked to children's ongoing safety needs").
RISK_REVIEW_CATEGORIES = frozenset(
    {
        IncidentCategory.SELF_HARM,
        IncidentCategory.OVERDOSE,
        IncidentCategory.MISSING,
        IncidentCategory.POLICE_CALLED,
        IncidentCategory.VIOLENCE,
        IncidentCategory.ASSAULT_ON_CARER,
        IncidentCategory.SUBSTANCE_MISUSE,  # issue 18: substance misuse reviews the risk assessment too
    }
)

# A seizure or substance misuse: the health plan is reviewed (Ofsted 2023: seizures and substance
# misuse "not monitored well").
HEALTH_PLAN_REVIEW_CATEGORIES = frozenset({IncidentCategory.SEIZURE, IncidentCategory.SUBSTANCE_MISUSE})

# The health timeline (Ofsted 2023: seizures, substance misuse and self-harm "not monitored well").
HEALTH_TIMELINE_CATEGORIES = frozenset(
    {
        IncidentCategory.SEIZURE,
        IncidentCategory.SELF_HARM,
        IncidentCategory.OVERDOSE,
        IncidentCategory.SUBSTANCE_MISUSE,
        IncidentCategory.MEDICATION_ERROR,
        IncidentCategory.MEDICATION_REFUSED,
    }
)


def complaint_stage_kind(stage: int) -> str:
    return COMPLAINT_PANEL if stage == 3 else COMPLAINT_STAGE[stage]


def complaint_response_kind(stage: int) -> str:
    """The clock a response at `stage` meets: at stage 3, the agency's response to the panel's report."""
    return COMPLAINT_PANEL_RESPONSE if stage == 3 else COMPLAINT_STAGE[stage]
