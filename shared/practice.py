"""Local practice: the numbers docs/domain.md marks "(local)", the agency's to set, not law. Each is
one field with the practice it encodes; statutory numbers stay in each service's rules as data.

They are sections of the one Settings object (shared/settings.py), read from their own variables:
`CARELOG_VISITS_*`, `CARELOG_CARERS_*` and `CARELOG_RETENTION_*`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class VisitsPractice(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARELOG_VISITS_", extra="ignore", frozen=True)

    follow_up_working_days: int = Field(2, ge=1, le=20)  # visit after a serious incident (Ofsted finding)
    complaint_ack_hours: int = Field(48, ge=1, le=240)  # acknowledgement "within 48 hours", clock hours (NCT KPI)
    worklist_horizon_days: int = Field(14, ge=1, le=365)  # GET /visits/due without `before`
    plan_ack_working_days: int = Field(5, ge=1, le=20)  # carers acknowledge a shared plan (reg 17)
    risk_review_after_incident_working_days: int = Field(5, ge=1, le=20)  # risk assessment after an incident
    dental_check_months: int = Field(12, ge=1, le=24)  # dental check for looked-after children
    concern_response_working_days: int = Field(2, ge=1, le=20)  # a concern acted on (Ofsted finding)
    health_plan_review_working_days: int = Field(5, ge=1, le=20)  # after a seizure or substance misuse
    strategy_discussion_working_days: int = Field(1, ge=1, le=5)  # after a child protection enquiry (WT 2023)


class CarersPractice(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARELOG_CARERS_", extra="ignore", frozen=True)

    supervision_months: int = Field(1, ge=1, le=12)  # NMS 21 says "regular"; monthly is common practice
    dbs_renewal_years: int = Field(3, ge=1, le=10)  # the enhanced DBS renewed every 3 years
    safeguarding_renewal_years: int = Field(3, ge=1, le=10)  # safeguarding training renewed
    lado_written_confirmation_working_days: int = Field(3, ge=1, le=20)  # LADO referral confirmed in writing
    approval_review_days: int = Field(28, ge=1, le=365)  # approval reviewed after a substantiated allegation
    due_soon_days: int = Field(14, ge=0, le=90)  # compliance shows "due_soon" this close to a due date
    needs_training_days: int = Field(28, ge=1, le=365)  # carers trained for a placed child's needs
    ending_record_working_days: int = Field(5, ge=1, le=60)  # an incomplete ending record completed
    worker_supervision_months: int = Field(1, ge=1, le=12)  # a social worker's own supervision
    staff_training_renewal_years: int = Field(3, ge=1, le=10)  # staff safeguarding/supervision training
    caseload_children_target: int = Field(20, ge=1, le=200)  # children per children's social worker
    caseload_households_target: int = Field(16, ge=1, le=200)  # households per supervising social worker
    enquiry_reply_working_days: int = Field(1, ge=1, le=20)  # a fostering enquiry answered (NMS 13)
    stage1_decision_working_days: int = Field(10, ge=1, le=60)  # stage 1 decided after its last check returns
    stage2_months: int = Field(4, ge=1, le=12)  # stage 2 (Form F) completed after the application
    applicant_notice_working_days: int = Field(5, ge=1, le=20)  # the applicant told the decision in writing
    panel_quorum: int = Field(5, ge=2, le=20)  # members present for a fostering panel to recommend
    ssw_first_visit_days: int = Field(7, ge=1, le=60)  # the SSW sees a newly placed child (NMS 21; scrutiny)
    ssw_seen_months: int = Field(3, ge=1, le=12)  # the SSW sees each placed child (NMS 21; Ofsted finding)
    ssw_seen_alone_months: int = Field(6, ge=1, le=24)  # the SSW sees each placed child alone
    bedroom_seen_months: int = Field(3, ge=1, le=12)  # any visitor sees each placed child's bedroom (Ofsted)


class RetentionPractice(BaseSettings):
    """How long the agency keeps what no statute times (services/retention/rules.py names each
    rule's source); `carelog retention run` applies them."""

    model_config = SettingsConfigDict(env_prefix="CARELOG_RETENTION_", extra="ignore", frozen=True)

    staff_years: int = Field(6, ge=1, le=100)  # a worker's own records, after their last record
    access_log_years: int = Field(6, ge=1, le=100)  # each read of a child's record, after the read
