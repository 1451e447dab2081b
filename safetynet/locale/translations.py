"""The Chinese of the safety net's strings (issue 18), written once here and turned into
zh_Hans/LC_MESSAGES/django.po by `python safetynet/locale/translations.py` after makemessages.

The catalog also carries the few strings the safety net added to core files (gridmap's models, the
dashboard and report templates, the menu, the import page, layers/safetynet.py): Django merges every
app's catalog, so gridmap's own .po — which others edit — stays untouched."""

ZH = {
    "Safety net for key groups": "重点人群保障",
    "Safety net": "重点人群保障",
    "safety net for key groups": "重点人群保障",
    "The date cannot be later than today.": "日期不能晚于今天。",
    "Enter a date from 2000 on.": "请填写2000年以后的日期。",
    "Transferred out on": "转出日期",
    "Destination": "转往",
    "Receiving school (within the county)": "转入学校（县内）",
    "Province, county and school (outside the county)": "转入地的省、县和学校（县外）",
    "Reason": "原因",
    "Choose the receiving school.": "请选择转入学校。",
    "Write where the child goes: province, county and school.": "请写明转往何处：省、县和学校。",
    "Receipt dated": "回执日期",
    "Receipt number": "回执编号",
    "receipt number": "回执编号",
    "school": "学校",
    "school year": "学年",
    "term": "学期",
    "checked on": "核查日期",
    "the statuses and the same-day rule of this day": "按当日的状态和当日报告规则",
    "expected": "应到",
    "of them grade-1 entrants": "其中一年级新生",
    "reported": "实到",
    "figures": "数据",
    "empty for the demo county's generated checks": "演示县的生成数据为空",
    "empty for the demo county's generated reports": "演示县的生成数据为空",
    "term-start check": "开学初核查",
    "term-start checks": "开学初核查",
    "not reported, no reason given": "无故未报到",
    "ill, on sick leave": "病假",
    "on leave for a stated reason": "事假",
    "moved away: transfer to be recorded": "已随家长外出，待办转学",
    "check": "核查",
    "child": "儿童",
    "grade due": "应读年级",
    "grade-1 entrant": "一年级新生",
    "reason": "原因",
    "note": "备注",
    "entry on the suspected ledger": "疑似辍学登记",
    "child missing at the term-start check": "开学初核查未报到儿童",
    "children missing at the term-start check": "开学初核查未报到儿童",
    "term-start check report": "开学初核查报告",
    "term-start check reports": "开学初核查报告",
    "unexcused absence": "无故缺勤",
    "suspected before": "曾疑似辍学",
    "key grade": "关键年级",
    "key group": "重点人群",
    "no aid while eligible": "应助未助",
    "long way to school": "上学路远",
    "transfer not arrived": "流转未完成",
    "%(n)s days in the last %(w)s days": "近%(w)s天内%(n)s天",
    "last entered %(d)s": "最近一次 %(d)s",
    "grade %(g)s": "%(g)s年级",
    "out %(n)s days, not arrived (流转未到)": "转出%(n)s天未到达（流转未到）",
    "out %(n)s days, in transit": "转出%(n)s天，在途",
    "no school teaching the grade reachable by road": "道路不通任何开设该年级的学校",
    "%(m)s min to own school, norm %(lim)s": "到就读学校%(m)s分钟，标准%(lim)s分钟",
    "%(m)s min to the nearest school, norm %(lim)s": "到最近学校%(m)s分钟，标准%(lim)s分钟",
    "At a glance": "概览",
    "Aid check": "应助尽助",
    "Transfers": "流转学生",
    "Term-start check": "开学初核查",
    "Early warning": "辍学预警",
    "Term": "学期",
    "Aid check (应助尽助)": "应助尽助核查",
    "aid check": "应助尽助核查",
    "As of %(d)s: children on the school-age ledger in a key group eligible for aid with no aid of this term "
    "granted yet, counted as the monthly report counts them.":
        "截至 %(d)s：适龄儿童台账上属于资助对象类别、本学期尚未获得任何资助的儿童，口径与月报的“应助未助”相同。",
    "Eligible groups": "资助对象类别",
    "Export": "导出",
    "School": "学校",
    "eligible": "应助人数",
    "aided": "已资助",
    "without aid": "应助未助",
    "coverage": "资助覆盖率",
    "Total": "合计",
    "Eligible children without aid this term": "本学期应助未助儿童",
    "ID number (masked)": "身份证号（脱敏）",
    "village group": "村民小组",
    "status": "状态",
    "eligible as": "资助对象类别",
    "last aid": "上次资助",
    "ID": "身份证号",
    "Every eligible child has aid this term.": "本学期所有资助对象均已获得资助。",
    "Counts of 1 to 4 children are shown as “<5”; the list of children is for the logins that may see them.":
        "1至4名儿童的人数显示为“<5”；儿童名单仅向可查看个人信息的账号显示。",
    "As of %(d)s.": "截至 %(d)s。",
    "eligible without aid": "应助未助",
    "Transfers (流转学生)": "流转学生",
    "not completed": "未完成",
    "not arrived (流转未到)": "流转未到",
    "Term-start check (开学初核查)": "开学初核查",
    "report by %(d)s": "%(d)s前上报",
    "Early warning (辍学预警)": "辍学预警",
    "Points per factor": "各因素分值",
    "who to visit first": "优先家访名单",
    "How the list is ordered": "名单如何排序",
    "Each factor adds points; the list is ordered by the total, then by more unexcused days, more factors, the "
    "higher grade. Unexcused absences count per day in the last %(window)s days, at most %(cap)s days. The weights "
    "are set by the bureau and are a starting point, not a prediction.":
        "每个因素计分，按总分排序；总分相同时，无故缺勤天数多者在前，其次因素多者在前，再次年级高者在前。无故缺勤按近%(window)s天"
        "内的天数计分，最多计%(cap)s天。分值由教育局设定，只是排查的起点，不是预测。",
    "%(total)s children with at least one factor, as of %(d)s.": "截至 %(d)s，共 %(total)s 名儿童有至少一个预警因素。",
    "points": "分值",
    "factors": "预警因素",
    "No child has a warning factor.": "没有儿童有预警因素。",
    "previous": "上一页",
    "next": "下一页",
    "term-start checks of the townships": "各乡镇开学初核查",
    "Due by %(d)s.": "上报截止 %(d)s。",
    "schools checked": "已核查学校",
    "missing": "未报到",
    "onto the suspected ledger": "列入疑似辍学",
    "late": "逾期",
    "not filed": "未上报",
    "The township reports the checks by %(d)s.": "乡镇须在 %(d)s 前上报核查结果。",
    "Checked on %(day)s by %(who)s": "%(day)s 由 %(who)s 核查",
    "entered on the suspected ledger that day": "当日列入疑似辍学",
    "suspected ledger": "疑似辍学台账",
    "entrant": "新生",
    "Not checked yet.": "尚未核查。",
    "Children expected today": "今日应到儿童",
    "Everyone is counted as reported. Tick the children who did not report and give the reason: those without a "
    "reason go on the suspected dropout ledger today (the same-day rule).":
        "默认全部已报到。请勾选未报到的儿童并选择原因：无正当理由的，当日列入疑似辍学台账（当日报告规则）。",
    "not reported": "未报到",
    "No child is expected at this school.": "本校没有应到儿童。",
    "Submit the check again (replaces it)": "重新提交核查（替换原结果）",
    "Submit the check": "提交核查结果",
    "Not submitted yet.": "尚未上报。",
    "Submit again (replaces)": "重新上报（替换）",
    "not checked": "未核查",
    "checked": "已核查",
    "* Schools not checked yet: the children the ledger expects, counted as of %(d)s.":
        "* 尚未核查的学校：按台账截至 %(d)s 的应到人数。",
    "Transfer out": "转出",
    "Record a transfer out": "登记转出",
    "The child leaves the roll (status: transferred out). Within the county the transfer is complete when the "
    "receiving school's roll shows the child; outside it when the receipt of the registry transfer is recorded.":
        "儿童转出本校（状态：转出）。县内转学以转入学校名册出现该生为完成；县外转学以登记学籍转接回执为完成。",
    "Record the transfer": "登记转出",
    "Cancel": "取消",
    "transferred pupils followed until they arrive": "流转学生动态监测",
    "As of %(d)s. A transfer within the county is complete when a school roll of the county shows the child; one "
    "out of the county when the receipt of the registry transfer is recorded. Not complete after %(days)s days: "
    "流转未到, followed up like a suspected dropout.":
        "截至 %(d)s。县内转学以本县学校名册出现该生为完成，县外转学以登记学籍转接回执为完成。"
        "转出 %(days)s 天仍未完成的为“流转未到”，按疑似辍学逐级跟进。",
    "Not arrived (流转未到)": "流转未到",
    "out on": "转出日期",
    "days": "天数",
    "follow-up (day 1 / 2 / 3)": "逐级跟进（第1/2/3天）",
    "outside the county": "县外",
    "follow-up": "跟进",
    "no one named": "未指定责任人",
    "receipt": "回执",
    "None.": "无。",
    "In transit": "在途",
    "late from": "逾期起始日",
    "completes when the receiving roll shows the child": "转入学校名册出现该生即完成",
    "Arrived in the last 90 days": "近90天已到达",
    "arrived on": "到达日期",
    "shown by": "依据",
    "(not the school named)": "（非登记的转入学校）",
    "format must be xlsx or csv": "format 只能是 xlsx 或 csv",
    "A child with this status cannot be transferred out.": "该状态的儿童不能登记转出。",
    "Transfer out recorded: %(child)s → %(to)s.": "已登记转出：%(child)s → %(to)s。",
    "Not saved: %(errors)s": "未保存：%(errors)s",
    "Receipt recorded: the transfer of %(child)s is complete.": "已登记回执：%(child)s 的流转已完成。",
    "Only a transfer that has not arrived in time (流转未到) goes on the suspected ledger.":
        "只有“流转未到”的儿童才能列入疑似辍学。",
    "%(child)s is on the suspected dropout ledger.": "%(child)s 已列入疑似辍学台账。",
    "Invalid term “%(term)s”: write it as YYYY-1 (autumn) or YYYY-2 (spring).":
        "学期“%(term)s”无效：请写作 YYYY-1（秋季学期）或 YYYY-2（春季学期）。",
    "A term-start check is made in its term, on the day it is submitted.": "开学初核查只能在本学期内、于提交当日进行。",
    "Invalid form.": "表单无效。",
    "Check submitted: %(expected)s expected, %(reported)s reported, %(new)s entered on the suspected ledger today.":
        "核查已提交：应到 %(expected)s 人，实到 %(reported)s 人，今日列入疑似辍学 %(new)s 人。",
    "%(area)s: term-start check report submitted.": "%(area)s：开学初核查报告已上报。",
    "Invalid date.": "日期无效。",
    "the township's report is submitted": "乡镇已上报",
    "the township's report is not submitted yet": "乡镇尚未上报",
    "Total of the %(n)s checked schools (of %(all)s)": "已核查的 %(n)s 所学校合计（共 %(all)s 所）",
    "on the list": "列入名单",
    "Township report": "乡镇上报",
    "Submit the term-start report": "上报开学初核查",
    "missing without reason": "无故未到",
    "left school": "转出学校",
    "going to": "转往",
    "to do": "操作",
    # strings the safety net added to core files
    "on the ledger and eligible for aid": "台账上的资助对象",
    "eligible and aided this term": "本学期已资助的资助对象",
    "transfers not completed": "流转未完成",
    "transfers overdue": "流转未到",
    "definitions": "口径",
    "Student aid records": "学生资助名册",
    "Eligible without aid, %(term)s": "应助未助（%(term)s）",
    "Transfers not arrived (流转未到)": "流转未到",
    "%(n)s transferred out, not arrived": "%(n)s 名转出未到达",
    "follow up": "跟进",
    "national grant": "国家助学金",
    "boarding pupils' living allowance": "寄宿生生活补助",
    "living allowance for day pupils": "家庭经济困难学生生活补助（非寄宿）",
    "nutrition improvement programme": "营养改善计划",
    "fees and textbooks waived": "免学费/免教科书",
    "temporary relief": "临时救助",
    "social aid": "社会资助",
    "other aid": "其他资助",
    "kind of aid": "资助项目",
    "amount (yuan)": "金额（元）",
    "granted on": "发放日期",
    "source of funds": "资金来源",
    "imported from": "导入自",
    "aid record": "资助记录",
    "aid records": "资助记录",
    "within the county": "县内",
    "on a roll in the county": "本县学校名册",
    "transfer receipt recorded": "学籍转接回执",
    "transferred out on": "转出日期",
    "school left": "转出学校",
    "destination": "转往",
    "destination as written": "转入地",
    "outside the county: province, county and school": "县外：省、县和学校",
    "arrival shown by": "到达依据",
    "roll that shows the child": "名册所在学校",
    "receipt recorded by": "回执登记人",
    "recorded by": "登记人",
    "transfer": "流转记录",
    "transfers": "流转记录",
    "aid coverage this term": "本学期资助覆盖率",
    "open transfers / not arrived (流转未到)": "流转未完成 / 流转未到",
    "aid coverage": "资助覆盖率",
    "open transfers": "流转未完成",
    "not arrived": "流转未到",
    "aid check (应助尽助)": "应助尽助核查",
    "transfers (流转学生)": "流转学生",
    "status change": "状态变更",
    "Record a transfer out (followed until the child arrives)": "登记转出（跟踪至到达）",
    "notes": "备注",
}


