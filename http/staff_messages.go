package http

// The staff pages' messages (console sections beyond the first ones, the
// admin, lab and sampling pages), added to the one table at start: the
// same tests (both languages, same format verbs, every key a template
// uses known) read them there.

func init() {
	for k, m := range staffMessages {
		if _, dup := messages[k]; dup {
			panic("http: message " + k + " defined twice")
		}
		messages[k] = m
	}
}

var staffMessages = map[string]msg{
	// Each role's console has its own title.
	"console.title.operator":       {"运营工作台", "Operator console"},
	"console.title.approver":       {"审批工作台", "Approver console"},
	"console.title.auditor":        {"审计工作台", "Auditor console"},
	"console.title.epidemiologist": {"流调工作台", "Epidemiologist console"},
	"console.title.clinic":         {"医疗机构工作台", "Clinic console"},

	"console.lookup.who": {"个人化名或身份证号", "Person (pseudonym or ID number)"},

	"console.col.venue":      {"场所", "Venue"},
	"console.col.address":    {"地址与地区", "Address and area"},
	"console.col.registered": {"登记时间", "Registered"},
	"console.col.when":       {"时间", "When"},
	"console.col.presence":   {"到场证明", "Presence"},
	"console.col.purpose":    {"目的与病例", "Purpose and case"},
	"console.col.record":     {"记录", "Record"},
	"console.col.what":       {"查看内容（英文）", "What was read"},

	// Refusals.
	"console.status.refused":            {"已拒绝", "Refused"},
	"console.refuse":                    {"拒绝第 %d 号", "Refuse no. %d"},
	"console.refuse.override":           {"拒绝第 %d 号人工调整", "Refuse override no. %d"},
	"console.refuse.designation":        {"拒绝第 %d 号风险认定", "Refuse designation no. %d"},
	"console.refuse.reason":             {"拒绝理由（申请人和本人会看到）", "Reason for refusing (the requester and the person read it)"},
	"console.refuse.reason.help":        {"拒绝会记入日志，写明您的姓名和理由；被拒绝的申请不会改变任何人的颜色。", "The refusal is logged with your name and reason; a refused request changes no one's colour."},
	"console.done.override.refused":     {"已拒绝第 %d 号人工调整，并已记入日志。", "Override no. %d was refused and logged."},
	"console.done.designation.refused":  {"已拒绝第 %d 号风险认定，并已记入日志。", "Designation no. %d was refused and logged."},
	"console.error.override.refusal":    {"请写明拒绝理由（最长 500 字节，一行）。", "Write a reason for the refusal (one line, at most 500 bytes)."},
	"console.error.designation.refusal": {"请写明拒绝理由（最长 500 字节，一行）。", "Write a reason for the refusal (one line, at most 500 bytes)."},

	// Venues.
	"console.venues.title":         {"场所审核", "Venues"},
	"console.venues.intro":         {"场所登记后要经运营人员审核才能展示场所码。暂停的场所不能再用于登记。每次审核或暂停都会记入日志。", "A registered venue shows no code until an operator approves it; a suspended one can no longer be checked in to. Each approval or suspension is logged."},
	"console.venues.list":          {"场所（待审核的在前）", "Venues (those awaiting approval first)"},
	"console.venues.none":          {"还没有登记的场所。", "No venue is registered yet."},
	"console.venue.approve":        {"批准“%s”", "Approve %s"},
	"console.venue.suspend":        {"暂停“%s”", "Suspend %s"},
	"venue.status.pending":         {"待审核", "Awaiting approval"},
	"venue.status.active":          {"已启用", "Active"},
	"venue.status.suspended":       {"已暂停", "Suspended"},
	"console.done.venue.active":    {"场所已启用，并已记入日志。", "The venue is active; this is logged."},
	"console.done.venue.suspended": {"场所已暂停，并已记入日志。", "The venue is suspended; this is logged."},
	"console.error.venue.status":   {"请选择启用或暂停。", "Choose approve or suspend."},

	// Tracing.
	"console.trace.title":                 {"流调查询", "Tracing"},
	"console.trace.intro":                 {"查询某一时段到过某场所的人，或与某病例同场所的人。结果只显示化名；每次查询都会记下您的姓名、目的和病例，本人可以看到。", "Ask who was at a venue in a window of time, or who shared a venue with a case. The answer names pseudonyms only; each query is recorded with your name, the purpose and the case, and the people see it."},
	"console.trace.ask":                   {"新查询", "New query"},
	"console.trace.by":                    {"查询方式", "Ask by"},
	"console.trace.by.venue":              {"场所和时段", "Venue and window"},
	"console.trace.by.case":               {"病例（其传染期内同场所的人）", "Case (who shared a venue with it in its infectious window)"},
	"console.trace.venue.help":            {"按场所查询时填写场所编号和时段（北京时间，最长 14 天）。", "For a venue: its id and the window (Beijing time, at most 14 days)."},
	"console.trace.case.help":             {"查询必须关联一个病例，编号形如 C-7K2Q…。", "Every query cites a case, with an id like C-7K2Q…."},
	"console.trace.submit":                {"查询（将被记录）", "Ask (this is recorded)"},
	"console.trace.query.venue":           {"场所 %s，%s 至 %s", "Venue %s, %s to %s"},
	"console.trace.query.case":            {"病例 %s 的同场所人员", "People who shared a venue with case %s"},
	"console.trace.counts":                {"共 %d 条登记，%d 人。", "%d check-ins by %d people in all."},
	"console.trace.rows":                  {"本页登记", "Check-ins on this page"},
	"console.trace.verified":              {"已核验（现场动态码）", "Verified (live code)"},
	"console.trace.unverified":            {"未核验（打印码或过期码）", "Unverified (printed or stale code)"},
	"console.trace.next":                  {"下一页（将被记录）", "Next page (this is recorded)"},
	"console.error.console.trace_by":      {"请选择按场所还是按病例查询。", "Choose a venue and window, or a case."},
	"console.error.trace.window":          {"时段不对：开始要早于结束，最长 14 天。", "That window is not right: it must start before it ends and last at most 14 days."},
	"console.error.trace.case_not_linked": {"没有这个病例，或它与查询无关。", "There is no such case, or it has nothing to do with the query."},
	"console.error.trace.cursor":          {"翻页信息不对，请重新查询。", "The page marker is not right: ask again."},

	// Unmasking.
	"console.unmask.title":                 {"查看真实身份", "Unmasking"},
	"console.unmask.intro":                 {"流调人员只能为本人关联的病例申请查看某个化名对应的姓名、身份证号和电话；须经其他单位的审批人员批准，批准后 24 小时内可查看。申请、批准和每次查看都会记入日志，本人可以看到。", "An epidemiologist may ask to see the name, ID number and phone behind a pseudonym only for a case the person is linked to; an approver of another unit must approve, and the answer may then be read for 24 hours. The request, the approval and each reading are logged, and the person sees them."},
	"console.unmask.request":               {"申请查看身份", "Ask to unmask"},
	"console.unmask.case.help":             {"此人必须与该病例有关联（病例本人、引用该病例的记录，或核验过的同场所）。", "The person must be linked to the case (the case, a record citing it, or a verified shared presence)."},
	"console.unmask.submit":                {"提交申请（本人会看到）", "Ask (the person sees it)"},
	"console.unmask.pending":               {"待您审批的身份查看申请", "Unmask requests awaiting your answer"},
	"console.unmask.pending.none":          {"没有待审批的身份查看申请。", "No unmask request awaits an answer."},
	"console.unmask.mine":                  {"您的身份查看申请", "Your unmask requests"},
	"console.unmask.mine.none":             {"您还没有申请过查看身份。", "You have made no unmask request."},
	"console.unmask.until":                 {"可查看至 %s", "readable until %s"},
	"console.unmask.open":                  {"查看第 %d 号（将被记录）", "Read no. %d (this is recorded)"},
	"console.unmask.status.pending":        {"待批准", "Pending"},
	"console.unmask.status.approved":       {"已批准", "Approved"},
	"console.unmask.status.refused":        {"已拒绝", "Refused"},
	"console.answered_by":                  {"答复：%s", "Answered by %s"},
	"console.unmasked.title":               {"%s 的身份", "Who %s is"},
	"console.unmasked.name":                {"姓名", "Name"},
	"console.unmasked.id_number":           {"身份证号", "ID number"},
	"console.unmasked.phone":               {"电话", "Phone"},
	"console.unmasked.no_phone":            {"未登记", "none recorded"},
	"console.unmasked.help":                {"这些信息只在本页显示一次，不会保存在浏览器中；请只用于本病例的流调。", "This is shown on this page once and kept nowhere in the browser: use it for this case's tracing only."},
	"console.done.unmask.pending":          {"第 %d 号身份查看申请已提交，等待其他单位的审批人员批准。", "Unmask request no. %d was made; it awaits an approver of another unit."},
	"console.done.unmask.approved":         {"已批准第 %d 号身份查看申请，并已记入日志。", "Unmask request no. %d was approved and logged."},
	"console.done.unmask.refused":          {"已拒绝第 %d 号身份查看申请，并已记入日志。", "Unmask request no. %d was refused and logged."},
	"console.error.unmask.case_not_linked": {"此人与该病例没有关联：不能为无关的病例查看身份。", "The person is not linked to that case: no one is unmasked for an unrelated case."},
	"console.error.unmask.same_unit":       {"身份查看申请必须由其他单位的审批人员批准。", "An unmask request must be approved by an official of another unit."},
	"console.error.unmask.self_approval":   {"不能批准自己的申请。", "You cannot answer your own request."},
	"console.error.unmask.not_pending":     {"这项申请已答复过了。", "This request is already answered."},
	"console.error.unmask.pending":         {"这项申请还在等待批准。", "This request still awaits approval."},
	"console.error.unmask.refused":         {"这项申请被拒绝了。", "This request was refused."},
	"console.error.unmask.expired":         {"批准已超过 24 小时，请重新申请。", "The approval is more than 24 hours old: ask again."},
	"console.error.unmask.unknown":         {"没有您的这项申请。", "You have no such request."},
	"console.error.person.id_number":       {"身份证号格式不对：18 位，前 17 位是数字，最后一位是数字或 X。", "That is not an ID number: 17 digits and a digit or X."},

	// Records held for a second official.
	"console.records.title":                {"待第二人确认的记录", "Records awaiting a second official"},
	"console.records.intro.epidemiologist": {"根据问询得到的密接、行程等记录，须由其他单位的流调人员确认后才生效；确认前不改变任何人的颜色。", "Contact, travel and quarantine records resting on an interview take effect only once an epidemiologist of another unit confirms them; until then they change no one's colour."},
	"console.records.intro.clinic":         {"没有其他单位阳性检测结果支持的诊断，须由其他单位的医生确认后才生效并建立病例。", "A diagnosis resting on no positive test by another unit takes effect, and opens its case, only once a clinician of another unit confirms it."},
	"console.records.intro.auditor":        {"超过批量限制的记录，在确认后还须审计人员会签才生效。", "A record that crossed a bulk limit takes effect only once an auditor co-signs it after its confirmation."},
	"console.records.list":                 {"待处理的记录", "Records awaiting you"},
	"console.records.none":                 {"没有待处理的记录。", "No record awaits you."},
	"console.record.confirm":               {"确认第 %d 号", "Confirm no. %d"},
	"console.confirmed_by":                 {"确认：%s", "confirmed by %s"},
	"console.record.status.pending":        {"待确认", "Pending"},
	"console.record.status.in_force":       {"已生效", "In force"},
	"console.record.status.refused":        {"已拒绝", "Refused"},
	"console.record.link.shared_venue":     {"核验过的同场所", "verified shared presence"},
	"console.record.link.record":           {"引用已有记录", "an existing record"},
	"console.record.link.interview":        {"问询", "interview"},
	"console.done.record.in_force":         {"第 %d 号记录已生效，并已记入日志。", "Record no. %d is in force and logged."},
	"console.done.record.pending":          {"已确认第 %d 号记录；它还须审计人员会签才生效。", "Record no. %d is confirmed; it takes effect once an auditor co-signs it."},
	"console.done.record.refused":          {"已拒绝第 %d 号记录，并已记入日志。", "Record no. %d was refused and logged."},
	"console.error.record.self_approval":   {"不能确认自己提交或已签署的记录。", "You cannot sign a record you submitted or signed already."},
	"console.error.record.same_unit":       {"记录必须由其他单位的人员确认。", "A record must be confirmed by an official of another unit."},
	"console.error.record.not_pending":     {"这条记录已处理过了。", "This record is already decided."},
	"console.error.record.confirmed":       {"这条记录已确认过了。", "This record is already confirmed."},
	"console.error.record.not_confirmed":   {"这条记录还没有被确认，不能会签。", "This record is not confirmed yet: it cannot be co-signed."},
	"console.error.record.no_cosign":       {"这条记录不需要会签。", "This record needs no co-signature."},
	"console.error.record.cosigned":        {"这条记录已会签过了。", "This record is already co-signed."},

	// The auditor's list of reads.
	"console.reads.title": {"个人数据查看记录", "Reads of personal data"},
	"console.reads.intro": {"工作人员每次查看个人数据都会记下姓名、单位、目的和病例，本人也能看到。监督看板和日志浏览见监督页面。", "Every read of personal data by an official is recorded with their name, unit, purpose and case; the person sees it too. The oversight dashboard and the log browser are on the oversight page."},
	"console.reads.list":  {"最近的查看记录（新的在前）", "Latest reads (newest first)"},
	"console.reads.none":  {"还没有查看记录。", "No read is recorded yet."},
	"console.reads.more":  {"另有 %d 条较早的记录未列出。", "%d older reads are not listed."},
}
