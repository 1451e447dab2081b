"""The safety net's records that the monthly report counts: student aid per child and term (资助), and
transfers out followed until the child arrives (流转学生). The rules that read them are in
gridmap.aid and gridmap.transfers; the pages, the importer and the checks in safetynet/ and importers/.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from gridmap.models.cases import Term
from gridmap.models.children import Child, ChildStatusChange
from gridmap.models.schools import School


class AidKind(models.TextChoices):
    NATIONAL_GRANT = "national_grant", _("national grant")  # 国家助学金
    BOARDING = "boarding", _("boarding pupils' living allowance")  # 寄宿生生活补助
    LIVING = "living", _("living allowance for day pupils")  # 家庭经济困难学生（非寄宿生）生活补助
    NUTRITION = "nutrition", _("nutrition improvement programme")  # 营养改善计划
    FEE_WAIVER = "fee_waiver", _("fees and textbooks waived")  # 免学费/免教科书
    TEMPORARY = "temporary", _("temporary relief")  # 临时救助
    SOCIAL = "social", _("social aid")  # 社会资助
    OTHER = "other", _("other aid")  # 其他资助


class AidRecord(models.Model):
    """One grant of aid to a child for a term (学年, 学期), as the bureau's aid workbook lists it."""

    child = models.ForeignKey(Child, verbose_name=_("child"), on_delete=models.CASCADE, related_name="aid_records")
    school_year = models.PositiveSmallIntegerField(_("school year"), help_text=_("year in which it began on 1 September"))
    term = models.CharField(_("term"), max_length=1, choices=Term.choices)
    kind = models.CharField(_("kind of aid"), max_length=20, choices=AidKind.choices)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=9, decimal_places=2)
    date = models.DateField(_("granted on"))
    source = models.CharField(_("source of funds"), max_length=100, blank=True)
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    imported_from = models.CharField(_("imported from"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("aid record")
        verbose_name_plural = _("aid records")
        ordering = ["child", "-school_year", "-term", "date"]
        constraints = [
            models.UniqueConstraint(fields=["child", "school_year", "term", "kind", "date"], name="one_aid_record"),
            models.CheckConstraint(name="aid_amount_not_negative", condition=Q(amount__gte=0)),
        ]
        indexes = [models.Index(fields=["school_year", "term", "child"])]

    def __str__(self) -> str:
        return f"{self.child} {self.school_year}-{self.term} {self.get_kind_display()} {self.amount}"


class TransferScope(models.TextChoices):
    WITHIN = "within", _("within the county")  # 县内
    OUTSIDE = "outside", _("outside the county")  # 县外


class Arrival(models.TextChoices):
    ROLL = "roll", _("on a roll in the county")  # 转入学校名册已有该生
    RECEIPT = "receipt", _("transfer receipt recorded")  # 学籍转接回执


class Transfer(models.Model):
    """A transfer out (转出) followed until the child arrives: within the county when a school roll of
    the county shows the child again, outside it when the receipt of the registry transfer (学籍转接)
    is recorded (gridmap.transfers)."""

    child = models.ForeignKey(Child, verbose_name=_("child"), on_delete=models.CASCADE, related_name="transfers")
    date = models.DateField(_("transferred out on"))
    from_school = models.ForeignKey(School, verbose_name=_("school left"), on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="transfers_out")
    scope = models.CharField(_("destination"), max_length=10, choices=TransferScope.choices)
    to_school = models.ForeignKey(School, verbose_name=_("receiving school"), on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="transfers_in")
    destination = models.CharField(_("destination as written"), max_length=200, blank=True,
                                   help_text=_("outside the county: province, county and school"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    status_change = models.OneToOneField(ChildStatusChange, verbose_name=_("status change"), on_delete=models.SET_NULL,
                                         null=True, blank=True, related_name="transfer")
    completed_on = models.DateField(_("arrived on"), null=True, blank=True)
    arrival = models.CharField(_("arrival shown by"), max_length=10, choices=Arrival.choices, blank=True)
    arrived_school = models.ForeignKey(School, verbose_name=_("roll that shows the child"), on_delete=models.PROTECT,
                                       null=True, blank=True, related_name="+")
    receipt_number = models.CharField(_("receipt number"), max_length=60, blank=True)
    receipt_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("receipt recorded by"),
                                   on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(name="transfer_within_names_a_school",
                                   condition=~Q(scope=TransferScope.WITHIN) | Q(to_school__isnull=False)),
            models.CheckConstraint(name="transfer_outside_names_a_place",
                                   condition=~Q(scope=TransferScope.OUTSIDE) | ~Q(destination="")),
            models.CheckConstraint(name="transfer_arrival_with_date",
                                   condition=Q(completed_on__isnull=True, arrival="")
                                   | Q(completed_on__isnull=False, completed_on__gte=F("date")) & ~Q(arrival="")),
        ]
        indexes = [models.Index(fields=["completed_on", "date"])]

    def __str__(self) -> str:
        return f"{self.child} {self.date} → {self.to_school or self.destination}"

    @property
    def where(self) -> str:
        """The destination in words."""
        if self.scope == TransferScope.WITHIN and self.to_school is not None:
            return self.to_school.name
        return self.destination