def write(po_path: str, extra_sources: list[str]) -> None:
    """Fill the catalog's msgstr from ZH (and add the core strings' entries it lacks)."""
    import re

    with open(po_path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\n+(#: )", r"\n\n\1", text)  # every entry its own block (the header's neighbour too)
    blocks = text.split("\n\n")
    seen = set()
    out = []
    for block in blocks:
        match = re.search(r'^msgid ((?:".*"\n?)+)msgstr ((?:".*"\n?)+)', block, re.M)
        if not match:
            if not block.lstrip().startswith("#~"):  # obsolete entries go
                out.append(block)
            continue
        msgid = "".join(re.findall(r'"(.*)"', match.group(1))).replace('\\"', '"')
        seen.add(msgid)
        if msgid and msgid in ZH:
            block = block[:match.start(2)] + _quote(ZH[msgid]) + block[match.end(2):].lstrip("\n")
            block = block.replace("#, fuzzy\n", "")
        out.append(block.rstrip("\n"))
    for msgid in extra_sources:
        if msgid not in seen:
            out.append(f"msgid {_quote(msgid)}msgstr {_quote(ZH[msgid])}".rstrip("\n"))
    with open(po_path, "w", encoding="utf-8") as f:
        f.write("\n\n".join(out).rstrip("\n") + "\n")


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"\n'


CORE = ["on the ledger and eligible for aid", "eligible and aided this term", "transfers not completed",
        "transfers overdue", "definitions", "Student aid records", "Eligible without aid, %(term)s",
        "Transfers not arrived (流转未到)", "%(n)s transferred out, not arrived", "follow up", "national grant",
        "boarding pupils' living allowance", "living allowance for day pupils", "nutrition improvement programme",
        "fees and textbooks waived", "temporary relief", "social aid", "other aid", "kind of aid", "amount (yuan)",
        "granted on", "source of funds", "imported from", "aid record", "aid records", "within the county",
        "on a roll in the county", "transfer receipt recorded", "transferred out on", "school left", "destination",
        "destination as written", "outside the county: province, county and school", "arrival shown by",
        "roll that shows the child", "receipt recorded by", "transfer", "transfers", "aid coverage this term",
        "open transfers / not arrived (流转未到)", "aid coverage", "open transfers", "not arrived",
        "aid check (应助尽助)", "transfers (流转学生)", "arrived on", "receipt number", "status change",
        "recorded by", "notes", "Safety net",
        "Record a transfer out (followed until the child arrives)"]

if __name__ == "__main__":
    import pathlib

    here = pathlib.Path(__file__).parent
    write(str(here / "zh_Hans" / "LC_MESSAGES" / "django.po"), CORE)
