from gridmap.models.access import AuditAction, AuditEvent, Profile, UserRole
from gridmap.models.aggregates import Measure, MonthEndBuild, MonthEndCount, MonthEndDirty, MonthEndGroupCount
from gridmap.models.areas import LEVELS, PARENT_LEVEL, Area, AreaLevel, AreaQuerySet
from gridmap.models.atlas import AtlasJob, AtlasPer, JobStatus, Paper
from gridmap.models.cases import (
    Case,
    CaseSchoolChange,
    CaseStatus,
    CaseStep,
    ContentArea,
    DisabilityLevel,
    GoalResult,
    HomeTeachingPlan,
    HomeVisit,
    PlanGoal,
    Step,
    TeachingPlace,
    Term,
)
from gridmap.models.children import (
    KEY_GROUPS,
    Child,
    ChildStatus,
    ChildStatusChange,
    DisabilityCategory,
    Household,
    ResidenceBasis,
)
from gridmap.models.ledgers import Absence, CalendarDay, FollowUpPlan, FollowUpReview, ReportSubmission
from gridmap.models.people import Person, Responsibility, Role, Sex
from gridmap.models.roads import Feature, Road, RoadClass, RoadEdge, RoadVertex
from gridmap.models.safetynet import AidKind, AidRecord, Arrival, Transfer, TransferScope
from gridmap.models.schools import (
    CatchmentAssignment,
    School,
    SchoolClass,
    SchoolKind,
    SchoolStatus,
    Stage,
)

__all__ = [
    "Measure", "MonthEndBuild", "MonthEndCount", "MonthEndDirty", "MonthEndGroupCount",
    "AtlasJob", "AtlasPer", "JobStatus", "Paper",
    "Absence", "CalendarDay", "FollowUpPlan", "FollowUpReview", "ReportSubmission",
    "AuditAction", "AuditEvent", "Profile", "UserRole",
    "KEY_GROUPS", "LEVELS", "PARENT_LEVEL", "Area", "AreaLevel", "AreaQuerySet", "Case",
    "CaseSchoolChange", "CaseStatus", "CaseStep", "CatchmentAssignment", "Child", "ChildStatus", "ChildStatusChange",
    "DisabilityCategory", "Feature", "HomeTeachingPlan", "HomeVisit", "Household", "Person",
    "ResidenceBasis", "Responsibility", "Road", "RoadClass", "RoadEdge", "RoadVertex", "Role", "School",
    "SchoolClass", "SchoolKind",
    "SchoolStatus", "Sex", "Stage", "Step",
    "ContentArea", "DisabilityLevel", "GoalResult", "PlanGoal", "TeachingPlace", "Term",
    "AidKind", "AidRecord", "Arrival", "Transfer", "TransferScope",
]
